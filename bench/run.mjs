#!/usr/bin/env node
// The whole-table benchmark: nfct (library and command line, on Deno and on Bun), conntrack(8)
// and the C limits (bench/c/, built here with cc) do the same jobs on the same table, in a
// throwaway network namespace. Every timed run is a fresh process, timed whole from outside
// (wall clock, spawn to exit); the contenders of a job run interleaved (deno, bun, conntrack, C,
// deno, bun, …), each on the same freshly refilled table (the refill is not timed), after one
// untimed warm-up run each. Rows give the median and min–max of the runs; ratios are taken pair
// by pair (run r of one against run r of the other, in the same round), then their median.
// (hyperfine, with --prepare to refill, measures the same way but runs each command's runs
// back to back; interleaving spreads the machine's drift over all contenders alike.)
//
//   node bench/run.mjs [options] [N ...]      table sizes, default 100000
//     --runs R       timed runs per contender (default 5; --quick: 3)
//     --warmup W     untimed runs per contender first (default 1)
//     --startup S    also time start-up (`nfct -L`, empty script) on an S-entry table (default
//                    10000; 0: not)
//     --quick        3 runs, sizes 10000 100000 unless given: a smoke check, not figures
//     --jobs LIST    only these jobs (dump,flush,cidr,netavark,startup): a focused look, not
//                    figures to record
//     --only REGEX   only the contenders whose id matches (e.g. 'flushUdp|Fudp'), for a look
//     --out DIR      where results go (default bench/out/, untracked)
//     --record       also write bench/results/bench.json and regenerate bench/results/table.md,
//                    table.svg and the README's figures (node bench/report.mjs does that part)
//
// The command lines (`nfct -L`, …) run the command as users install it: the npm package
// (`npm pack`, unpacked under the output folder), whose wrapper runs the per-runtime bundle.
//
// Tables over 262144 entries need net.netfilter.nf_conntrack_max raised in the init namespace:
// done for the run (root only) and restored after. Needs conntrack(8); cc is optional (without
// it the C limits are skipped, with a note in the results).
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import os from "node:os";
import { pathWithSbin } from "../scripts/_tools.mjs";
import { writeReports } from "./report.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const MAX = "/proc/sys/net/netfilter/nf_conntrack_max";

function usage(msg) {
  console.error(
    `${msg}\nusage: node bench/run.mjs [--quick] [--runs R] [--warmup W] [--startup S] [--out DIR] [--record] [N ...]`,
  );
  process.exit(2);
}

function int(v, min, max, what) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    usage(`${what} must be an integer from ${min} to ${max} (got ${v})`);
  }
  return n;
}

// --- In the caller's namespace: options, tools, the C build, nf_conntrack_max, the outputs ---

function outside(argv) {
  const o = {
    sizes: [],
    runs: undefined,
    warmup: 1,
    startup: 10000,
    quick: false,
    out: join(root, "bench", "out"),
    record: false,
    jobs: undefined,
    only: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") o.quick = true;
    else if (a === "--record") o.record = true;
    else if (a === "--runs") o.runs = int(argv[++i], 1, 1000, "--runs");
    else if (a === "--warmup") o.warmup = int(argv[++i], 0, 100, "--warmup");
    else if (a === "--startup") o.startup = int(argv[++i], 0, 5_000_000, "--startup");
    else if (a === "--jobs") o.jobs = jobList(argv[++i]);
    else if (a === "--only") o.only = argv[++i] ?? usage("--only needs a regular expression");
    else if (a === "--out") o.out = resolve(argv[++i] ?? usage("--out needs a folder"));
    else if (/^\d+$/.test(a)) o.sizes.push(int(a, 100, 5_000_000, "N"));
    else usage(`unknown argument ${a}`);
  }
  if (o.sizes.length === 0) o.sizes = o.quick ? [10000, 100000] : [100000];
  o.runs ??= o.quick ? 3 : 5;
  if (o.record && o.quick) usage("--record with --quick: recorded figures need full runs");
  if (o.record && (o.jobs || o.only)) {
    usage("--record with --jobs or --only: recorded figures need every job and contender");
  }

  const env = { ...process.env, PATH: pathWithSbin() };
  if (spawnSync("sh", ["-c", "command -v conntrack"], { env }).status !== 0) {
    console.error("the benchmark compares with conntrack(8): apt-get install conntrack");
    process.exit(1);
  }
  for (const rt of ["deno", "bun"]) {
    if (!existsSync(bin(rt))) {
      console.error(`${rt} is not installed in node_modules: run \`npm install\` first`);
      process.exit(1);
    }
  }
  mkdirSync(o.out, { recursive: true });
  const c = buildC(join(o.out, "bin"), env);
  if (c.note) console.log(`C limits: ${c.note}`);
  const pkg = installPackage(join(o.out, "pkg"), env);
  const standalone = o.startup > 0 && (!o.jobs || o.jobs.includes("startup"))
    ? buildStandalone(join(o.out, "nfct-standalone"), env)
    : undefined;

  const isRoot = process.getuid?.() === 0;
  const origMax = Number(readFileSync(MAX, "utf8"));
  const need = Math.max(...o.sizes, o.startup) + 1000;
  let restore = false;
  if (need > origMax) {
    if (!isRoot) {
      console.error(
        `N=${
          need - 1000
        } needs nf_conntrack_max >= ${need} (now ${origMax}); raising it needs root`,
      );
      process.exit(1);
    }
    writeFileSync(MAX, String(need));
    restore = true;
    console.log(`raised nf_conntrack_max ${origMax} -> ${need} for this run`);
  }
  const restoreMax = () => {
    if (restore) {
      writeFileSync(MAX, String(origMax));
      console.log(`restored nf_conntrack_max to ${origMax}`);
      restore = false;
    }
  };
  process.on("SIGINT", () => {
    restoreMax();
    process.exit(130);
  });

  const resultFile = join(o.out, `.inside-${process.pid}.json`);
  const config = {
    sizes: o.sizes,
    runs: o.runs,
    warmup: o.warmup,
    startup: o.startup,
    c: c.bin,
    nfct: pkg,
    standalone,
    jobs: o.jobs,
    only: o.only,
    resultFile,
  };
  let r;
  try {
    r = spawnSync("unshare", [
      isRoot ? "-n" : "-rn",
      "--",
      process.execPath,
      join(root, "bench", "inside.mjs"),
      JSON.stringify(config),
    ], {
      cwd: root,
      stdio: "inherit",
      env: { ...env, NFCT_HOST_NETNS: readlinkSync("/proc/self/ns/net") },
    });
  } finally {
    restoreMax();
  }
  if (r.status !== 0 || !existsSync(resultFile)) {
    console.error(`the benchmark failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  const measured = JSON.parse(readFileSync(resultFile, "utf8"));
  const data = {
    format: 1,
    date: new Date().toISOString(),
    machine: machine(),
    tools: tools(env, c),
    options: { runs: o.runs, warmup: o.warmup, quick: o.quick },
    ...measured,
  };
  const stamp = data.date.replace(/[:.]/g, "-");
  const json = JSON.stringify(data, null, 2) + "\n";
  writeFileSync(join(o.out, `bench-${stamp}.json`), json);
  writeFileSync(join(o.out, "bench.json"), json);
  spawnSync("rm", ["-f", resultFile]);
  const written = writeReports(data, { dir: o.out });
  console.log(`\n${written.markdown}`);
  console.log(`wrote ${o.out}/bench.json (and bench-${stamp}.json), table.md, table.svg`);
  if (o.record) {
    const dir = join(root, "bench", "results");
    copyFileSync(join(o.out, "bench.json"), join(dir, "bench.json"));
    writeReports(data, { dir, readme: join(root, "README.md") });
    console.log("recorded: bench/results/bench.json, table.md, table.svg and the README's figures");
  }
}

/** The jobs `--jobs` may name (bench/inside.mjs runs them), and `startup`. */
const JOB_NAMES = ["dump", "flush", "cidr", "netavark", "startup"];

function jobList(v) {
  const list = (v ?? "").split(",").filter(Boolean);
  const bad = list.filter((j) => !JOB_NAMES.includes(j));
  if (list.length === 0 || bad.length) usage(`--jobs takes a list of ${JOB_NAMES.join(", ")}`);
  return list;
}

/**
 * The command as users get it (`npm i nfct`, then `nfct`): the packed tarball (`npm pack`,
 * which builds dist/ and the per-runtime bundles), unpacked into `dir`; its `nfct` wrapper
 * finds this checkout's runtimes in node_modules above it. Returns the wrapper's path.
 */
function installPackage(dir, env) {
  spawnSync("rm", ["-rf", dir]);
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("npm", ["pack", "--silent", "--pack-destination", dir], {
    cwd: root,
    encoding: "utf8",
    env,
  });
  const tgz = r.stdout.trim().split("\n").pop();
  if (r.status !== 0 || !tgz) {
    console.error(`npm pack failed:\n${r.stdout}${r.stderr}`);
    process.exit(1);
  }
  const x = spawnSync("tar", ["-xzf", join(dir, tgz), "-C", dir], { encoding: "utf8" });
  if (x.status !== 0) {
    console.error(`cannot unpack ${tgz}: ${x.stderr}`);
    process.exit(1);
  }
  return join(dir, "package", "nfct");
}

/** The Bun standalone executable (`npm run build:standalone`), for the start-up rows. */
function buildStandalone(out, env) {
  const r = spawnSync(process.execPath, [
    join(root, "scripts", "build_standalone.mjs"),
    "--out",
    out,
  ], {
    encoding: "utf8",
    env,
  });
  if (r.status !== 0) {
    console.log(`standalone executable: skipped, the build failed:\n${r.stdout}${r.stderr}`);
    return undefined;
  }
  return out;
}

/** Builds bench/c/*.c with `cc -O2` into `dir`; without cc, says so. */
function buildC(dir, env) {
  if (spawnSync("sh", ["-c", "command -v cc"], { env }).status !== 0) {
    return { note: "skipped: no cc on PATH (apt-get install gcc)" };
  }
  mkdirSync(dir, { recursive: true });
  const out = {};
  for (const name of ["ct_dump", "ct_flush", "ct_delete"]) {
    const r = spawnSync("cc", [
      "-O2",
      "-Wall",
      "-o",
      join(dir, name),
      join(root, "bench", "c", `${name}.c`),
    ], { encoding: "utf8", env });
    if (r.status !== 0) {
      process.stderr.write(r.stderr);
      return { note: `skipped: cc could not build bench/c/${name}.c (above)` };
    }
    out[name] = join(dir, name);
  }
  return { bin: out };
}

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ??
    "unknown CPU";
  return {
    cpu: model.replace(/\s+/g, " ").trim(),
    cores: os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
  };
}

function tools(env, c) {
  const first = (cmd, args) =>
    ((spawnSync(cmd, args, { encoding: "utf8", env }).stdout ?? "").split("\n")[0] ?? "").trim();
  return {
    deno: first(bin("deno"), ["--version"]),
    bun: first(bin("bun"), ["--version"]),
    conntrack: first("conntrack", ["--version"]),
    cc: c.bin ? first("cc", ["--version"]) : undefined,
    c: c.note ?? "built with cc -O2",
  };
}

outside(process.argv.slice(2));
