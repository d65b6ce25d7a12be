// Child of flush_proofs_test.ts: fills 300 UDP and 200 TCP flows, deletes the UDP ones with
// flush({ proto: "udp" }) and prints `{ via, deleted, left }` as JSON.
import { assertThrowawayNetns, Conntrack } from "../../mod.ts";
assertThrowawayNetns("fill and flush a test table (child of flush_proofs_test.ts)");
using ct = Conntrack.open();
ct.flushAll();
const flows = Array.from({ length: 500 }, (_, i) => {
  const orig = { src: `10.40.${i >> 8}.${i & 255}`, dst: "10.41.0.1", sport: 1000 + i, dport: 53 };
  return i < 300
    ? { family: "ipv4", proto: "udp", orig, timeout: 100 } as const
    : { family: "ipv4", proto: "tcp", orig, timeout: 100, tcp: { state: "ESTABLISHED" } } as const;
});
if (ct.createMany(flows).created !== 500) throw new Error("could not fill the table");
const r = ct.flush({ proto: "udp" });
console.log(
  JSON.stringify({ via: r.via, deleted: r.deleted ?? null, left: ct.list().map((f) => f.proto) }),
);
ct.flushAll();
