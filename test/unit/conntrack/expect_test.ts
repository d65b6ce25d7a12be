/**
 * The expectation codec: the kernel's own expectNew message (test/fixtures/events.hex, captured
 * from the real kernel) decoded, and the same expectation encoded back to the same attribute
 * bytes; validation; flags; NAT and stats.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as C from "../../../conntrack/constants.ts";
import { type Expectation, expectFlagBits, expectFlags } from "../../../conntrack/expect.ts";
import { decodeExpect } from "../../../conntrack/expect_decode.ts";
import { encodeExpect } from "../../../conntrack/expect_encode.ts";
import { compileExpectFilter } from "../../../conntrack/expect_requests.ts";
import { validateExpect } from "../../../conntrack/expect_validate.ts";
import { writeNfgenmsg } from "../../../conntrack/nfnl.ts";
import { decodeExpectCpuStats } from "../../../conntrack/stats.ts";
import { MessageBuilder } from "../../../netlink/attribute.ts";
import { EVENTS, FTP_EXPECTATION } from "../../_helpers/event_fixtures.ts";
import { view } from "../../_helpers/golden.ts";
import { toHex } from "../../_helpers/hex.ts";

const EXP_NEW = EVENTS[1];
const FTP = FTP_EXPECTATION;

function encode(e: Expectation, purpose: "create" | "key"): Uint8Array {
  const b = new MessageBuilder();
  const at = b.begin((C.NFNL_SUBSYS_CTNETLINK_EXP << 8) | C.IPCTNL_MSG_EXP_NEW, 0, 0);
  writeNfgenmsg(b, C.AF_INET);
  encodeExpect(b, validateExpect(e, purpose), purpose);
  b.end(at);
  return b.bytes().slice();
}

test("decodeExpect() reads the kernel's expectation message", () => {
  assert.deepEqual(decodeExpect(view(EXP_NEW), 0, EXP_NEW.length), FTP);
});

test("encodeExpect() writes the tuple, mask and master exactly as the kernel does", () => {
  const mine = encode(FTP, "create");
  // Attributes 20..20+3*52: CTA_EXPECT_TUPLE, CTA_EXPECT_MASK, CTA_EXPECT_MASTER in the kernel's
  // order; nfct writes TUPLE, MASK, MASTER first too.
  assert.equal(toHex(mine.subarray(20, 20 + 156)), toHex(EXP_NEW.subarray(20, 20 + 156)));
  // And everything round-trips (the id is not sent on create; the kernel picks it).
  const back = decodeExpect(view(mine), 0, mine.length);
  const { id: _id, ...rest } = FTP;
  assert.deepEqual(back, rest);
});

test("encodeExpect() for a key writes only the tuple, zone and id", () => {
  const key = encode({ ...FTP, zone: 3 } as Expectation, "key");
  // nlmsghdr 16 + nfgenmsg 4 + CTA_EXPECT_TUPLE 52 + CTA_EXPECT_ZONE (len 6, padded to 8) + CTA_EXPECT_ID 8
  assert.equal(key.length, 16 + 4 + 52 + 8 + 8);
  assert.equal(toHex(key.subarray(20, 72)), toHex(EXP_NEW.subarray(20, 72)));
  assert.equal(toHex(key.subarray(72)), "06000700" + "00030000" + "08000500" + "32c32d83");
});

test("an expectation with flags, class, NAT, fn and zone round-trips", () => {
  const e: Expectation = {
    ...FTP,
    flags: ["PERMANENT", "INACTIVE"],
    class: 1,
    zone: 9,
    fn: "nat-follow-master",
    nat: { dir: "reply", tuple: { src: "192.0.2.7", dst: "0.0.0.0", sport: 2121, dport: 0 } },
  };
  delete (e as Partial<Expectation>).id;
  const bytes = encode(e, "create");
  assert.deepEqual(decodeExpect(view(bytes), 0, bytes.length), e);
});

test("the default mask on create matches every field exactly", () => {
  const { mask: _m, ...noMask } = FTP;
  const v = validateExpect(noMask, "create");
  assert.deepEqual(v.mask, {
    src: "255.255.255.255",
    dst: "255.255.255.255",
    sport: 65535,
    dport: 65535,
  });
  const v6 = validateExpect({
    ...noMask,
    family: "ipv6",
    tuple: { src: "fd00::2", dst: "fd00::1", sport: 0, dport: 5 },
    master: { src: "fd00::1", dst: "fd00::2", sport: 1, dport: 21, proto: "tcp" },
  }, "create");
  assert.equal(v6.mask.src, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
});

test("validateExpect() refuses what the kernel would", () => {
  const cases: [Partial<Expectation>, RegExp][] = [
    [{ ...FTP, master: undefined }, /master/],
    [{ ...FTP, timeout: undefined }, /timeout is required/],
    [{ ...FTP, proto: undefined as never }, /proto is missing/],
    [{ ...FTP, tuple: { src: "10.0.0.1", dst: "fd00::1", sport: 1, dport: 2 } }, /dst/],
    [{ ...FTP, flags: ["BOGUS" as never] }, /flag "BOGUS"/],
    [{ ...FTP, zone: 70000 }, /zone/],
    [{ ...FTP, nat: { dir: "sideways" as never, tuple: FTP.tuple } }, /nat.dir/],
  ];
  for (const [e, re] of cases) assert.throws(() => validateExpect(e, "create"), re);
});

test("expectation flags map both ways and keep unknown bits", () => {
  assert.deepEqual(expectFlags(5), ["PERMANENT", "USERSPACE"]);
  assert.equal(expectFlagBits(["PERMANENT", "USERSPACE"]), 5);
  assert.deepEqual(expectFlags(1 << 9), ["BIT_9" as never]);
  assert.equal(expectFlagBits(["BIT_9" as never]), 1 << 9);
});

test("decodeExpectCpuStats() reads the CPU from res_id and the three counters", () => {
  const b = new MessageBuilder();
  const at = b.begin((C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_EXP_GET_STATS_CPU, 2, 1);
  writeNfgenmsg(b, C.AF_UNSPEC, 0, 3);
  b.u32(C.CTA_STATS_EXP_NEW, 4);
  b.u32(C.CTA_STATS_EXP_CREATE, 5);
  b.u32(C.CTA_STATS_EXP_DELETE, 6);
  b.end(at);
  assert.deepEqual(decodeExpectCpuStats(b.dv, 0, b.length), {
    cpu: 3,
    new: 4,
    create: 5,
    delete: 6,
  });
});

test("compileExpectFilter() matches on the expected tuple, protocol and helper", () => {
  assert.equal(compileExpectFilter({ dport: 50000 })(FTP), true);
  assert.equal(compileExpectFilter({ dport: 21 })(FTP), false);
  assert.equal(compileExpectFilter({ src: "10.9.0.0/24", proto: "tcp" })(FTP), true);
  assert.equal(compileExpectFilter({ helper: "sip" })(FTP), false);
  assert.equal(compileExpectFilter({ family: "ipv6" })(FTP), false);
  assert.throws(() => compileExpectFilter({ master: {} as never }), TypeError);
});

test("decodeExpect() refuses a message without its tuples", () => {
  const b = new MessageBuilder();
  const at = b.begin((C.NFNL_SUBSYS_CTNETLINK_EXP << 8) | C.IPCTNL_MSG_EXP_NEW, 0, 0);
  writeNfgenmsg(b, C.AF_INET);
  b.u32(C.CTA_EXPECT_TIMEOUT, 1);
  b.end(at);
  assert.throws(() => decodeExpect(b.dv, 0, b.length), RangeError);
  assert.throws(() => decodeExpect(view(EXP_NEW), 0, 10), RangeError);
});
