#!/usr/bin/env node
// Builds `nfct` as one standalone executable with Bun (`bun build --compile --bytecode`): no
// runtime to install, and the fastest start. Offline: Bun compiles with its own binary. The
// result, dist/nfct (~110 MB), is built here, never committed.
//
// `deno compile` would do the same for Deno, but it downloads a `denort` runtime binary the
// first time (from dl.deno.land), which this project's machines cannot reach; hence Bun.
//
// The worker threads are entry points too, named flat (`[name].[ext]`), so the URL each file
// computes beside itself (`new URL("./_readahead_worker.ts", import.meta.url)`) finds its
// worker inside the executable's file system.
//   node scripts/build_standalone.mjs [--measure [runs]] [--out path]
// --measure: times `nfct -C` (median of runs, default 30) in a throwaway network namespace,
// for the executable, `bun cli.ts` and `deno run -A cli.ts`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const argv = process.argv.slice(2);
const outAt = argv.indexOf("--out");
const out = outAt >= 0 ? argv[outAt + 1] : join(root, "dist", "nfct");
const WORKERS = [
  "netlink/_readahead_worker.ts",
  "netlink/_sender_worker.ts",
  "ffi/_bun_poll_worker.ts",
];

if (!existsSync(bin("bun"))) {
  console.error("build_standalone: bun is not installed in node_modules: run `npm install` first");
  process.exit(1);
}
mkdirSync(dirname(out), { recursive: true });
const r = spawnSync(bin("bun"), [
  "build",
  "--compile",
  "--bytecode",
  "--format=esm",
  "--entry-naming",
  "[name].[ext]",
  "cli.ts",
  ...WORKERS,
  "--outfile",
  out,
], { cwd: root, stdio: "inherit" });
if (r.status !== 0) process.exit(r.status ?? 1);
console.log(`build_standalone: ${out}`);

const measureAt = argv.indexOf("--measure");
if (measureAt >= 0) {
  const runs = Number(argv[measureAt + 1]) > 0 ? Number(argv[measureAt + 1]) : 30;
  const isRoot = process.getuid?.() === 0;
  const commands = {
    "standalone (bun --compile --bytecode)": [out, "-C"],
    "bun cli.ts": [bin("bun"), join(root, "cli.ts"), "-C"],
    "deno run -A cli.ts": [bin("deno"), "run", "-A", join(root, "cli.ts"), "-C"],
  };
  // One namespace for all runs, so only the command's own start is timed. Wall time suffers
  // from whatever else the machine runs; the CPU time (user + sys, from `times`) much less.
  const script = Object.values(commands).map((cmd) =>
    `for i in $(seq ${runs}); do s=$(date +%s%N); ${
      cmd.map((a) => `'${a}'`).join(" ")
    } >/dev/null || exit 1; ` +
    `echo $(( ($(date +%s%N) - s) / 1000 )); done; times; echo ---`
  ).join("\n");
  const m = spawnSync("unshare", [isRoot ? "-n" : "-rn", "--", "bash", "-c", script], {
    encoding: "utf8",
  });
  if (m.status !== 0) {
    console.error(`build_standalone: measuring failed: ${m.stderr}`);
    process.exit(1);
  }
  let cpuBefore = 0;
  const groups = m.stdout.trim().split("---").map((g) => g.trim().split("\n")).filter((g) =>
    g.length > 1
  );
  Object.keys(commands).forEach((name, i) => {
    const lines = groups[i];
    // `times` prints the shell's own times, then its children's (cumulative): "0m1.234s 0m0.567s".
    const [user, sys] = lines.at(-1).split(/\s+/).map((t) => {
      const [, mins, secs] = t.match(/(\d+)m([\d.]+)s/);
      return +mins * 60 + +secs;
    });
    const cpu = (user + sys - cpuBefore) / runs * 1000;
    cpuBefore = user + sys;
    const us = lines.slice(0, -2).map(Number).sort((a, b) => a - b);
    const med = us[us.length >> 1] / 1000;
    console.log(
      `nfct -C, ${name}: wall median ${med.toFixed(1)} ms (min ${(us[0] / 1000).toFixed(1)} ms), ` +
        `CPU ${cpu.toFixed(1)} ms per run (${us.length} runs)`,
    );
  });
}
