#!/usr/bin/env -S deno run -A
/**
 * nfct demo: fill a conntrack table, list it, delete from it (by a CIDR, which only userspace
 * can match, and by protocol, which the kernel filters), and say how fast, side by side with
 * conntrack(8) when it is installed.
 *
 * Run it in a throwaway network namespace (its own, empty table), never on a host's table (it
 * refuses to run in the initial network namespace or pid 1's, see assertThrowawayNetns):
 *   npm run demo                                       (both runtimes, N = 100000)
 *   node scripts/netns.mjs deno run -A examples/demo.ts 20000
 *   node scripts/netns.mjs bun examples/demo.ts 20000
 * Needs CAP_NET_ADMIN in that namespace (root, or unshare -rn as a user).
 */
import { execFileSync, spawnSync } from "node:child_process";
import process from "node:process";
import { assertThrowawayNetns, Conntrack, type Flow } from "../mod.ts";
import { exampleArgs, usageError } from "./_args.ts";

const USAGE = `usage: demo.ts [ENTRIES]

Fills this network namespace's conntrack table with ENTRIES flows (1 .. 5000000; default
$NFCT_DEMO_N or 100000), lists, counts and deletes them, and says how fast, beside
conntrack(8) when it is installed. Refuses to run outside a throwaway namespace:
  node scripts/netns.mjs deno run -A examples/demo.ts 20000
`;
const arg = exampleArgs(USAGE, { positional: 1 }).positional[0];

// Then, before any socket is opened: never on the host's table, whatever it holds.
try {
  assertThrowawayNetns("fill and empty a conntrack table for the demo");
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}

const N = Number(arg ?? process.env.NFCT_DEMO_N ?? 100_000);
if (!Number.isInteger(N) || N < 1 || N > 5_000_000) {
  usageError(
    USAGE,
    `ENTRIES must be a whole number 1 .. 5000000, got ${arg ?? process.env.NFCT_DEMO_N}`,
  );
}
const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
const hasCli = spawnSync("sh", ["-c", "command -v conntrack"]).status === 0;

using ct = Conntrack.open();
if (ct.count() !== 0) {
  console.error(
    `This table already holds ${ct.count()} entries: run the demo in a throwaway namespace (npm run demo).`,
  );
  process.exit(1);
}
const max = ct.globalStats().maxEntries;
if (N > max) {
  console.error(`nf_conntrack_max is ${max}: raise it in the init namespace to fill ${N} entries.`);
  process.exit(1);
}

/** N flows: 60% UDP, 30% TCP, 10% ICMP, all IPv4, spread over many addresses. */
function* flows(): Generator<Flow> {
  for (let i = 0; i < N; i++) {
    const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const k = i % 10;
    if (k < 6) {
      yield {
        family: "ipv4",
        proto: "udp",
        orig: { src, dst: "192.0.2.1", sport: 1024 + (i % 50000), dport: 53 },
        timeout: 600,
      } as Flow;
    } else if (k < 9) {
      yield {
        family: "ipv4",
        proto: "tcp",
        orig: { src, dst: "192.0.2.2", sport: 1024 + (i % 50000), dport: 443 },
        timeout: 600,
        tcp: { state: "ESTABLISHED" },
      } as Flow;
    } else {yield {
        family: "ipv4",
        proto: "icmp",
        orig: { src, dst: "192.0.2.3", type: 8, code: 0, id: i & 0xffff },
        timeout: 600,
      } as Flow;}
  }
}

function time<T>(f: () => T): [T, number] {
  const t = performance.now();
  const r = f();
  return [r, (performance.now() - t) / 1000];
}
const rate = (n: number, s: number) =>
  s < 0.005 ? "O(1)" : `${Math.round(n / s).toLocaleString("en-US")}/s`;
const rows: string[][] = [];
const row = (what: string, n: number, s: number, cli?: number) =>
  rows.push([
    what,
    n.toLocaleString("en-US"),
    `${s.toFixed(3)} s`,
    rate(n, s),
    cli === undefined ? "" : `${cli.toFixed(3)} s`,
    cli === undefined ? "" : `${(cli / s).toFixed(2)}x`,
  ]);
const cli = (args: string[]) =>
  time(() => spawnSync("conntrack", args, { stdio: "ignore" }).status);

console.log(
  `nfct demo on ${runtime}: ${N.toLocaleString("en-US")} entries in a throwaway network namespace`,
);

const [created, tFill] = time(() => ct.createMany(flows()));
if (created.failed.length) throw created.failed[0].error;
row("fill (createMany)", created.created, tFill);

const [count, tCount] = time(() => ct.count());
row("count (O(1) in the kernel)", count, tCount, hasCli ? cli(["-C"])[1] : undefined);

const [dumped, tDump] = time(() => {
  let n = 0;
  for (const _ of ct.dump()) n++;
  return n;
});
row(
  "dump (typed flows)",
  dumped,
  tDump,
  hasCli ? time(() => execFileSync("sh", ["-c", "conntrack -L >/dev/null 2>&1"]))[1] : undefined,
);

const [top, tTop] = time(() => {
  const byDport = new Map<number, number>();
  for (const f of ct.dump({ proto: "tcp" })) {
    byDport.set(f.orig.dport!, (byDport.get(f.orig.dport!) ?? 0) + 1);
  }
  return byDport;
});
row(
  `dump tcp (kernel filter), ${[...top.values()][0]} to :443`,
  [...top.values()].reduce((a, b) => a + b, 0),
  tTop,
);

// A filter the kernel cannot apply (a CIDR): the table is dumped (received on a worker thread
// while this one matches) and the matches deleted in pipelined batches.
const inCidr = (f: Flow) => f.orig.src!.startsWith("10.0.");
function* only(pred: (f: Flow) => boolean): Generator<Flow> {
  for (const f of flows()) if (pred(f)) yield f;
}
let nCidr = 0;
for (const _ of only(inCidr)) nCidr++;
const [delCidr, tCidr] = time(() => ct.flush({ src: "10.0.0.0/16" }, { via: "dump" }).deleted);
if (delCidr !== nCidr) {
  throw new Error(`expected to delete ${nCidr} entries from 10.0.0.0/16, deleted ${delCidr}`);
}
ct.createMany(only(inCidr));
let cliCidr: number | undefined;
if (hasCli) {
  cliCidr = cli(["-D", "-s", "10.0.0.0/16"])[1];
  ct.createMany(only(inCidr));
}
row("delete src 10.0.0.0/16 (CIDR)", delCidr, tCidr, cliCidr);

const nUdp = Math.ceil(N * 0.6);
// In the kernel (this kernel's filtered flush was first proven on sentinels in a scratch
// namespace): it does not count, so the demo checks what is left.
const beforeUdp = ct.count();
const [, tDel] = time(() => ct.flush({ proto: "udp" }));
const delUdp = beforeUdp - ct.count();
if (ct.list({ proto: "udp" }).length !== 0) {
  throw new Error('UDP entries left after flush({ proto: "udp" })');
}
let cliDel: number | undefined;
if (hasCli) {
  // Same work for conntrack: refill the UDP entries, then `conntrack -D -p udp`.
  ct.createMany(only((f) => f.proto === "udp"));
  cliDel = cli(["-D", "-p", "udp"])[1];
}
row("delete udp (flush filter)", delUdp, tDel, cliDel);
if (delUdp !== nUdp) throw new Error(`expected to delete ${nUdp} UDP entries, deleted ${delUdp}`);

const left = ct.count();
const [, tFlush] = time(() => ct.flushAll());
row("flush all", left, tFlush);
if (ct.count() !== 0) throw new Error(`flush left ${ct.count()} entries`);

const head = ["operation", "entries", "nfct", "nfct rate", "conntrack", "ratio"];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)) + 1);
console.log(head.map((h, i) => h.padEnd(w[i])).join(" "));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join(" "));
console.log(
  `RSS ${
    (process.memoryUsage().rss / 2 ** 20).toFixed(0)
  } MiB (IEC: 1 MiB = 2^20 bytes); ratio = conntrack time / nfct time (higher is better for nfct)`,
);
if (!hasCli) {
  console.log(
    "The conntrack columns are empty: conntrack(8) is not installed here (apt-get install conntrack).",
  );
}
