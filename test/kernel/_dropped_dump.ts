// Child of readahead_test.ts: fills 30000 flows, takes 2000 from a read-ahead dump (its worker
// is running by then, and soon has a full ring) and drops the generator without finishing it; with "close" the client is closed, with "leave" it is not.
// Prints "dropped" and ends: the process must exit by itself.
import process from "node:process";
import { assertThrowawayNetns, Conntrack } from "../../mod.ts";
assertThrowawayNetns("fill and flush a test table (child of readahead_test.ts)");
const ct = Conntrack.open();
ct.flushAll();
ct.createMany(Array.from({ length: 30000 }, (_, i) => ({
  family: "ipv4",
  proto: "udp",
  orig: { src: `10.50.${i >> 8}.${i & 255}`, dst: "10.51.0.1", sport: 1000, dport: 53 },
  timeout: 100,
} as const)));
const it = ct.dump(undefined, { readAhead: true });
for (let i = 0; i < 2000; i++) it.next();
if (process.argv[2] === "close") ct.close();
console.log("dropped");
