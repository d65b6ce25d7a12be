/**
 * The client's verbs against the real kernel, in a throwaway network namespace, checked with
 * conntrack(8) as the oracle where it can answer the same question.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertThrowawayNetns, conntrackCli } from "../_helpers/netns.ts";
import { Conntrack, type Flow, NetlinkError } from "../../mod.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };

function udp(i: number, extra: Partial<Flow> = {}): Flow {
  return {
    family: "ipv4",
    proto: "udp",
    orig: {
      src: `10.1.${(i >> 8) & 255}.${i & 255}`,
      dst: "10.2.0.1",
      sport: 1024 + (i % 60000),
      dport: 53,
    },
    reply: undefined as unknown as Flow["reply"],
    timeout: 600,
    ...extra,
  };
}

function mixed(n: number): Flow[] {
  const out: Flow[] = [];
  for (let i = 0; i < n; i++) {
    const a = i & 255, b = (i >> 8) & 255;
    switch (i % 6) {
      case 0:
        out.push({ ...udp(i), reply: undefined as never });
        break;
      case 1:
        out.push({
          family: "ipv4",
          proto: "tcp",
          timeout: 600,
          tcp: { state: "ESTABLISHED" },
          status: ["ASSURED", "SEEN_REPLY"],
          orig: { src: `10.3.${b}.${a}`, dst: "10.4.0.1", sport: 2000 + (i % 50000), dport: 443 },
        } as Flow);
        break;
      case 2:
        out.push({
          family: "ipv6",
          proto: "tcp",
          timeout: 600,
          tcp: { state: "SYN_SENT" },
          orig: {
            src: `fd00::${b.toString(16)}:${a.toString(16)}`,
            dst: "fd00::ffff",
            sport: 3000,
            dport: 80,
          },
        } as Flow);
        break;
      case 3:
        out.push({
          family: "ipv4",
          proto: "icmp",
          timeout: 30,
          orig: { src: `10.5.${b}.${a}`, dst: "10.6.0.1", type: 8, code: 0, id: i & 0xffff },
        } as Flow);
        break;
      case 4:
        out.push({
          family: "ipv6",
          proto: "icmpv6",
          timeout: 30,
          orig: {
            src: `fd01::${b.toString(16)}:${a.toString(16)}`,
            dst: "fd01::1",
            type: 128,
            code: 0,
            id: i & 0xffff,
          },
        } as Flow);
        break;
      case 5:
        out.push({
          family: "ipv4",
          proto: "sctp",
          timeout: 600,
          mark: i % 4,
          zone: i % 3,
          sctp: { state: "ESTABLISHED" },
          orig: { src: `10.7.${b}.${a}`, dst: "10.8.0.1", sport: 5000, dport: 36412 },
        } as Flow);
        break;
    }
  }
  return out;
}

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

test(
  "flush(filter) deletes only matching flows and, by dump, says how many, like conntrack -D with a filter",
  T,
  () => {
    using ct = Conntrack.open();
    ct.flushAll();
    assert.equal(ct.createMany(mixed(1200)).created, 1200);
    assert.deepEqual(ct.flush({ proto: "icmp" }, { via: "dump" }), { via: "dump", deleted: 200 });
    assert.deepEqual(ct.flush({ family: "ipv6" }, { via: "dump" }), { via: "dump", deleted: 400 });
    // SCTP flows are i = 6k+5 with mark i % 4: 1 and 3 alternate, so half of the 200 have mark 1.
    assert.deepEqual(ct.flush({ mark: { value: 1, mask: 3 } }, { via: "dump" }), {
      via: "dump",
      deleted: 100,
    });
    assert.equal(ct.count(), 500);
    assert.equal(conntrackCli(["-L", "-p", "icmp"]).trim(), "");
    assert.deepEqual(ct.flushAll({ via: "dump" }), { via: "dump", deleted: 500 });
    assert.equal(ct.count(), 0);
  },
);

test("a kernel-side flush reports no count, and the whole-table flush is flushAll()", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  assert.equal(ct.createMany(mixed(600)).created, 600);
  assert.deepEqual(ct.flush({ proto: "icmp" }, { via: "kernel" }), {
    via: "kernel",
    deleted: undefined,
  });
  assert.equal(ct.list({ proto: "icmp" }).length, 0);
  assert.equal(ct.count(), 500);
  for (
    const f of [undefined, null, {}, { reply: {} }, { src: undefined }, {
      reply: { src: undefined },
    }, { reply: null }]
  ) {
    assert.throws(() => ct.flush(f as never), TypeError, JSON.stringify(f));
  }
  assert.equal(ct.count(), 500, "a refused flush deletes nothing");
  assert.deepEqual(ct.flushAll(), { via: "kernel", deleted: undefined });
  assert.equal(ct.count(), 0);
});

test("flush(filter) gives the same result in the kernel and through dump + delete", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  const filters = [
    { proto: "udp" as const },
    { proto: "tcp" as const, dport: 443 },
    { family: "ipv4" as const, reply: { src: "10.8.0.1" } },
    { family: "ipv6" as const },
    { status: ["ASSURED" as const] },
    { mark: { value: 2, mask: 2 } },
    { src: "10.3.0.7" },
  ];
  for (const f of filters) {
    assert.ok(ct.canFlushInKernel(f), `this kernel (6.18) flushes ${JSON.stringify(f)} itself`);
    const left: (number | undefined)[][] = [];
    for (const via of ["kernel", "dump"] as const) {
      ct.flushAll();
      ct.createMany(mixed(1800));
      const r = ct.flush(f, { via });
      assert.equal(r.via, via);
      left.push(ct.list().map((x) => x.orig.sport ?? x.orig.id).sort());
      if (r.via === "dump") {
        assert.equal(r.deleted, 1800 - left[1].length, "the dump path counts what it deleted");
      }
    }
    assert.ok(left[0].length < 1800, `${JSON.stringify(f)} deleted nothing: not a useful check`);
    assert.deepEqual(left[0], left[1], JSON.stringify(f));
  }
  assert.throws(() => ct.flush({ src: "fd00::1" }, { via: "kernel" }), /only userspace can check/);
  assert.throws(
    () => ct.flush({ src: "10.0.0.0/8" }, { via: "kernel" }),
    /only userspace can check/,
  );
  ct.flushAll();
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

test("a filter on the kernel side and in userspace give the same flows", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  ct.createMany(mixed(3000));
  const all = ct.list();
  const filters = [
    { proto: "tcp" as const },
    { proto: "tcp" as const, dport: 443 },
    { src: "10.3.0.7" },
    { reply: { src: "10.8.0.1" } },
    { src: "10.5.0.0/16" },
    { family: "ipv6" as const, proto: "tcp" as const },
    { zone: 2 },
    { status: ["ASSURED" as const] },
    { state: "ESTABLISHED" },
    { mark: { value: 2, mask: 2 } },
  ];
  const { compileFilter } = await_import();
  for (const f of filters) {
    const viaKernel = ct.list(f).map((x) => x.id).sort();
    const cf = compileFilter(f);
    const inUserspace = all.filter((x) => cf.match(x)).map((x) => x.id).sort();
    assert.deepEqual(viaKernel, inUserspace, JSON.stringify(f));
    assert.ok(
      viaKernel.length > 0,
      `filter ${JSON.stringify(f)} matched nothing: not a useful check`,
    );
  }
  // What this kernel filters by itself (no userspace re-check): exact addresses, protocol,
  // TCP/UDP ports, mark/mask and status/mask are all applied in the kernel.
  const kernelExpressible = [
    { proto: "tcp" as const },
    { proto: "tcp" as const, dport: 443 },
    { family: "ipv4" as const, src: "10.3.0.7" },
    { family: "ipv4" as const, reply: { src: "10.8.0.1" } },
    { family: "ipv6" as const, proto: "tcp" as const },
    { status: ["ASSURED" as const] },
    { mark: { value: 2, mask: 2 } },
  ];
  for (const f of kernelExpressible) {
    const raw = Array.from(ct.dump(f, { kernelFilterOnly: true }), (x) => x.id).sort();
    const cf = compileFilter(f);
    assert.deepEqual(
      raw,
      all.filter((x) => cf.match(x)).map((x) => x.id).sort(),
      `kernel-only ${JSON.stringify(f)}`,
    );
    assert.ok(raw.length < all.length);
  }
  ct.flushAll();
});

import * as modAll from "../../mod.ts";
function await_import() {
  return modAll;
}
