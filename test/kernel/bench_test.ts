/**
 * The whole-table benchmark's harness, end to end on a tiny table: bench/run.mjs fills 2000
 * entries in a namespace of its own (inside this test's), runs every contender twice,
 * interleaved, checks the table after each run, and writes its JSON, table and chart to a
 * scratch folder, never to the tracked results or the README. Figures this small prove nothing
 * about speed; the test checks that the harness measures what it says.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ROOT } from "../_helpers/run.ts";

const T = { timeout: 600_000 }; // 87 s on Deno, over 120 s on Bun, under load
const N = 2000;

type Stats = { times: number[]; reports: Record<string, unknown>[]; cmds: string[] };
type Size = {
  entries: number;
  parts: Record<string, number>;
  jobs: Record<string, Record<string, Stats>>;
};

const tracked = () =>
  ["README.md", "bench/results/table.md", "bench/results/table.svg", "bench/results/bench.json"]
    .map((f) => {
      try {
        return readFileSync(join(ROOT, f), "utf8");
      } catch {
        return undefined;
      }
    });
const hasCc = spawnSync("sh", ["-c", "command -v cc"]).status === 0;

test(
  "bench/run.mjs on 2000 entries: every contender runs twice in a fresh process, the table is checked and refilled, results go to --out only",
  T,
  () => {
    const out = mkdtempSync(join(tmpdir(), "nfct-bench-"));
    const before = tracked();
    try {
      const r = spawnSync("node", [
        "bench/run.mjs",
        "--quick",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--startup",
        "500",
        "--out",
        out,
        String(N),
      ], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, NFCT_HOST_NETNS: readlinkSelf() },
      });
      assert.equal(r.status, 0, `bench/run.mjs failed:\n${r.stdout}\n${r.stderr}`);
      const data = JSON.parse(readFileSync(join(out, "bench.json"), "utf8"));

      assert.equal(data.machine.kernel, readFileSync("/proc/sys/kernel/osrelease", "utf8").trim());
      assert.ok(data.machine.cores >= 1 && data.machine.cpu.length > 0);
      assert.match(data.tools.conntrack, /conntrack/);
      assert.equal(data.sizes.length, 1);
      const size: Size = data.sizes[0];
      assert.equal(size.entries, N);
      assert.equal(size.parts.all, N);
      // the table's make-up, as the file comment of bench/op.ts gives it
      assert.ok(size.parts.udp > 0.5 * N && size.parts.udp < 0.6 * N, `UDP ${size.parts.udp}`);
      assert.ok(size.parts.cidr > 0.4 * N && size.parts.cidr < 0.5 * N, `CIDR ${size.parts.cidr}`);
      assert.equal(size.parts.netavark, 0.03 * N);

      const ids = (job: string) => Object.keys(size.jobs[job]).sort();
      const c = (id: string) => (hasCc ? [id] : []);
      const both = (id: string) => [`${id}.bun`, `${id}.deno`];
      assert.deepEqual(
        ids("dump"),
        [
          ...c("c.dump"),
          ...both("cli.L"),
          "conntrack.L",
          ...both("lib.dump"),
          ...both("lib.dumpReadAhead"),
        ].sort(),
      );
      assert.deepEqual(
        ids("flush udp"),
        [
          ...c("c.flushUdp"),
          ...both("cli.Dudp"),
          ...both("cli.Fudp"),
          "conntrack.Dudp",
          ...both("lib.flushUdp"),
        ].sort(),
      );
      assert.deepEqual(
        ids("delete CIDR"),
        [...c("c.deleteCidr"), ...both("cli.Dcidr"), "conntrack.Dcidr", ...both("lib.deleteCidr")]
          .sort(),
      );
      assert.deepEqual(
        ids("netavark"),
        [
          ...c("c.netavark"),
          ...both("cli.Dthree"),
          "conntrack.Dthree",
          ...both("lib.netavarkAny"),
          ...both("lib.netavarkThree"),
        ].sort(),
      );
      assert.equal(
        data.tools.c,
        hasCc ? "built with cc -O2" : "skipped: no cc on PATH (apt-get install gcc)",
      );

      for (const [job, contenders] of Object.entries(size.jobs)) {
        for (const [id, s] of Object.entries(contenders)) {
          assert.equal(s.times.length, 2, `${job} ${id}: two timed runs`);
          for (const t of s.times) assert.ok(t > 0 && t < 30, `${job} ${id}: ${t} s`);
          if (id.startsWith("lib.")) {
            assert.equal(
              s.reports.length,
              2,
              `${job} ${id}: each run reported`,
            );
          }
        }
      }
      // what the library scripts said they did, run by run
      for (const rt of ["deno", "bun"]) {
        for (const rep of size.jobs.dump[`lib.dump.${rt}`].reports) {
          assert.equal(rep.entries, N);
          assert.ok((rep.peakRss as number) > 1 << 20);
        }
        for (const rep of size.jobs["flush udp"][`lib.flushUdp.${rt}`].reports) {
          assert.equal(
            rep.via,
            "kernel",
          );
        }
        for (const rep of size.jobs["delete CIDR"][`lib.deleteCidr.${rt}`].reports) {
          assert.equal(
            rep.deleted,
            size.parts.cidr,
          );
        }
        for (const rep of size.jobs.netavark[`lib.netavarkAny.${rt}`].reports) {
          assert.equal(
            rep.deleted,
            size.parts.netavark,
          );
        }
      }
      assert.equal(data.startup.entries, 500);
      assert.ok(
        data.startup.jobs["start-up"]["lib.noop.deno"].times.length >= 10,
        "start-up: at least 10 runs each",
      );

      // the human outputs, in --out, rendered again identically from the JSON alone
      const md = readFileSync(join(out, "table.md"), "utf8");
      assert.match(md, new RegExp(`Linux ${data.machine.kernel.replace(/[.+]/g, "\\$&")}`));
      assert.match(
        md,
        /\| `dump\(\) into typed flows` \| 2,000 \| [\d.]+ <sub>[\d.]+–[\d.]+<\/sub> \|/,
      );
      assert.match(md, /\*\*start-up, 500 entries\*\*/);
      assert.match(md, /--quick: a smoke check, not figures to quote/);
      const svg = readFileSync(join(out, "table.svg"), "utf8");
      assert.match(svg, /^<svg [^>]*width="900" height="\d+"/);
      assert.match(svg, />2k entries</);
      assert.match(svg, />start-up, 500 entries</);
      rmSync(join(out, "table.md"));
      const again = spawnSync("node", ["bench/report.mjs", join(out, "bench.json")], {
        cwd: ROOT,
        encoding: "utf8",
      });
      assert.equal(again.status, 0, again.stderr);
      assert.equal(readFileSync(join(out, "table.md"), "utf8"), md);

      assert.deepEqual(
        tracked(),
        before,
        "the tracked results and the README are untouched without --record",
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

function readlinkSelf(): string {
  const r = spawnSync("readlink", ["/proc/self/ns/net"], { encoding: "utf8" });
  return r.stdout.trim();
}
