/**
 * Codec micro-benchmarks (tinybench), no privilege needed: decode a corpus of real kernel dump
 * datagrams (test/fixtures/real_dump_flows.hex, captured from Linux 6.18) into typed flows, and
 * encode flows into create/delete requests, format them as `conntrack -L` lines. Runs unchanged on Deno and Bun:
 *   deno run -A bench/codec.ts     bun bench/codec.ts
 * Writes bench/results/codec-<runtime>.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { Bench } from "tinybench";
import {
  encodeFlow,
  type Flow,
  FlowDecoder,
  formatFlow,
  MessageBuilder,
  validateFlow,
  writeNfgenmsg,
} from "../mod.ts";

const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
const hostLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// The corpus: every conntrack message in the captured datagrams.
const datagrams = readFileSync(
  new URL("../test/fixtures/real_dump_flows.hex", import.meta.url),
  "utf8",
)
  .split("\n").filter((l) => l.trim() && !l.startsWith("#"))
  .map((l) => Uint8Array.from(l.trim().match(/../g)!, (h) => parseInt(h, 16)));
const msgs: { dv: DataView; off: number; len: number }[] = [];
for (const d of datagrams) {
  const dv = new DataView(d.buffer);
  for (let off = 0; off + 16 <= d.length;) {
    const len = dv.getUint32(off, hostLE);
    const type = dv.getUint16(off + 4, hostLE);
    if (type >> 8 === 1) msgs.push({ dv, off, len }); // NFNL_SUBSYS_CTNETLINK data messages
    off += (len + 3) & ~3;
  }
}
const dec = new FlowDecoder();
const flows: Flow[] = msgs.map((m) => dec.decode(m.dv, m.off, m.len));
const keys = flows.map((f) => validateFlow(f, "key"));
const creates = flows.map((f) =>
  validateFlow({
    ...f,
    id: undefined,
    use: undefined,
    status: undefined,
    counters: undefined,
    timestamp: undefined,
    synproxy: undefined,
  }, "create")
);
const b = new MessageBuilder(1 << 20);

const bench = new Bench({ time: 1500, warmup: true });
bench
  .add(`decode ${msgs.length} flows`, () => {
    for (const m of msgs) dec.decode(m.dv, m.off, m.len);
  })
  .add(`format ${flows.length} flows (conntrack -L lines)`, () => {
    let n = 0;
    for (const f of flows) n += formatFlow(f).length;
    if (n === 0) throw new Error("nothing formatted");
  })
  .add(`encode ${keys.length} delete requests`, () => {
    b.reset();
    for (const f of keys) {
      const at = b.begin(0x102, 1, 1);
      writeNfgenmsg(b, f.family === "ipv4" ? 2 : 10);
      encodeFlow(b, f, "key");
      b.end(at);
    }
  })
  .add(`validate+encode ${creates.length} create requests`, () => {
    b.reset();
    for (const f0 of creates) {
      const f = validateFlow(f0, "create");
      const at = b.begin(0x100, 0x601, 1);
      writeNfgenmsg(b, f.family === "ipv4" ? 2 : 10);
      encodeFlow(b, f, "create");
      b.end(at);
    }
  });
await bench.run();

const rows = bench.tasks.map((t) => {
  const per = t.name.startsWith("decode") ? msgs.length : keys.length;
  const r = t.result as unknown as { latency?: { mean: number }; period?: number; mean?: number };
  const meanMs = r.latency?.mean ?? r.period ?? r.mean ?? NaN;
  return {
    task: t.name,
    "µs/flow": +(meanMs * 1000 / per).toFixed(3),
    "flows/s": Math.round(per / (meanMs / 1000)),
  };
});
console.log(
  `nfct codec on ${runtime} (${msgs.length} real messages from ${datagrams.length} datagrams)`,
);
console.table(rows);
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL(`./results/codec-${runtime}.json`, import.meta.url),
  JSON.stringify({ date: new Date().toISOString(), runtime, rows }, null, 2) + "\n",
);
