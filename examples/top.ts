#!/usr/bin/env -S deno run -A
/**
 * The busiest flows right now, by bytes per second in both directions: two dumps an interval
 * apart, ranked by what each flow's counters grew by (the library's RateMeter and rankRates).
 * One snapshot; for a live, refreshing view with sort keys use `nfct top`.
 *
 *   deno run -A examples/top.ts [N=20] [--interval SECONDS]
 *   bun examples/top.ts 50
 *
 * Needs accounting: `sysctl -w net.netfilter.nf_conntrack_acct=1` (per network namespace;
 * counts only flows created after it is switched on; `nfct top` switches it on for its run).
 * Needs CAP_NET_ADMIN in the namespace; Deno needs -A (FFI).
 * In a throwaway namespace: node scripts/netns.mjs bun examples/top.ts
 */
import { Conntrack, formatEndpoint, host, rankRates, RateMeter, readSysctl } from "../mod.ts";
import { exampleArgs, usageError } from "./_args.ts";

const USAGE = `usage: top.ts [N] [--interval SECONDS]

The N (default 20) busiest conntrack flows by bytes per second in both directions, measured
over SECONDS (default 1; 0.1 .. 60). Rates in SI units: 1 kB/s = 1000 bytes per second.
For a live view: nfct top.
`;
const args = exampleArgs(USAGE, { values: ["--interval"], positional: 1 });
const n = Number(args.positional[0] ?? 20);
if (!Number.isInteger(n) || n < 1) {
  usageError(USAGE, `N must be a whole number >= 1, got ${args.positional[0]}`);
}
const seconds = Number(args.values.get("--interval") ?? 1);
if (!(seconds >= 0.1 && seconds <= 60)) usageError(USAGE, "--interval needs 0.1 .. 60 seconds");

using ct = Conntrack.open();
const meter = new RateMeter();
meter.sample(ct.dump(), performance.now());
await new Promise((r) => setTimeout(r, seconds * 1000));
const { rates, seconds: measured } = meter.sample(ct.dump(), performance.now());
const top = rankRates(rates, "bytesPerSecond", n);

if (top.length === 0) {
  const acct = readSysctl("net.netfilter.nf_conntrack_acct");
  console.error(
    acct === "1"
      ? `No flow has counters yet (${rates.length} flows): accounting counts flows created after it was switched on.`
      : `Accounting is off (net.netfilter.nf_conntrack_acct=${acct ?? "?"}): enable it with\n` +
        "  sysctl -w net.netfilter.nf_conntrack_acct=1\n" +
        "(new flows are counted from then on), or run nfct top, which does so for its run.",
  );
  ct.close();
  host.exit(rates.length === 0 ? 0 : 1);
}
// SI units, stated: 1 kB = 1000 bytes.
const kB = (bytes: number) => (bytes / 1000).toFixed(1);
console.log(`over ${measured.toFixed(2)} s, both directions; SI units (1 kB = 1000 bytes)`);
console.log(`${"kB/s".padStart(10)} ${"packets/s".padStart(10)} ${"kB total".padStart(10)}  flow`);
for (const r of top) {
  const f = r.flow, o = f.orig;
  const state = f.tcp?.state ?? f.sctp?.state ?? f.dccp?.state;
  console.log(
    `${kB(r.bytesPerSecond).padStart(10)} ${r.packetsPerSecond.toFixed(1).padStart(10)} ` +
      `${kB(r.bytes).padStart(10)}  ${f.proto} ${formatEndpoint(o.src, o.sport)} -> ` +
      `${formatEndpoint(o.dst, o.dport)}${state ? ` ${state}` : ""}${
        f.zone ? ` zone=${f.zone}` : ""
      }`,
  );
}
console.log(`(${rates.filter((r) => r.counted).length} of ${rates.length} flows have counters)`);
