#!/usr/bin/env -S deno run -A
/**
 * Top flows by bytes (both directions), like a one-shot `iftop` for the conntrack table.
 *
 *   deno run -A examples/top.ts [N=20]
 *   bun examples/top.ts 50
 *
 * Needs accounting: `sysctl -w net.netfilter.nf_conntrack_acct=1` (per network namespace;
 * counts only flows created after it is switched on). Needs CAP_NET_ADMIN in the namespace;
 * Deno needs -A (FFI). In a throwaway namespace: node scripts/netns.mjs bun examples/top.ts
 */
import { Conntrack, type Flow, host } from "../mod.ts";

const n = Number(host.args()[0] ?? 20);
if (!Number.isInteger(n) || n < 1) {
  console.error("usage: top.ts [N]");
  host.exit(2);
}
let acct = "?";
try {
  acct = host.readTextFile("/proc/sys/net/netfilter/nf_conntrack_acct").trim();
} catch { /* nf_conntrack not loaded yet */ }

using ct = Conntrack.open();
const top: { bytes: number; packets: number; f: Flow }[] = [];
let total = 0, counted = 0;
for (const f of ct.dump()) {
  total++;
  if (!f.counters) continue;
  counted++;
  const bytes = f.counters.orig.bytes + f.counters.reply.bytes;
  const packets = f.counters.orig.packets + f.counters.reply.packets;
  // Keep the N largest without sorting the whole table.
  if (top.length < n || bytes > top[top.length - 1].bytes) {
    top.push({ bytes, packets, f });
    top.sort((a, b) => b.bytes - a.bytes);
    if (top.length > n) top.pop();
  }
}
if (counted === 0) {
  console.error(
    acct === "1"
      ? `No flow has counters yet (${total} flows): accounting counts flows created after it was switched on.`
      : `Accounting is off (net.netfilter.nf_conntrack_acct=${acct}): enable it with\n  sysctl -w net.netfilter.nf_conntrack_acct=1\n(new flows are counted from then on).`,
  );
  host.exit(total === 0 ? 0 : 1);
}
const human = (b: number) => b >= 1 << 30 ? `${(b / 2 ** 30).toFixed(1)}G` : b >= 1 << 20 ? `${(b / 2 ** 20).toFixed(1)}M` : b >= 1024 ? `${(b / 1024).toFixed(1)}K` : `${b}B`;
console.log(`${"bytes".padStart(8)} ${"packets".padStart(8)}  flow`);
for (const { bytes, packets, f } of top) {
  const port = (p?: number) => (p === undefined ? "" : `:${p}`);
  console.log(
    `${human(bytes).padStart(8)} ${String(packets).padStart(8)}  ${String(f.proto).padEnd(6)} ${f.orig.src}${port(f.orig.sport)} -> ${f.orig.dst}${port(f.orig.dport)}` +
      (f.tcp?.state ? ` ${f.tcp.state}` : "") + (f.zone ? ` zone=${f.zone}` : ""),
  );
}
console.log(`(${counted} of ${total} flows have counters)`);
