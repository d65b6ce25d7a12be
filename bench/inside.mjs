#!/usr/bin/env node
// The namespace side of the whole-table benchmark (bench/run.mjs starts it under `unshare`):
// fills the table, runs every job's contenders interleaved as fresh processes, checks what each
// did (the table count after the run, the library scripts' reports), refills, and writes the
// times to the result file named in its one argument (a JSON config). Refuses to run in the
// namespace it was started from.
import { spawnSync } from "node:child_process";
import { readlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);

// --- In the throwaway namespace: fill, run, check, refill ---

function inside(config) {
  const here = readlinkSync("/proc/self/ns/net");
  if (!process.env.NFCT_HOST_NETNS || here === process.env.NFCT_HOST_NETNS) {
    throw new Error(
      `Refusing to run the benchmark: ${here} is not a throwaway network namespace (start it with node bench/run.mjs)`,
    );
  }
  if (config.nfct) NFCT = config.nfct;
  const chosen = (j) => !config.jobs || config.jobs.includes(j);
  const sizes = [];
  for (const n of config.sizes) {
    const only = config.only ? new RegExp(config.only) : undefined;
    const list = jobs(n, config.c).filter((j) => chosen(j.key)).map((j) =>
      only ? { ...j, contenders: j.contenders.filter((k) => only.test(k.id)) } : j
    );
    if (list.length === 0) continue;
    console.log(`\n=== ${n.toLocaleString("en-US")} entries`);
    sizes.push({ entries: n, ...runSize(n, list, config) });
  }
  let startup;
  if (config.startup > 0 && chosen("startup")) {
    console.log(`\n=== start-up: ${config.startup.toLocaleString("en-US")} entries`);
    startup = {
      entries: config.startup,
      ...runSize(config.startup, startupJobs(config.c, config.standalone), {
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
/** The installed command (bench/run.mjs unpacks the npm package), on the runtime `rt`. */
let NFCT = join(root, "nfct");
const nfct = (rt, ...args) => ({
  argv: [NFCT, ...args],
  // The runtimes on PATH, as after `npm i -g deno bun` (the package may lie outside the checkout).
  env: { NFCT_RUNTIME: rt, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}` },
});
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
      key: "dump",
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
      key: "flush",
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
      key: "cidr",
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
      key: "netavark",
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

function startupJobs(c, standalone) {
  const both = (make) => ["deno", "bun"].map(make);
  const list = [
    ...both((rt) => ({ id: `lib.noop.${rt}`, cmds: [op(rt, "noop")] })),
    ...both((rt) => ({ id: `cli.L.${rt}`, cmds: [nfct(rt, "-L")] })),
    // The same command from a checkout: the TypeScript sources, module by module.
    ...both((rt) => ({
      id: `cli.Lsrc.${rt}`,
      cmds: [{ argv: [join(root, "nfct"), "-L"], env: { NFCT_RUNTIME: rt } }],
    })),
    { id: "conntrack.L", cmds: [["conntrack", "-L"]] },
  ];
  if (standalone) list.push({ id: "cli.Lstandalone.bun", cmds: [[standalone, "-L"]] });
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

inside(JSON.parse(process.argv[2]));
