/**
 * Child process of concurrent_test.ts: deletes every flow whose index (sport - 1024 + 50000 *
 * (dport - 1)) is in a seeded random half, in small batches, after printing "go".
 */
import process from "node:process";
import { assertThrowawayNetns, Conntrack } from "../../mod.ts";
assertThrowawayNetns("delete test entries (child of concurrent_test.ts)");

const n = Number(process.argv[2]);
let seed = Number(process.argv[3]) >>> 0;
const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
using ct = Conntrack.open();
const pick: number[] = [];
for (let i = 0; i < n; i++) if (rnd() < 0.5) pick.push(i);
process.stdout.write(`go ${pick.length}\n`);
let deleted = 0, missing = 0;
for (let k = 0; k < pick.length; k += 500) {
  const r = ct.deleteMany(
    pick.slice(k, k + 500).map((i) => ({
      proto: "udp" as const,
      orig: {
        src: "10.9.0.1",
        dst: "10.9.0.2",
        sport: 1024 + (i % 50000),
        dport: 1 + Math.floor(i / 50000),
      },
    })),
  );
  deleted += r.deleted;
  missing += r.missing;
  if (r.failed.length) throw r.failed[0].error;
}
process.stdout.write(`done ${deleted} ${missing}\n`);
