/**
 * nfct vs conntrack(8) on any number of seeds: for each seed, random legal command lines run by
 * both programs on the same freshly built table (test/_helpers/differential.ts); each
 * divergence is shrunk to a minimal command line and printed. Runs itself in a throwaway
 * network namespace (and, through the harness, a private mount namespace for label names).
 *
 *   node scripts/netns.mjs deno run -A scripts/differential.ts --seeds 1-200 [--runtime deno|bun] [--lines 60] [--events]
 *   node scripts/differential.mjs --seeds 1-200 --runtime bun
 *
 * Exits 1 when a divergence that the allow-list does not explain was found.
 * @module
 */
import process from "node:process";
import { readlinkSync } from "node:fs";
import {
  argv,
  casesForSeed,
  type Divergence,
  eventCase,
  nfctCommand,
  Rng,
  runCase,
  runEventCase,
  Sandbox,
  show,
  shrink,
  unexplained,
} from "../test/_helpers/differential.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : args[i + 1];
};
const [from, to] = opt("--seeds", "1-10").split("-").map(Number);
const runtime = opt("--runtime", "deno") as "deno" | "bun";
const lines = Number(opt("--lines", "60"));
const events = args.includes("--events");
const verbose = args.includes("--verbose");

if (
  !process.env.NFCT_HOST_NETNS || readlinkSync("/proc/self/ns/net") === process.env.NFCT_HOST_NETNS
) {
  console.error(
    "Run me in a throwaway network namespace: node scripts/differential.mjs … (or scripts/netns.mjs)",
  );
  process.exit(2);
}

const sb = await Sandbox.start(nfctCommand(runtime));
// --line '<args>': run one command line on both (each on a fresh table) and print what each did.
const one = opt("--line", "");
if (one) {
  try {
    for (
      const [name, run] of [["conntrack", sb.conntrack.bind(sb)], [
        "nfct",
        sb.runNfct.bind(sb),
      ]] as const
    ) {
      sb.build();
      const r = run(one.split(" ").filter((w) => w));
      console.log(
        `== ${name}: exit ${r.code}\n${r.stdout}${r.stderr}-- table after:\n${
          sb.snapshot().join("\n")
        }`,
      );
    }
  } finally {
    sb.close();
  }
  process.exit(0);
}
const seen = new Map<string, string>(); // aspect + shrunk line -> report
let cases = 0, bad = 0;
const t0 = Date.now();
try {
  for (let seed = from; seed <= (to ?? from); seed++) {
    for (const c of casesForSeed(seed, lines)) {
      cases++;
      const all = runCase(sb, c);
      if (verbose) console.error(`${all.length ? "DIVERGES" : "same    "} ${show(c)}`);
      const ds = unexplained(c, all);
      if (ds.length === 0) continue;
      bad++;
      for (const d of ds) {
        const min = shrink(sb, c, d.aspect);
        const key = `${d.aspect} ${show(min)}`;
        if (seen.has(key)) continue;
        const md = runCase(sb, min).find((x) => x.aspect === d.aspect) ?? d;
        const report = `seed ${seed} ${d.aspect}: ${
          show(min)
        }\n    conntrack: ${md.conntrack}\n    nfct:      ${md.nfct}\n    (from: ${
          argv(c).join(" ")
        })`;
        seen.set(key, report);
        console.log(report);
      }
    }
    if (events) {
      const c = eventCase(new Rng(seed));
      const ds: Divergence[] = unexplained(c, await runEventCase(sb, c));
      cases++;
      for (const d of ds) {
        bad++;
        console.log(
          `seed ${seed} event ${d.aspect}: ${
            show(c)
          }\n    conntrack: ${d.conntrack}\n    nfct:      ${d.nfct}`,
        );
      }
    }
    console.error(
      `seed ${seed} done (${cases} command lines, ${bad} diverged, ${
        ((Date.now() - t0) / 1000).toFixed(0)
      } s)`,
    );
  }
} finally {
  sb.close();
}
console.log(
  `${cases} command lines on ${runtime}, ${bad} diverged, ${seen.size} distinct minimal divergences`,
);
process.exit(bad > 0 ? 1 : 0);
