/**
 * flush(filter) against the real kernel, in a throwaway network namespace: in the kernel or by
 * dump + delete, the same flows go, as conntrack -D with a filter deletes them.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Conntrack } from "../../mod.ts";
import { mixed } from "../_helpers/client_flows.ts";
import { assertThrowawayNetns, conntrackCli } from "../_helpers/netns.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };

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
