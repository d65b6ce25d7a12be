#!/usr/bin/env -S deno run -A
/**
 * Counts the conntrack table by protocol, by state (TCP/SCTP/DCCP) and by zone, streaming
 * (constant memory on any table size).
 *
 *   deno run -A examples/summary.ts [--json]
 *   bun examples/summary.ts
 *
 * Needs CAP_NET_ADMIN in the network namespace; Deno needs -A (FFI).
 * In a throwaway namespace: node scripts/netns.mjs deno run -A examples/summary.ts
 */
import { Conntrack } from "../mod.ts";
import { exampleArgs } from "./_args.ts";

const USAGE = `usage: summary.ts [--json]

Counts this network namespace's conntrack table by protocol, by state and by zone (counts of
entries, no units). --json: one JSON object instead of text.
`;
const args = exampleArgs(USAGE, { flags: ["--json"] });

using ct = Conntrack.open();
const byProto = new Map<string, number>(),
  byState = new Map<string, number>(),
  byZone = new Map<number, number>();
const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
let total = 0;
for (const f of ct.dump()) {
  total++;
  bump(byProto, `${f.family}/${f.proto}`);
  const state = f.tcp?.state ?? f.sctp?.state ?? f.dccp?.state;
  if (state !== undefined) bump(byState, `${f.proto} ${state}`);
  bump(byZone, f.zone ?? 0);
}
const sorted = <K>(m: Map<K, number>) => [...m].sort((a, b) => b[1] - a[1]);
if (args.flags.has("--json")) {
  console.log(JSON.stringify({
    total,
    max: ct.globalStats().maxEntries,
    protocols: Object.fromEntries(sorted(byProto)),
    states: Object.fromEntries(sorted(byState)),
    zones: Object.fromEntries(sorted(byZone)),
  }));
} else {
  console.log(`${total} entries (nf_conntrack_max ${ct.globalStats().maxEntries})`);
  for (const [title, m] of [["protocol", byProto], ["state", byState], ["zone", byZone]] as const) {
    console.log(`\nby ${title}:`);
    for (const [k, v] of sorted(m as Map<unknown, number>)) {
      console.log(`  ${String(v).padStart(8)}  ${k}`);
    }
  }
}
