// Child of readahead_test.ts, run by Deno with --allow-ffi only: fills 5000 flows, deletes them
// by CIDR (the dump path, which asks for a read-ahead worker) and prints how many it deleted.
import { assertThrowawayNetns, Conntrack } from "../../mod.ts";
assertThrowawayNetns("fill and flush a test table (child of readahead_test.ts)");
using ct = Conntrack.open();
ct.flushAll();
ct.createMany(Array.from({ length: 5000 }, (_, i) => ({
  family: "ipv4",
  proto: "udp",
  orig: { src: `10.30.${i >> 8}.${i & 255}`, dst: "10.31.0.1", sport: 1000, dport: 53 },
  timeout: 100,
} as const)));
console.log(ct.flush({ dst: "10.31.0.0/16" }, { via: "dump" }).deleted);
