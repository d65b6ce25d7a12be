/**
 * The client's verbs (create, get, update, delete, deleteMany, stats, dumps) against the real
 * kernel, in a throwaway network namespace, checked with conntrack(8) as the oracle where it can
 * answer the same question. Flush: flush_test.ts; filters: filter_test.ts.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Conntrack, NetlinkError } from "../../mod.ts";
import { mixed, udp } from "../_helpers/client_flows.ts";
import { assertThrowawayNetns, conntrackCli } from "../_helpers/netns.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };

test("createMany fills the table and count() agrees with conntrack -C", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  const flows = mixed(6000);
  const r = ct.createMany(flows);
  assert.equal(r.failed.length, 0, r.failed[0]?.error.message);
  assert.equal(r.created, 6000);
  assert.equal(ct.count(), 6000);
  assert.equal(Number(conntrackCli(["-C"]).trim()), 6000);
  assert.equal(ct.list().length, 6000);
  const byProto = new Map<string, number>();
  for (const f of ct.dump()) {
    byProto.set(`${f.family}/${f.proto}`, (byProto.get(`${f.family}/${f.proto}`) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries([...byProto].sort()), {
    "ipv4/icmp": 1000,
    "ipv4/sctp": 1000,
    "ipv4/tcp": 1000,
    "ipv4/udp": 1000,
    "ipv6/icmpv6": 1000,
    "ipv6/tcp": 1000,
  });
  ct.flushAll();
  assert.equal(ct.count(), 0);
});

test("create of an existing flow fails with EEXIST, like conntrack -I", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  ct.create(udp(1));
  assert.throws(
    () => ct.create(udp(1)),
    (e: unknown) =>
      e instanceof NetlinkError && e.code === "EEXIST" &&
      /Cannot create flow: EEXIST/.test(e.message),
  );
  ct.flushAll();
});

test("get returns the flow with its reply tuple inverted, and undefined when absent", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  ct.create({ ...udp(2), mark: 42 });
  const f = ct.get({ proto: "udp", orig: udp(2).orig });
  assert.ok(f);
  assert.equal(f.mark, 42);
  assert.deepEqual(f.reply, { src: "10.2.0.1", dst: "10.1.0.2", sport: 53, dport: 1026 });
  assert.deepEqual(f.status, ["CONFIRMED"]);
  assert.ok(f.timeout! > 590 && f.timeout! <= 600);
  assert.equal(ct.get({ proto: "udp", orig: udp(3).orig }), undefined);
  // conntrack -G sees the same entry
  const line = conntrackCli([
    "-G",
    "-p",
    "udp",
    "-s",
    "10.1.0.2",
    "-d",
    "10.2.0.1",
    "--sport",
    "1026",
    "--dport",
    "53",
  ]);
  assert.match(line, /src=10\.1\.0\.2 dst=10\.2\.0\.1 sport=1026 dport=53 .*mark=42/);
  ct.flushAll();
});

test("update changes mark and timeout, and fails with ENOENT on a missing flow", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  ct.create(udp(4));
  ct.update({ proto: "udp", orig: udp(4).orig, mark: 0xbeef, timeout: 1234 });
  const f = ct.get({ proto: "udp", orig: udp(4).orig })!;
  assert.equal(f.mark, 0xbeef);
  assert.ok(f.timeout! > 1200 && f.timeout! <= 1234);
  assert.match(conntrackCli(["-L", "-p", "udp", "--sport", "1028"]), /mark=48879/);
  assert.throws(
    () => ct.update({ proto: "udp", orig: udp(5).orig, mark: 1 }),
    (e: unknown) => e instanceof NetlinkError && e.code === "ENOENT",
  );
  ct.flushAll();
});

test("delete removes one flow and fails with ENOENT when it is gone, like conntrack -D", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  ct.create(udp(6));
  ct.create(udp(7));
  ct.delete({ proto: "udp", orig: udp(6).orig });
  assert.equal(ct.count(), 1);
  assert.throws(
    () => ct.delete({ proto: "udp", orig: udp(6).orig }),
    (e: unknown) => e instanceof NetlinkError && e.code === "ENOENT" && e.errno === 2,
  );
  ct.flushAll();
});

test("delete guarded by an id only deletes the entry that still has that id", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  ct.create(udp(8));
  const f = ct.get({ proto: "udp", orig: udp(8).orig })!;
  // The kernel's id is a hash of the entry's address and tuple: another id means another entry.
  const other = { ...f, id: (f.id! + 1) >>> 0 };
  assert.throws(
    () => ct.delete(other),
    (e: unknown) => e instanceof NetlinkError && e.code === "ENOENT",
  );
  assert.equal(ct.count(), 1);
  ct.delete(f);
  assert.equal(ct.count(), 0);
});

test("deleteMany accounts for every flow: deleted + missing equals the number asked", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  const flows = Array.from({ length: 3000 }, (_, i) => udp(i));
  assert.equal(ct.createMany(flows).created, 3000);
  const listed = ct.list();
  ct.deleteMany(listed.slice(0, 1000));
  const r = ct.deleteMany(listed);
  assert.equal(r.deleted, 2000);
  assert.equal(r.missing, 1000);
  assert.equal(r.failed.length, 0);
  assert.equal(ct.count(), 0);
});

test("stats() reports one entry per CPU, as conntrack -S does", T, () => {
  using ct = Conntrack.open();
  const s = ct.stats();
  const lines = conntrackCli(["-S"]).trim().split("\n");
  assert.equal(s.length, lines.length);
  s.forEach((c, i) => assert.match(lines[i], new RegExp(`^cpu=${c.cpu}\\s`)));
  const g = ct.globalStats();
  assert.ok(g.maxEntries > 0);
});

test("breaking out of a dump abandons it cleanly and the next request works", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  ct.createMany(Array.from({ length: 2000 }, (_, i) => udp(i)));
  let n = 0;
  for (const _ of ct.dump()) if (++n === 10) break;
  assert.equal(n, 10);
  assert.equal(ct.count(), 2000);
  assert.equal(ct.list().length, 2000);
  ct.flushAll();
});

test("deleting inside a dump loop works (requests go to a second socket)", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  ct.createMany(Array.from({ length: 1500 }, (_, i) => udp(i)));
  let deleted = 0;
  for (const f of ct.dump({ proto: "udp" })) {
    if (f.orig.sport! % 2 === 0) {
      ct.delete(f);
      deleted++;
    }
  }
  assert.equal(deleted, 750);
  assert.equal(ct.count(), 750);
  ct.flushAll();
});

test("deleteMany over a lazy dump of the same client works (the dump keeps its socket)", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  ct.createMany(Array.from({ length: 5000 }, (_, i) => udp(i)));
  function* odd() {
    for (const f of ct.dump({ proto: "udp" })) if (f.orig.sport! % 2 === 1) yield f;
  }
  const r = ct.deleteMany(odd());
  assert.deepEqual(r, { deleted: 2500, missing: 0, failed: [] });
  assert.equal(ct.count(), 2500);
  ct.flushAll();
});

test("bad input is refused before anything is sent", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  const o = udp(9).orig;
  assert.throws(
    () => ct.create({ proto: "udp", orig: { ...o, src: "10.1.0.300" }, timeout: 1 }),
    TypeError,
  );
  assert.throws(
    () => ct.create({ proto: "udp", orig: { ...o, sport: 70000 }, timeout: 1 }),
    RangeError,
  );
  assert.throws(
    () => ct.create({ proto: "udp", orig: { ...o, dst: "fd00::1" }, timeout: 1 }),
    /is not an IPv4 address|IPv4/,
  );
  assert.throws(() => ct.create({ proto: "udp", orig: o }), /timeout is required/);
  assert.throws(() => ct.create({ proto: "bogus" as never, orig: o, timeout: 1 }), TypeError);
  assert.throws(() => ct.list({ dport: -1 }), RangeError);
  assert.throws(() => ct.list({ src: "10.0.0.1", dst: "fd00::1" }), TypeError);
  assert.throws(() => ct.list({ nope: 1 } as never), /unknown key "nope"/);
  assert.equal(ct.count(), 0);
});
