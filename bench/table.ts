/**
 * Whole-table benchmark, run inside a throwaway network namespace (bench/run.mjs starts it):
 * fills N entries, then times nfct and conntrack(8) on the same table, side by side:
 * dump, count, delete by a filter the kernel cannot express (CIDR), delete by one it can
 * (protocol; nfct's kernel path and its dump path), the same through both command lines
 * (`-L`, `-D`/`-F -p udp`, and the netavark case: one container's 1%), delete everything one by
 * one (streaming, and list() + deleteMany()), flush.
 * Before each conntrack run the table is refilled to the same state nfct found.
 *
 * Usage (inside a netns): deno run -A bench/table.ts N   |   bun bench/table.ts N
 * Prints one line `RESULT {json}`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { assertThrowawayNetns, Conntrack, type Filter, type Flow } from "../mod.ts";

// First of all, before any socket is opened: never on the host's table, whatever it holds.
assertThrowawayNetns("fill and empty a conntrack table for the benchmark (run it with node bench/run.mjs)");

const N = Number(process.argv[2] ?? 100000);
const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
/** A full GC: `Bun.gc(true)`, or V8's `gc()` (bench/run.mjs starts Deno with --expose-gc). */
function collectGarbage(): void {
  const g = globalThis as { Bun?: { gc(sync: boolean): void }; gc?: () => void };
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
}
const self = (process.argv[1] ?? "").replace(/table\.ts$/, "_dump_rss.ts");

using ct = Conntrack.open();
if (ct.count() !== 0) throw new Error("the table is not empty: run this in a throwaway netns (node bench/run.mjs)");

/**
 * Entry i: 1% (i % 100 = 99) UDP from a client to a container at 10.88.0.5:8080 (the netavark
 * case); the rest by i % 10: 60% UDP, 30% TCP, 9% ICMP; odd i go to 192.0.2.1, even to 198.51.100.1.
 */
function flow(i: number): Flow {
  const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  if (isContainer(i)) return { family: "ipv4", proto: "udp", orig: { src, dst: CONTAINER, sport: 1024 + (i % 50000), dport: 8080 }, timeout: 900 } as Flow;
  const dst = i & 1 ? "192.0.2.1" : "198.51.100.1";
  const k = i % 10;
  if (k < 6) return { family: "ipv4", proto: "udp", orig: { src, dst, sport: 1024 + (i % 50000), dport: 53 }, timeout: 900 } as Flow;
  if (k < 9) return { family: "ipv4", proto: "tcp", orig: { src, dst, sport: 1024 + (i % 50000), dport: 443 }, timeout: 900, tcp: { state: "ESTABLISHED" } } as Flow;
  return { family: "ipv4", proto: "icmp", orig: { src, dst, type: 8, code: 0, id: i & 0xffff }, timeout: 900 } as Flow;
}
function* flows(pred: (i: number) => boolean = () => true): Generator<Flow> {
  for (let i = 0; i < N; i++) if (pred(i)) yield flow(i);
}
const CONTAINER = "10.88.0.5";
const isContainer = (i: number) => i % 100 === 99;
const isUdp = (i: number) => i % 10 < 6 || isContainer(i);
const isEven = (i: number) => (i & 1) === 0;

/**
 * Times `f`. Each timed operation starts from a collected heap (garbage left by the operations
 * before it is not charged to it; its own is), as each conntrack run starts a fresh process.
 */
function time<T>(f: () => T): { value: T; s: number } {
  collectGarbage();
  const t = performance.now();
  const value = f();
  return { value, s: (performance.now() - t) / 1000 };
}
function cli(args: string[]): number {
  return time(() => {
    const r = spawnSync("conntrack", args, { stdio: ["ignore", "ignore", "ignore"] });
    if (r.status !== 0 && !args.includes("-D")) throw new Error(`conntrack ${args.join(" ")} failed`);
  }).s;
}
function refill(pred?: (i: number) => boolean, expect = N): void {
  const r = ct.createMany(flows(pred));
  if (r.failed.length) throw r.failed[0].error;
  if (ct.count() !== expect) throw new Error(`refill: table has ${ct.count()} entries, expected ${expect}`);
}
function countWhere(pred: (i: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < N; i++) if (pred(i)) n++;
  return n;
}

const ops: Record<string, { entries: number; nfct: number; conntrack?: number; note?: string }> = {};

// fill
const fill = time(() => ct.createMany(flows()));
if (fill.value.failed.length) throw fill.value.failed[0].error;
ops.fill = { entries: N, nfct: fill.s };

// dump: in a fresh child process, for a clean peak-RSS figure; then conntrack -L
const child = JSON.parse(execFileSync(process.execPath, runtime === "deno" ? ["run", "-A", self] : [self], { encoding: "utf8" }));
if (child.entries !== N) throw new Error(`dump saw ${child.entries} of ${N}`);
ops.dump = { entries: N, nfct: child.seconds, conntrack: cli(["-L"]) };
const dumpInProcess = time(() => {
  let n = 0;
  for (const _ of ct.dump()) n++;
  return n;
});
ops["dump (in this process)"] = { entries: dumpInProcess.value, nfct: dumpInProcess.s };
const dumpAhead = time(() => {
  let n = 0;
  for (const _ of ct.dump(undefined, { readAhead: true })) n++;
  return n;
});
if (dumpAhead.value !== N) throw new Error(`read-ahead dump saw ${dumpAhead.value} of ${N}`);
ops["dump (readAhead: worker thread receives)"] = { entries: N, nfct: dumpAhead.s, conntrack: ops.dump.conntrack };

// count
ops.count = { entries: N, nfct: time(() => ct.count()).s, conntrack: cli(["-C"]) };

// delete by CIDR (userspace filter): half the table
const cidr: Filter = { dst: "198.51.100.0/24" };
const nEven = countWhere(isEven);
const dCidr = time(() => ct.flush(cidr, { via: "dump" }).deleted);
if (dCidr.value !== nEven) throw new Error(`CIDR delete removed ${dCidr.value}, expected ${nEven}`);
refill(isEven);
ops["delete dst CIDR (userspace filter)"] = { entries: nEven, nfct: dCidr.s, conntrack: cli(["-D", "-d", "198.51.100.0/24"]) };
refill(isEven);

// delete by protocol (kernel filter): 60% of the table, both nfct paths
const nUdp = countWhere(isUdp);
ct.canFlushInKernel({ proto: "udp" }); // proven once per client on a scratch table; not part of the timing
const dUdpKernel = time(() => ct.flush({ proto: "udp" }, { via: "kernel" }));
if (ct.count() !== N - nUdp) throw new Error(`kernel UDP flush left ${ct.count()}, expected ${N - nUdp}`);
refill(isUdp);
const dUdpDump = time(() => ct.flush({ proto: "udp" }, { via: "dump" }).deleted);
if (dUdpDump.value !== nUdp) throw new Error(`dump UDP delete removed ${dUdpDump.value}, expected ${nUdp}`);
refill(isUdp);
const cliUdp = cli(["-D", "-p", "udp"]);
refill(isUdp);
ops["delete udp (kernel filter)"] = { entries: nUdp, nfct: dUdpKernel.s, conntrack: cliUdp };
ops["delete udp (dump + pipelined deletes)"] = { entries: nUdp, nfct: dUdpDump.s, conntrack: cliUdp };

// The same through both command lines (a new process each). This machine is noisy and these
// runs are short, so each is repeated (conntrack and nfct alternately, on the same refilled
// table) and the medians are compared. `-D` lists every entry it deletes, as conntrack does;
// `-F` with a filter is nfct's extension (kernel-side flush), compared with conntrack -D.
const REPEAT = Math.max(1, Number(process.env.NFCT_BENCH_REPEAT ?? 3));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cliTs = (process.argv[1] ?? "").replace(/bench\/table\.ts$/, "cli.ts");
const nfctCli = (args: string[]) =>
  time(() => {
    const argv = runtime === "deno" ? ["run", "-A", cliTs, ...args] : [cliTs, ...args];
    const r = spawnSync(process.execPath, argv, { stdio: ["ignore", "ignore", "ignore"] });
    if (r.status !== 0) throw new Error(`nfct ${args.join(" ")} exited ${r.status}`);
  }).s;
/**
 * `conntrack ARGS` and `nfct NFCT_ARGS` alternately, REPEAT times each; after a run that
 * deletes, the table must hold N - `deletes(i)` entries and is refilled with those.
 */
function sideBySide(args: string[], nfctArgs = args, deletes?: (i: number) => boolean) {
  const c: number[] = [], n: number[] = [];
  const expect = deletes ? N - countWhere(deletes) : N;
  for (let r = 0; r < REPEAT; r++) {
    c.push(cli(args));
    if (deletes) refill(deletes);
    n.push(nfctCli(nfctArgs));
    if (ct.count() !== expect) throw new Error(`nfct ${nfctArgs.join(" ")} left ${ct.count()} entries, expected ${expect}`);
    if (deletes) refill(deletes);
  }
  return { nfct: median(n), conntrack: median(c) };
}
ops["cli: nfct -L (prints every entry)"] = { entries: N, ...sideBySide(["-L"]) };
ops["cli: nfct -D -p udp (lists each)"] = { entries: nUdp, ...sideBySide(["-D", "-p", "udp"], undefined, isUdp) };
ops["cli: nfct -F -p udp"] = { entries: nUdp, ...sideBySide(["-D", "-p", "udp"], ["-F", "-p", "udp"], isUdp) };
// The netavark case: delete one container's entries (1% of the table), by its address as reply
// source and by its host port, each listed as conntrack does.
for (const args of [["-D", "-r", CONTAINER], ["-D", "-p", "udp", "--dport", "8080"]]) {
  ops[`cli: nfct ${args.join(" ")} (1% of the table)`] = { entries: countWhere(isContainer), ...sideBySide(args, args, isContainer) };
}

// delete everything one by one: a streaming dump with pipelined deletes, and the deleteMany
// API on the listed flows (list() + deleteMany()), vs conntrack -D
const dAll = time(() => ct.flushAll({ via: "dump" }).deleted);
if (dAll.value !== N) throw new Error(`delete all removed ${dAll.value}`);
refill();
const dMany = time(() => ct.deleteMany(ct.list()));
if (dMany.value.deleted !== N || dMany.value.missing || dMany.value.failed.length) {
  throw new Error(`deleteMany: ${JSON.stringify({ ...dMany.value, failed: dMany.value.failed.length })}`);
}
refill();
const cliAll = cli(["-D"]);
refill();
ops["delete all (dump + pipelined deletes)"] = { entries: N, nfct: dAll.s, conntrack: cliAll };
ops["delete all (list() + deleteMany())"] = { entries: N, nfct: dMany.s, conntrack: cliAll };

// flush
const fl = time(() => ct.flushAll());
refill();
ops["flush"] = { entries: N, nfct: fl.s, conntrack: cli(["-F"]) };

const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
const version = runtime === "bun" ? (globalThis as unknown as { Bun: { version: string } }).Bun.version : (globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno;
console.log("RESULT " + JSON.stringify({ runtime, version, kernel, entries: N, dumpPeakRss: child.peakRss, ops }));
