/**
 * How a compiled filter matches flows in userspace (conntrack/filter_match.ts): zones, NAT,
 * labels, ICMP fields, GRE keys, netmasks, id and timeout.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compileFilter, type Filter } from "../../../conntrack/filter.ts";
import type { Flow } from "../../../conntrack/flow.ts";
import { flow } from "../../_helpers/filter_cases.ts";

test("origZone, srcNat/dstNat/anyNat and labels match in userspace, as conntrack's --orig-zone, --*-nat and -l do", () => {
  const snat = flow({
    status: ["SRC_NAT", "SRC_NAT_DONE"],
    reply: { src: "10.0.0.2", dst: "192.0.2.9", sport: 53, dport: 61000 },
  });
  const dnat = flow({
    status: ["DST_NAT", "DST_NAT_DONE"],
    reply: { src: "10.88.0.5", dst: "10.0.0.1", sport: 80, dport: 1000 },
  });
  const m = (f: Filter, x: Flow) => compileFilter(f).match(x);
  assert.equal(m({ srcNat: true }, snat), true);
  assert.equal(m({ srcNat: true }, dnat), false);
  assert.equal(m({ srcNat: { addr: "192.0.2.9" } }, snat), true);
  assert.equal(m({ srcNat: { addr: "192.0.2.9", port: 61000 } }, snat), true);
  assert.equal(m({ srcNat: { addr: "192.0.2.9", port: 1 } }, snat), false);
  assert.equal(m({ dstNat: { addr: "10.88.0.5", port: 80 } }, dnat), true);
  assert.equal(m({ anyNat: true }, snat) && m({ anyNat: true }, dnat), true);
  assert.equal(m({ anyNat: true }, flow()), false);
  assert.equal(m({ origZone: 3 }, flow({ orig: { ...flow().orig, zone: 3 } })), true);
  assert.equal(m({ origZone: 3 }, flow({ zone: 3 })), false, "the entry's zone is not the tuple's");
  assert.equal(m({ origZone: 0 }, flow()), true);
  const labelled = flow({ labels: [1, 5] });
  assert.equal(m({ labels: { all: [1, 5] } }, labelled), true);
  assert.equal(m({ labels: { all: [1, 6] } }, labelled), false);
  assert.equal(m({ labels: { any: [6, 5] } }, labelled), true);
  assert.equal(m({ labels: { any: [6] } }, labelled), false);
  assert.equal(compileFilter({ srcNat: true }).kernel.exact, false);
  for (
    const bad of [
      { srcNat: {} },
      { srcNat: false },
      { anyNat: { ip: "1.2.3.4" } },
      { labels: {} },
      { labels: { all: [] } },
      { labels: { all: [1], none: [2] } },
    ]
  ) {
    assert.throws(() => compileFilter(bad as Filter), TypeError, JSON.stringify(bad));
  }
  for (const bad of [{ labels: { any: [128] } }, { dstNat: { port: 70000 } }, { origZone: -1 }]) {
    assert.throws(() => compileFilter(bad as Filter), RangeError, JSON.stringify(bad));
  }
});

const icmp = (over: Partial<Flow> = {}): Flow => ({
  family: "ipv4",
  proto: "icmp",
  orig: { src: "10.0.0.1", dst: "10.0.0.2", type: 8, code: 0, id: 77 },
  reply: { src: "10.0.0.2", dst: "10.0.0.1", type: 0, code: 0, id: 77 },
  ...over,
});
const icmp6 = icmp({
  family: "ipv6",
  proto: "icmpv6",
  orig: { src: "fd00::1", dst: "fd00::2", type: 128, code: 0, id: 5 },
  reply: { src: "fd00::2", dst: "fd00::1", type: 129, code: 0, id: 5 },
});
const gre: Flow = {
  family: "ipv4",
  proto: "gre",
  orig: { src: "10.0.0.1", dst: "10.0.0.2", srcKey: 7, dstKey: 50000 },
  reply: { src: "10.0.0.2", dst: "10.0.0.1", srcKey: 50000, dstKey: 7 },
};

test("icmpType/icmpCode/icmpId and srcKey/dstKey match their tuple's field; a flow without it never matches", () => {
  const rows: [Filter, Flow, boolean][] = [
    [{ icmpType: 8, icmpCode: 0, icmpId: 77 }, icmp(), true],
    [{ reply: { icmpType: 0, icmpId: 77 } }, icmp(), true],
    [{ icmpType: 0 }, icmp(), false], // the original tuple's type is 8
    [{ icmpCode: 3 }, icmp(), false],
    [{ icmpId: 78 }, icmp(), false],
    [{ proto: 1, icmpType: 8 }, icmp(), true],
    [{ proto: "icmpv6", icmpType: 128, reply: { icmpType: 129 } }, icmp6, true],
    [{ icmpType: 8 }, flow(), false], // a UDP flow has no ICMP type
    [{ srcKey: 7, dstKey: 50000, reply: { srcKey: 50000, dstKey: 7 } }, gre, true],
    [{ proto: "gre", srcKey: 50000 }, gre, false],
    [{ reply: { dstKey: 50000 } }, gre, false],
    [{ dstKey: 50000 }, flow(), false], // a UDP flow has no GRE key
  ];
  for (const [f, x, want] of rows) assert.equal(compileFilter(f).match(x), want, JSON.stringify(f));
});

test("an address with a netmask matches addresses equal in every bit of the mask, contiguous or not", () => {
  const rows: [Filter, string, string, boolean][] = [
    // filter, the flow's original source and destination, match
    [{ src: "10.1.0.3/255.255.0.255" }, "10.1.0.3", "10.9.9.9", true],
    [{ src: "10.1.0.3/255.255.0.255" }, "10.1.200.3", "10.9.9.9", true],
    [{ src: "10.1.9.3/255.255.0.255" }, "10.1.0.3", "10.9.9.9", true], // bits outside the mask
    [{ src: "10.1.0.3/255.255.0.255" }, "10.2.0.3", "10.9.9.9", false],
    [{ src: "10.1.0.3/255.255.0.255" }, "10.1.0.4", "10.9.9.9", false],
    [{ src: "10.1.0.3/255.255.255.0" }, "10.1.0.200", "10.9.9.9", true], // contiguous: a prefix
    [{ src: "10.0.0.0/0.0.0.0" }, "192.0.2.1", "10.9.9.9", true], // every address of the family
    [{ src: "::/::" }, "10.0.0.1", "10.9.9.9", false], // never one of the other family
    [{ src: "fd00::1/ffff:ffff::ffff" }, "fd00:0:1:2:3:4:5:1", "fd00::9", true],
    [{ src: "fd00::1/ffff:ffff::ffff" }, "fd00:1::1", "fd00::9", false],
    [{ src: "fd00::1/ffff:ffff::ffff" }, "fd00::2", "fd00::9", false],
    [{ reply: { dst: "10.1.0.3/255.255.0.255" } }, "10.9.9.9", "10.1.5.3", false],
    [{ reply: { src: "10.1.0.3/255.255.0.255" } }, "10.9.9.9", "10.1.5.3", true],
  ];
  for (const [f, src, dst, want] of rows) {
    const x = flow({
      family: src.includes(":") ? "ipv6" : "ipv4",
      orig: { src, dst, sport: 1000, dport: 53 },
      reply: { src: dst, dst: src, sport: 53, dport: 1000 },
    });
    assert.equal(compileFilter(f).match(x), want, `${JSON.stringify(f)} ${src} ${dst}`);
  }
});

test("id is the entry's id; timeout the seconds left, exactly or within { min, max } (inclusive)", () => {
  const rows: [Filter, Partial<Flow>, boolean][] = [
    [{ id: 5 }, { id: 5 }, true],
    [{ id: 5 }, { id: 6 }, false],
    [{ id: 0 }, {}, false], // a flow without an id
    [{ id: 0xffffffff }, { id: 0xffffffff }, true],
    [{ timeout: 30 }, { timeout: 30 }, true],
    [{ timeout: 30 }, { timeout: 29 }, false],
    [{ timeout: { min: 10 } }, { timeout: 10 }, true],
    [{ timeout: { min: 10 } }, { timeout: 9 }, false],
    [{ timeout: { min: 10 } }, { timeout: 0xffffffff }, true],
    [{ timeout: { max: 10 } }, { timeout: 0 }, true],
    [{ timeout: { max: 10 } }, { timeout: 11 }, false],
    [{ timeout: { min: 10, max: 20 } }, { timeout: 20 }, true],
    [{ timeout: { min: 10, max: 20 } }, { timeout: 21 }, false],
    [{ timeout: { min: 0 } }, {}, false], // a flow without a timeout
  ];
  for (const [f, over, want] of rows) {
    assert.equal(
      compileFilter(f).match(flow(over)),
      want,
      `${JSON.stringify(f)} ${JSON.stringify(over)}`,
    );
  }
});
