/**
 * nfct against conntrack(8) 1.4.7, differentially: for a fixed set of seeds, random legal
 * command lines of every command (-L -G -D -U -I -A -R -F -C -S, the expect table, -E) and every
 * `-o` format run with both programs on the same varied table (test/_helpers/differential.ts);
 * exit code, sorted stdout (volatile numbers blanked), the stderr summary lines and, for commands
 * that change the table, the table left behind must agree, except for the documented deliberate
 * differences in `ALLOWED`. More seeds, with shrinking: `node scripts/differential.mjs --seeds 1-200`.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertThrowawayNetns } from "../_helpers/netns.ts";
import {
  argv,
  casesForSeed,
  type Divergence,
  eventCase,
  Rng,
  runCase,
  runEventCase,
  Sandbox,
  show,
  unexplained,
} from "../_helpers/differential.ts";

assertThrowawayNetns();

/** Seeds and command lines per seed run here (chosen so that every command and format occurs). */
const SEEDS = [1, 2, 3];
const LINES = 40;
const EVENT_SEEDS = [1, 3];
const T = { timeout: 240000 };

const report = (c: string, ds: Divergence[]) =>
  ds.map((d) =>
    `${c}\n  ${d.aspect}: conntrack: ${d.conntrack}\n  ${
      " ".repeat(d.aspect.length)
    }  nfct:      ${d.nfct}`
  ).join("\n");

test("the fixed seeds cover every command, the expect table and every -o format", () => {
  const words = SEEDS.flatMap((s) => casesForSeed(s, LINES)).map((c) => argv(c));
  for (const cmd of ["-L", "-G", "-D", "-U", "-I", "-A", "-R", "-F", "-C", "-S"]) {
    assert.ok(words.some((w) => w[0] === cmd), `no ${cmd}`);
  }
  assert.ok(words.some((w) => w[1] === "expect"), "no expect table");
  const formats = new Set(
    words.flatMap((w) => (w.includes("-o") ? w[w.indexOf("-o") + 1].split(",") : ["default"])),
  );
  for (
    const f of ["default", "extended", "id", "timestamp", "ktimestamp", "labels", "save", "xml"]
  ) {
    assert.ok(formats.has(f), `no -o ${f}`);
  }
});

for (const seed of SEEDS) {
  test(`seed ${seed}: ${LINES} random command lines, nfct agrees with conntrack`, T, async () => {
    const sb = await Sandbox.start();
    const found: string[] = [];
    try {
      for (const c of casesForSeed(seed, LINES)) {
        const ds = unexplained(c, runCase(sb, c));
        if (ds.length) found.push(report(show(c), ds));
      }
    } finally {
      sb.close();
    }
    assert.equal(
      found.length,
      0,
      `${found.length} divergences (shrink: node scripts/differential.mjs --seeds ${seed}):\n${
        found.join("\n")
      }`,
    );
  });
}

test(
  `-E: conntrack -E and nfct -E listening together print the same events (${EVENT_SEEDS.length} option sets)`,
  T,
  async () => {
    const sb = await Sandbox.start();
    const found: string[] = [];
    try {
      for (const seed of EVENT_SEEDS) {
        const c = eventCase(new Rng(seed));
        const ds = unexplained(c, await runEventCase(sb, c));
        if (ds.length) found.push(report(show(c), ds));
      }
    } finally {
      sb.close();
    }
    assert.equal(found.length, 0, found.join("\n"));
  },
);
