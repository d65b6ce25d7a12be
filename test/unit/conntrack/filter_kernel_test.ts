/**
 * What a compiled filter asks the kernel for (conntrack/filter_kernel.ts): which conditions reach
 * `CTA_FILTER`, mark, status and zone, and which are matched in userspace only.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as C from "../../../conntrack/constants.ts";
import { compileFilter, type Filter, type Filters } from "../../../conntrack/filter.ts";
import { MessageBuilder } from "../../../netlink/attribute.ts";
import { flow, sent } from "../../_helpers/filter_cases.ts";

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

/** The request bytes a dump of `family` carries for `filter`. */
function bytes(filter: Filters, family: number): Uint8Array {
  const b = new MessageBuilder();
  compileFilter(filter).encode(b, family);
  return b.buf.slice(0, b.length);
}

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
