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
//     --out DIR      where results go (default bench/out/, untracked)
//     --record       also write bench/results/bench.json and regenerate bench/results/table.md,
//                    table.svg and the README's figures (node bench/report.mjs does that part)
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
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") o.quick = true;
    else if (a === "--record") o.record = true;
    else if (a === "--runs") o.runs = int(argv[++i], 1, 1000, "--runs");
    else if (a === "--warmup") o.warmup = int(argv[++i], 0, 100, "--warmup");
    else if (a === "--startup") o.startup = int(argv[++i], 0, 5_000_000, "--startup");
    else if (a === "--out") o.out = resolve(argv[++i] ?? usage("--out needs a folder"));
    else if (/^\d+$/.test(a)) o.sizes.push(int(a, 100, 5_000_000, "N"));
    else usage(`unknown argument ${a}`);
  }
  if (o.sizes.length === 0) o.sizes = o.quick ? [10000, 100000] : [100000];
  o.runs ??= o.quick ? 3 : 5;
  if (o.record && o.quick) usage("--record with --quick: recorded figures need full runs");

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
    resultFile,
  };
  let r;
  try {
    r = spawnSync("unshare", [
      isRoot ? "-n" : "-rn",
      "--",
      process.execPath,
      fileURLToPath(import.meta.url),
      "--inside",
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

// --- In the throwaway namespace: fill, run, check, refill ---

function inside(config) {
  const here = readlinkSync("/proc/self/ns/net");
  if (!process.env.NFCT_HOST_NETNS || here === process.env.NFCT_HOST_NETNS) {
    throw new Error(
      `Refusing to run the benchmark: ${here} is not a throwaway network namespace (start it with node bench/run.mjs)`,
    );
  }
  const sizes = [];
  for (const n of config.sizes) {
    console.log(`\n=== ${n.toLocaleString("en-US")} entries`);
    sizes.push({ entries: n, ...runSize(n, jobs(n, config.c), config) });
  }
  let startup;
  if (config.startup > 0) {
    console.log(`\n=== start-up: ${config.startup.toLocaleString("en-US")} entries`);
    startup = {
      entries: config.startup,
      ...runSize(config.startup, startupJobs(config.c), {
        ...config,
        runs: Math.max(config.runs, 10),
      }),
    };
  }
  writeFileSync(config.resultFile, JSON.stringify({ sizes, startup }));
}

const deno = (...args) => [bin("deno"), "run", "-A", ...args];
const bun = (...args) => [bin("bun"), ...args];
const op = (rt, ...args) => (rt === "deno" ? deno : bun)(join(root, "bench", "op.ts"), ...args);
const nfct = (rt, ...args) => ({ argv: [join(root, "nfct"), ...args], env: { NFCT_RUNTIME: rt } });
const CIDR = "198.51.100.0/24";
const CONTAINER = "10.88.0.5";

/**
 * The jobs for one table size. Each job: the part of the table its contenders delete (refilled
 * before every run), and its contenders: an id (`lib.dump.deno`, `cli.L.bun`, `conntrack.L`,
 * `c.dump`, …), the command line(s), and what the library scripts must report.
 */
function jobs(n, c) {
  const both = (make) => ["deno", "bun"].map(make);
  const cAnd = (
    list,
    id,
    ...argv
  ) => (c ? [...list, { id, cmds: [[c[argv[0]], ...argv.slice(1)]] }] : list);
  return [
    {
      name: "dump",
      part: undefined,
      contenders: cAnd(
        [
          ...both((rt) => ({
            id: `lib.dump.${rt}`,
            cmds: [op(rt, "dump")],
            expect: { entries: n },
          })),
          ...both((rt) => ({
            id: `lib.dumpReadAhead.${rt}`,
            cmds: [op(rt, "dump", "readahead")],
            expect: { entries: n },
          })),
          ...both((rt) => ({ id: `cli.L.${rt}`, cmds: [nfct(rt, "-L")] })),
          { id: "conntrack.L", cmds: [["conntrack", "-L"]] },
        ],
        "c.dump",
        "ct_dump",
      ),
    },
    {
      name: "flush udp",
      part: "udp",
      contenders: cAnd(
        [
          ...both((rt) => ({
            id: `lib.flushUdp.${rt}`,
            cmds: [op(rt, "flush-udp")],
            expect: { via: "kernel" },
          })),
          ...both((rt) => ({ id: `cli.Fudp.${rt}`, cmds: [nfct(rt, "-F", "-p", "udp")] })),
          ...both((rt) => ({ id: `cli.Dudp.${rt}`, cmds: [nfct(rt, "-D", "-p", "udp")] })),
          { id: "conntrack.Dudp", cmds: [["conntrack", "-D", "-p", "udp"]] },
        ],
        "c.flushUdp",
        "ct_flush",
        "17",
      ),
    },
    {
      name: "delete CIDR",
      part: "cidr",
      contenders: cAnd(
        [
          ...both((rt) => ({
            id: `lib.deleteCidr.${rt}`,
            cmds: [op(rt, "delete-cidr")],
            expect: { deleted: "part" },
          })),
          ...both((rt) => ({ id: `cli.Dcidr.${rt}`, cmds: [nfct(rt, "-D", "-d", CIDR)] })),
          { id: "conntrack.Dcidr", cmds: [["conntrack", "-D", "-d", CIDR]] },
        ],
        "c.deleteCidr",
        "ct_delete",
        `dst=${CIDR}`,
      ),
    },
    {
      name: "netavark",
      part: "netavark",
      contenders: cAnd(
        [
          ...both((rt) => ({
            id: `lib.netavarkAny.${rt}`,
            cmds: [op(rt, "netavark-any")],
            expect: { deleted: "part" },
          })),
          ...both((rt) => ({ id: `lib.netavarkThree.${rt}`, cmds: [op(rt, "netavark-three")] })),
          ...both((rt) => ({
            id: `cli.Dthree.${rt}`,
            cmds: NETAVARK_ARGS.map((a) => nfct(rt, ...a)),
          })),
          { id: "conntrack.Dthree", cmds: NETAVARK_ARGS.map((a) => ["conntrack", ...a]) },
        ],
        "c.netavark",
        "ct_delete",
        `rsrc=${CONTAINER}`,
        `rdst=${CONTAINER}`,
        "proto=17,dport=8080",
      ),
    },
  ];
}
/** conntrack's three commands for the netavark case (reply source, reply destination, host port). */
const NETAVARK_ARGS = [["-D", "-r", CONTAINER], ["-D", "-q", CONTAINER], [
  "-D",
  "-p",
  "udp",
  "--dport",
  "8080",
]];

function startupJobs(c) {
  const list = [
    ...["deno", "bun"].map((rt) => ({ id: `lib.noop.${rt}`, cmds: [op(rt, "noop")] })),
    ...["deno", "bun"].map((rt) => ({ id: `cli.L.${rt}`, cmds: [nfct(rt, "-L")] })),
    { id: "conntrack.L", cmds: [["conntrack", "-L"]] },
  ];
  if (c) list.push({ id: "c.dump", cmds: [[c.ct_dump]] });
  return [{ name: "start-up", part: undefined, contenders: list }];
}

/** Runs one table size's jobs; returns `{ parts, jobs: { name: { id: { times, reports } } } }`. */
function runSize(n, jobList, config) {
  const filled = fill(n, "all");
  const parts = filled.parts;
  let missing; // the part of the table the last run deleted, refilled before the next
  const out = {};
  for (const job of jobList) {
    const res = Object.fromEntries(
      job.contenders.map((k) => [k.id, { cmds: k.cmds.map(show), times: [], reports: [] }]),
    );
    const expectAfter = job.part ? n - parts[job.part] : n;
    const total = config.warmup + config.runs;
    for (let round = 0; round < total; round++) {
      const timed = round >= config.warmup;
      if (process.stdout.isTTY) {
        process.stdout.write(
          `${job.name}: ${timed ? `run ${round - config.warmup + 1}/${config.runs}` : "warm-up"}\r`,
        );
      }
      for (const k of job.contenders) {
        if (missing) {
          fill(n, missing);
          missing = undefined;
        }
        const { seconds, reports } = timeRun(k.cmds);
        missing = job.part;
        const count = tableCount();
        if (count !== expectAfter) {
          throw new Error(
            `${k.id}: the table holds ${count} entries after the run, expected ${expectAfter}`,
          );
        }
        for (const rep of reports) checkReport(k, rep, job.part ? parts[job.part] : n);
        if (timed) {
          res[k.id].times.push(seconds);
          if (reports.length) res[k.id].reports.push(reports.length === 1 ? reports[0] : reports);
        }
      }
    }
    if (process.stdout.isTTY) process.stdout.write(" ".repeat(40) + "\r");
    for (const [id, r] of Object.entries(res)) {
      const s = [...r.times].sort((a, b) => a - b);
      console.log(
        `${job.name.padEnd(12)} ${id.padEnd(24)} median ${s[s.length >> 1].toFixed(3)} s  (${
          s[0].toFixed(3)
        }–${s[s.length - 1].toFixed(3)})`,
      );
    }
    out[job.name] = res;
  }
  if (missing) fill(n, missing);
  spawnSync("conntrack", ["-F"], { stdio: "ignore" });
  return { parts, jobs: out };
}

const show = (cmd) => {
  const c = Array.isArray(cmd) ? { argv: cmd } : cmd;
  const env = c.env ? Object.entries(c.env).map(([k, v]) => `${k}=${v} `).join("") : "";
  return env + c.argv.map((a) => a.startsWith(root + "/") ? a.slice(root.length + 1) : a).join(" ");
};

/**
 * Runs the commands one after the other, each a fresh process with its output to /dev/null
 * (the library scripts' one JSON line is kept); returns the wall time of them all.
 */
function timeRun(cmds) {
  const reports = [];
  let ns = 0n;
  for (const cmd of cmds) {
    const c = Array.isArray(cmd) ? { argv: cmd } : cmd;
    const isOp = c.argv.some((a) => a.endsWith("bench/op.ts"));
    const t = process.hrtime.bigint();
    const r = spawnSync(c.argv[0], c.argv.slice(1), {
      stdio: ["ignore", isOp ? "pipe" : "ignore", "pipe"],
      encoding: "utf8",
      env: { ...process.env, ...c.env },
      maxBuffer: 1 << 20,
    });
    ns += process.hrtime.bigint() - t;
    // conntrack and nfct -D exit 1 when they deleted nothing; the table count is checked after
    if (r.status !== 0 && !(r.status === 1 && c.argv.includes("-D"))) {
      throw new Error(`${show(cmd)} exited ${r.status ?? r.signal}: ${r.stderr}`);
    }
    if (isOp) reports.push(JSON.parse(r.stdout));
  }
  return { seconds: Number(ns) / 1e9, reports };
}

function checkReport(k, rep, expected) {
  for (const [key, want] of Object.entries(k.expect ?? {})) {
    const w = want === "part" ? expected : want;
    if (rep[key] !== w) {
      throw new Error(
        `${k.id}: reported ${key} ${JSON.stringify(rep[key])}, expected ${JSON.stringify(w)}`,
      );
    }
  }
}

function tableCount() {
  const r = spawnSync("conntrack", ["-C"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`conntrack -C failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** Creates the entries of `part` that are missing (untimed); the script checks the table is whole. */
function fill(n, part) {
  const [exe, ...args] = op("bun", "fill", String(n), part);
  const r = spawnSync(exe, args, { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`fill ${n} ${part} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// Last: everything above is initialised.
if (process.argv[2] === "--inside") {
  inside(JSON.parse(process.argv[3]));
} else {
  outside(process.argv.slice(2));
}
