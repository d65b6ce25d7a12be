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
