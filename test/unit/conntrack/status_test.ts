/**
 * Conntrack status bits (conntrack/status.ts) against `enum ip_conntrack_status` of
 * linux/netfilter/nf_conntrack_common.h, and the conversions between names and bitmasks.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { STATUS_BITS, statusBits, type StatusFlag, statusFlags } from "../../../mod.ts";
import * as S from "../../../conntrack/status.ts";
import { Rng } from "../../_helpers/rng.ts";

// From linux/netfilter/nf_conntrack_common.h (uapi, Linux 6.x): IPS_<NAME>_BIT and
// IPS_<NAME> = (1 << IPS_<NAME>_BIT); __IPS_MAX_BIT = 16.
const KERNEL: [StatusFlag, number, number][] = [
  ["EXPECTED", 0, 0x0001],
  ["SEEN_REPLY", 1, 0x0002],
  ["ASSURED", 2, 0x0004],
  ["CONFIRMED", 3, 0x0008],
  ["SRC_NAT", 4, 0x0010],
  ["DST_NAT", 5, 0x0020],
  ["SEQ_ADJUST", 6, 0x0040],
  ["SRC_NAT_DONE", 7, 0x0080],
  ["DST_NAT_DONE", 8, 0x0100],
  ["DYING", 9, 0x0200],
  ["FIXED_TIMEOUT", 10, 0x0400],
  ["TEMPLATE", 11, 0x0800],
  ["UNTRACKED", 12, 0x1000],
  ["HELPER", 13, 0x2000],
  ["OFFLOAD", 14, 0x4000],
  ["HW_OFFLOAD", 15, 0x8000],
];
const IPS_MAX_BIT = 16;

test("STATUS_BITS names every bit of enum ip_conntrack_status at its kernel bit number", () => {
  assert.equal(STATUS_BITS.length, IPS_MAX_BIT);
  for (const [name, bit] of KERNEL) assert.equal(STATUS_BITS[bit], name, `bit ${bit}`);
});

test("the IPS_* constants have the kernel's values, and IPS_NAT_MASK is SRC_NAT | DST_NAT", () => {
  const constants = S as unknown as Record<string, number>;
  for (const [name, , value] of KERNEL) {
    assert.equal(constants[`IPS_${name}`], value, `IPS_${name}`);
  }
  assert.equal(S.IPS_NAT_MASK, 0x0030);
});

test("statusBits gives the kernel's value for each flag, and ORs lists", () => {
  for (const [name, , value] of KERNEL) assert.equal(statusBits([name]), value, name);
  assert.equal(statusBits([]), 0);
  // conntrack -I sends ASSURED|CONFIRMED as CTA_STATUS 0x0c (test/fixtures/golden.hex).
  assert.equal(statusBits(["ASSURED", "CONFIRMED"]), 0x0c);
  assert.equal(
    statusBits(["CONFIRMED", "ASSURED", "ASSURED"]),
    0x0c,
    "order and repeats do not matter",
  );
  assert.equal(statusBits([...STATUS_BITS]), 0xffff);
});

test("statusFlags and statusBits are inverse over all 65536 values of the 16 kernel bits", () => {
  for (let v = 0; v < 1 << IPS_MAX_BIT; v++) {
    const flags = statusFlags(v);
    const back = statusBits(flags);
    if (back !== v) {
      assert.fail(`0x${v.toString(16)} -> ${flags.join(",")} -> 0x${back.toString(16)}`);
    }
    // Names come out in bit order, each once.
    for (let i = 1; i < flags.length; i++) {
      if (STATUS_BITS.indexOf(flags[i - 1]) >= STATUS_BITS.indexOf(flags[i])) {
        assert.fail(`0x${v.toString(16)}: ${flags.join(",")} is not in bit order`);
      }
    }
  }
});

test("statusFlags ignores the bits above __IPS_MAX_BIT, whatever the sign of the word", () => {
  assert.deepEqual(statusFlags(1 << 16), []);
  assert.deepEqual(statusFlags(0x80000000), []);
  assert.deepEqual(statusFlags(0xffff0008), ["CONFIRMED"]);
  assert.deepEqual(statusFlags(-1), [...STATUS_BITS]);
  assert.deepEqual(statusFlags(0xffffffff), [...STATUS_BITS]);
});

test("statusBits refuses an unknown name or a non-array with TypeError naming what was wrong", () => {
  for (const bad of ["assured", "BOGUS", "", "ASSURED "]) {
    assert.throws(() => statusBits([bad as StatusFlag]), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(
        (e as Error).message,
        new RegExp(`Invalid status flag "${bad}": expected one of EXPECTED,`),
      );
      return true;
    });
  }
  for (const bad of ["ASSURED", 4, null, undefined, { 0: "ASSURED", length: 1 }]) {
    assert.throws(() => statusBits(bad as never), TypeError, JSON.stringify(bad));
  }
});

test("statusFlags gives each caller its own array, also for a value it has just given", () => {
  const want = STATUS_BITS.filter((_, i) => 0x18a & (1 << i)); // SEEN_REPLY, CONFIRMED, *_NAT_DONE
  assert.equal(want.length, 4);
  const a = statusFlags(0x18a), b = statusFlags(0x18a);
  assert.notEqual(a, b);
  a.push("DYING");
  a[0] = "TEMPLATE";
  assert.deepEqual(statusFlags(0x18a), want);
  assert.deepEqual(b, want);
  // Values that share a slot of its memory, alternating, each come out right.
  for (let i = 0; i < 200; i++) {
    const v = (i * 0x111) & 0xffff;
    assert.equal(statusBits(statusFlags(v)), v);
    assert.equal(statusBits(statusFlags(v ^ 0x10)), v ^ 0x10);
  }
});

test("statusFlags of any number names the low 16 bits of its int32 value; each array is the caller's", () => {
  const values = [-1, -2, 0x7fffffff, 0x80000000, 0x1ffff, 2 ** 40 + 5, 3.7, -3.7, NaN, Infinity];
  const r = new Rng(16);
  for (let i = 0; i < 300; i++) values.push(r.int(0x100000) - 0x80000);
  for (const v of values) {
    const want = STATUS_BITS.filter((_, bit) => (v | 0) & (1 << bit));
    const first = statusFlags(v); // a miss or a hit of its memory: either way its own array
    assert.deepEqual(first, want, `${v}`);
    first.reverse().push("DYING");
    first.length = 0;
    assert.deepEqual(statusFlags(v), want, `${v}, after the caller changed its array`);
  }
});
