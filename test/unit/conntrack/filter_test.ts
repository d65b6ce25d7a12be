/**
 * compileFilter(): what it refuses, what it asks the kernel for, and how it matches.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as C from "../../../conntrack/constants.ts";
import { compileFilter, type Filter, type Filters } from "../../../conntrack/filter.ts";
import type { Flow } from "../../../conntrack/flow.ts";
import { AttributeReader, MessageBuilder } from "../../../netlink/attribute.ts";

const flow = (over: Partial<Flow> = {}): Flow => ({
  family: "ipv4",
  proto: "udp",
  orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 53 },
  reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 53, dport: 1000 },
  ...over,
});

/** The attribute types (top level, and inside CTA_TUPLE_ORIG/REPLY > CTA_TUPLE_IP) a dump of `family` sends. */
function sent(filter: Filters, family: number): { top: number[]; ip: number[] } {
  const b = new MessageBuilder();
  compileFilter(filter).encode(b, family);
  const dv = new DataView(b.buf.buffer, 0, b.length);
  const top: number[] = [], ip: number[] = [];
  const r = new AttributeReader().reset(dv, 0, b.length);
  const t = new AttributeReader(), i = new AttributeReader();
  while (r.next()) {
    top.push(r.type);
    if (r.type !== C.CTA_TUPLE_ORIG && r.type !== C.CTA_TUPLE_REPLY) continue;
    t.enter(r, "tuple");
    while (t.next()) {
      if (t.type !== C.CTA_TUPLE_IP) continue;
      i.enter(t, "ip");
      while (i.next()) ip.push(i.type);
    }
  }
  return { top, ip };
}

test("a key that is present must constrain: undefined, null, empty reply, empty status, zero mask are refused", () => {
  const refused: [unknown, RegExp][] = [
    [null, /expected an object, got null/],
    [[], /empty list of filters/],
    [{ src: undefined }, /"src" is undefined/],
    [{ family: "ipv4", reply: { src: undefined } }, /"reply.src" is undefined/],
    [{ reply: null }, /"reply" is null/],
    [{ reply: {} }, /"reply" is empty/],
    [{ mrak: 1 }, /unknown key "mrak"/],
    [{ reply: { sport: 1, zonee: 2 } }, /unknown key "reply.zonee"/],
    [{ status: [] }, /empty list matches every flow/],
    [{ status: { value: [], mask: [] } }, /empty mask/],
    [
      { status: { value: ["ASSURED"], mask: ["SEEN_REPLY"] } },
      /value has flags that are not in mask/,
    ],
    [{ mark: { value: 1 } }, /mark.mask/],
    [{ src: 10 }, /expected an address or CIDR string/],
    [{ sport: "53" }, /expected an integer/],
    [{ proto: {} }, /expected a name or a number/],
    [{ state: "ESTABLISHEDX" }, /Invalid filter state/],
    [{ family: "ipv4", src: "fd00::1" }, /is ipv6 but the filter is ipv4/],
    [{ proto: "icmp", dport: 1 }, /has no ports/],
    [[{ proto: "udp" }, {}], /filter\[1\].*no condition/],
    [[{ proto: "udp" }, { src: undefined }], /filter\[1\]: .*"src" is undefined/],
  ];
  for (const [f, re] of refused) {
    assert.throws(
      () => compileFilter(f as Filters),
      (e: unknown) => e instanceof TypeError && re.test(e.message),
      JSON.stringify(f),
    );
  }
  for (
    const [f, re] of [
      [{ sport: 70000 }, /0..65535/],
      [{ mark: -1 }, /0..4294967295/],
      [{ zone: 1.5 }, /0..65535/],
      [{ mark: { value: 1, mask: 0 } }, /mask 0 matches every flow/],
    ] as const
  ) {
    assert.throws(
      () => compileFilter(f as Filter),
      (e: unknown) => e instanceof RangeError && re.test(e.message),
      JSON.stringify(f),
    );
  }
  assert.equal(compileFilter().empty, true);
  assert.equal(
    compileFilter({}).empty,
    true,
    "an empty filter is every flow (a dump may ask for that; a flush may not)",
  );
});

test("exact IPv6 addresses never reach the kernel's CTA_FILTER; exact IPv4 ones do", () => {
  const v6 = sent(
    { family: "ipv6", src: "fd00::1", reply: { dst: "fd00::2" }, proto: "udp" },
    C.AF_INET6,
  );
  assert.deepEqual(v6.ip, [], "no CTA_IP_V6_* attribute is sent");
  assert.ok(v6.top.includes(C.CTA_FILTER), "the protocol still goes to the kernel");
  const v4 = sent({ src: "10.0.0.1", reply: { dst: "10.0.0.2" } }, C.AF_INET);
  assert.deepEqual(v4.ip, [C.CTA_IP_V4_SRC, C.CTA_IP_V4_DST]);
  assert.equal(
    compileFilter({ src: "fd00::1" }).kernel.exact,
    false,
    "a flush by an IPv6 address goes through a dump",
  );
  assert.equal(compileFilter({ src: "10.0.0.1" }).kernel.exact, true);
  assert.equal(compileFilter({ src: "10.0.0.0/8" }).kernel.exact, false);
  assert.equal(
    compileFilter({ proto: "sctp", dport: 1 }).kernel.exact,
    false,
    "the kernel compares ports for TCP and UDP only",
  );
});

test("a zone with a reply-direction tuple zone does not send both (EINVAL on 6.18)", () => {
  const both = sent({ zone: 4, reply: { zone: 3 } }, C.AF_INET);
  assert.ok(both.top.includes(C.CTA_ZONE));
  assert.ok(!both.top.includes(C.CTA_FILTER), "the reply zone is matched in userspace");
  const m = compileFilter({ zone: 4, reply: { zone: 3 } });
  assert.equal(m.match(flow({ zone: 4, reply: { ...flow().reply, zone: 3 } })), true);
  assert.equal(m.match(flow({ zone: 4 })), false);
});

test("an any-of list matches a flow any of its filters matches, in one dump with no kernel filter", () => {
  const cf = compileFilter([{ reply: { src: "10.88.0.5" } }, { reply: { dst: "10.88.0.5" } }, {
    proto: "udp",
    dport: 8080,
  }]);
  assert.deepEqual(cf.families, [0]);
  assert.deepEqual(sent([{ proto: "udp" }, { proto: "tcp" }], 0).top, []);
  assert.equal(
    cf.match(flow({ reply: { src: "10.88.0.5", dst: "10.0.0.1", sport: 53, dport: 1000 } })),
    true,
  );
  assert.equal(
    cf.match(flow({ orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 8080 } })),
    true,
  );
  assert.equal(cf.match(flow()), false);
  assert.deepEqual(compileFilter([{ family: "ipv6" }, { family: "ipv6", proto: "udp" }]).families, [
    C.AF_INET6,
  ]);
  assert.equal(compileFilter([{ proto: "udp" }]).anyOf, undefined, "a list of one is that filter");
});

test("not: flows that do not match the inner filter (or none of a list), besides the other conditions", () => {
  const cf = compileFilter({ proto: "udp", not: { reply: { src: "10.0.0.0/8" } } });
  assert.equal(cf.match(flow()), false, "reply source 10.0.0.2 is in 10/8");
  assert.equal(
    cf.match(flow({ reply: { src: "192.0.2.1", dst: "10.0.0.1", sport: 53, dport: 1000 } })),
    true,
  );
  assert.equal(
    cf.match(
      flow({ proto: "tcp", reply: { src: "192.0.2.1", dst: "10.0.0.1", sport: 53, dport: 1000 } }),
    ),
    false,
  );
  assert.equal(cf.kernel.exact, false, "a negation is never flushed in the kernel");
  const none = compileFilter({ not: [{ dport: 53 }, { dport: 80 }] });
  assert.equal(none.match(flow()), false);
  assert.equal(
    none.match(flow({ orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 443 } })),
    true,
  );
  for (
    const bad of [{ not: {} }, { not: undefined }, { not: null }, { not: [] }, {
      not: { srcc: "1.2.3.4" },
    }]
  ) {
    assert.throws(() => compileFilter(bad as Filter), TypeError, JSON.stringify(bad));
  }
});

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

/** The request bytes a dump of `family` carries for `filter`. */
function bytes(filter: Filters, family: number): Uint8Array {
  const b = new MessageBuilder();
  compileFilter(filter).encode(b, family);
  return b.buf.slice(0, b.length);
}

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

test("the newer keys are refused with the wrong protocol, out of range, empty, unset or unknown", () => {
  const typeErrors: [unknown, RegExp][] = [
    [{ proto: "tcp", icmpType: 8 }, /protocol tcp has no ICMP type/],
    [{ proto: 17, reply: { icmpCode: 0 } }, /protocol 17 has no ICMP type/],
    [{ proto: "gre", icmpId: 1 }, /protocol gre has no ICMP/],
    [{ proto: "udp", srcKey: 1 }, /protocol udp has no GRE keys/],
    [{ proto: "icmpv6", reply: { dstKey: 1 } }, /protocol icmpv6 has no GRE keys/],
    [{ proto: "icmp", sport: 1, icmpType: 8 }, /has no ports/],
    [{ not: { proto: "tcp", icmpId: 1 } }, /^not: .*no ICMP/],
    [{ icmpType: "8" }, /icmpType: expected an integer/],
    [{ id: "1" }, /id: expected an integer/],
    [{ timeout: "5" }, /expected seconds or \{ min, max \}/],
    [{ timeout: [] }, /expected seconds or \{ min, max \}/],
    [{ timeout: {} }, /"timeout" is empty/],
    [{ timeout: { min: "1" } }, /timeout.min: expected an integer/],
    [{ src: "10.0.0.1/ffff::" }, /netmask "ffff::": not an IPv4 address/],
    [{ reply: { dst: "fd00::1/255.255.0.0" } }, /netmask "255.255.0.0": not an IPv6 address/],
    [{ family: "ipv4", src: "fd00::1/ffff::" }, /is ipv6 but the filter is ipv4/],
    [{ src: "10.0.0.1/255.255.0.256" }, /not an IPv4 address/],
    [{ icmpType: null }, /"icmpType" is null/],
    [{ reply: { srcKey: undefined } }, /"reply.srcKey" is undefined/],
    [{ id: null }, /"id" is null/],
    [{ timeout: undefined }, /"timeout" is undefined/],
    [{ timeout: { min: null } }, /"timeout.min" is null/],
    [{ timeout: { min: undefined, max: 5 } }, /"timeout.min" is undefined/],
    [{ srcNat: { addr: undefined, port: 80 } }, /"srcNat.addr" is undefined/],
    [{ anyNat: { port: null } }, /"anyNat.port" is null/],
    [{ labels: { all: undefined, any: [1] } }, /"labels.all" is undefined/],
    [{ timeout: { minn: 1 } }, /unknown key "timeout.minn"/],
    [{ reply: { icmpTyp: 1 } }, /unknown key "reply.icmpTyp"/],
    [{ dstNat: { addr: "10.0.0.1", prt: 1 } }, /unknown key "dstNat.prt"/],
    [{ labels: { any: [1], nay: [2] } }, /unknown key "labels.nay"/],
  ];
  for (const [f, re] of typeErrors) {
    assert.throws(
      () => compileFilter(f as Filter),
      (e: unknown) => e instanceof TypeError && re.test(e.message),
      JSON.stringify(f) ?? String(f),
    );
  }
  const rangeErrors: [unknown, RegExp][] = [
    [{ icmpType: 256 }, /icmpType 256: must be an integer 0..255/],
    [{ reply: { icmpCode: -1 } }, /reply.icmpCode -1/],
    [{ icmpId: 65536 }, /0..65535/],
    [{ srcKey: 2 ** 32 }, /0..4294967295/],
    [{ reply: { dstKey: 1.5 } }, /0..4294967295/],
    [{ id: -1 }, /id -1/],
    [{ id: 2 ** 32 }, /0..4294967295/],
    [{ id: NaN }, /id NaN/],
    [{ timeout: -1 }, /timeout -1/],
    [{ timeout: { max: 2 ** 32 } }, /timeout.max/],
    [{ timeout: { min: 5, max: 1 } }, /min 5 is above max 1/],
    [{ src: "10.0.0.1/33" }, /prefix length must be 0..32/],
  ];
  for (const [f, re] of rangeErrors) {
    assert.throws(
      () => compileFilter(f as Filter),
      (e: unknown) => e instanceof RangeError && re.test(e.message),
      JSON.stringify(f),
    );
  }
});

test("ICMP fields, GRE keys, netmasks, id, timeout, NAT and labels never reach the kernel", () => {
  // Each filter, and the same without the userspace-only condition: the same request bytes.
  const pairs: [Filter, Filter][] = [
    [{ icmpType: 8 }, {}],
    [{ proto: "icmp", icmpType: 8, icmpCode: 0, reply: { icmpId: 7 } }, { proto: "icmp" }],
    [{ proto: "gre", srcKey: 1, reply: { dstKey: 2 } }, { proto: "gre" }],
    [{ srcKey: 1, dst: "10.0.0.2" }, { dst: "10.0.0.2" }],
    [{ src: "10.1.0.3/255.255.0.255" }, { family: "ipv4" }],
    [{ proto: "tcp", reply: { dst: "10.1.0.3/255.255.255.0" } }, { proto: "tcp", family: "ipv4" }],
    [{ dst: "fd00::1/ffff:ffff::ffff" }, { family: "ipv6" }],
    [{ proto: "udp", dport: 53, id: 9 }, { proto: "udp", dport: 53 }],
    [{ mark: 1, timeout: { min: 5 } }, { mark: 1 }],
    [{ status: ["ASSURED"], timeout: 5 }, { status: ["ASSURED"] }],
    [{ proto: "tcp", srcNat: true, dstNat: { addr: "10.0.0.1" } }, { proto: "tcp" }],
    [{ anyNat: { port: 80 }, labels: { all: [1], any: [2, 3] } }, {}],
  ];
  for (const [f, without] of pairs) {
    const cf = compileFilter(f);
    assert.equal(cf.kernel.exact, false, `${JSON.stringify(f)} is never flushed in the kernel`);
    assert.deepEqual(cf.families, compileFilter(without).families, JSON.stringify(f));
    for (const fam of [0, C.AF_INET, C.AF_INET6]) {
      assert.deepEqual(bytes(f, fam), bytes(without, fam), `${JSON.stringify(f)}, family ${fam}`);
    }
  }
  assert.deepEqual(sent({ icmpType: 8, id: 1, timeout: 2 }, 0).top, [], "no CTA_FILTER at all");
  // A netmask of all ones is an exact address, which the kernel compares (IPv4).
  const full = compileFilter({ src: "10.0.0.1/255.255.255.255" });
  assert.equal(full.kernel.exact, true);
  assert.deepEqual(sent({ src: "10.0.0.1/255.255.255.255" }, C.AF_INET).ip, [C.CTA_IP_V4_SRC]);
});
