/**
 * What compileFilter() refuses (conntrack/filter_check.ts): keys that do not constrain, the wrong
 * protocol, out-of-range, empty, unset or unknown values.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compileFilter, type Filter, type Filters } from "../../../conntrack/filter.ts";

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
