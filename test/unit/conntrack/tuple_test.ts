/**
 * Protocol numbers and tuple inversion (conntrack/tuple.ts, through mod.ts): the numbers of
 * netinet/in.h / linux/in.h, and the reply tuple the kernel computes without NAT, with the ICMP
 * type pairs of nf_conntrack_proto_icmp.c and nf_conntrack_proto_icmpv6.c (`invmap`).
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { invertTuple, type ProtoName, protoName, protoNumber, type Tuple } from "../../../mod.ts";

// IPPROTO_* of linux/in.h (and glibc's netinet/in.h).
const IPPROTO: [ProtoName, number][] = [
  ["icmp", 1],
  ["tcp", 6],
  ["udp", 17],
  ["dccp", 33],
  ["gre", 47],
  ["icmpv6", 58],
  ["sctp", 132],
  ["udplite", 136],
];

test("protoNumber and protoName map the protocol names to the kernel's IPPROTO_* numbers and back", () => {
  for (const [name, n] of IPPROTO) {
    assert.equal(protoNumber(name), n, name);
    assert.equal(protoName(n), name, String(n));
  }
});

test("other protocol numbers pass through both ways, 0..255", () => {
  const named = new Set(IPPROTO.map(([, n]) => n));
  for (let n = 0; n <= 255; n++) {
    assert.equal(protoNumber(n), n);
    if (!named.has(n)) assert.equal(protoName(n), n);
  }
});

test("protoNumber refuses numbers outside 0..255 (RangeError) and unknown names (TypeError)", () => {
  for (const bad of [-1, 256, 1.5, NaN, Infinity]) {
    assert.throws(() => protoNumber(bad), RangeError, String(bad));
  }
  for (const bad of ["TCP", "bogus", "", "6"]) {
    assert.throws(() => protoNumber(bad as ProtoName), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(
        (e as Error).message,
        new RegExp(`Invalid protocol "${bad}": expected one of icmp, tcp, udp`),
      );
      return true;
    });
  }
});

test("invertTuple swaps addresses and ports, and leaves the tuple zone behind", () => {
  const t: Tuple = { src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443, zone: 3 };
  assert.deepEqual(invertTuple(t, 6), {
    src: "10.0.0.2",
    dst: "10.0.0.1",
    sport: 443,
    dport: 40000,
  });
  const { zone: _zone, ...withoutZone } = t;
  assert.deepEqual(
    invertTuple(invertTuple(t, 6), 6),
    withoutZone,
    "twice: the tuple without its zone",
  );
  assert.deepEqual(invertTuple({ src: "fd00::1", dst: "fd00::2" }, 99), {
    src: "fd00::2",
    dst: "fd00::1",
  });
});

test("invertTuple swaps GRE keys", () => {
  assert.deepEqual(
    invertTuple({ src: "10.0.0.1", dst: "10.0.0.2", srcKey: 0x1111, dstKey: 0x2222 }, 47),
    { src: "10.0.0.2", dst: "10.0.0.1", srcKey: 0x2222, dstKey: 0x1111 },
  );
});

test("invertTuple pairs ICMP and ICMPv6 request and reply types as the kernel's invmap does", () => {
  // nf_conntrack_proto_icmp.c: ECHO/ECHOREPLY, TIMESTAMP/TIMESTAMPREPLY, INFO_REQUEST/
  // INFO_REPLY, ADDRESS/ADDRESSREPLY. nf_conntrack_proto_icmpv6.c: ECHO_REQUEST/ECHO_REPLY,
  // NI_QUERY/NI_REPLY.
  const pairs: [number, number, number][] = [
    [1, 8, 0],
    [1, 13, 14],
    [1, 15, 16],
    [1, 17, 18],
    [58, 128, 129],
    [58, 139, 140],
  ];
  for (const [proto, a, b] of pairs) {
    for (const [from, to] of [[a, b], [b, a]]) {
      const r = invertTuple(
        { src: "10.0.0.1", dst: "10.0.0.2", type: from, code: 0, id: 77 },
        proto,
      );
      assert.deepEqual(
        r,
        { src: "10.0.0.2", dst: "10.0.0.1", type: to, code: 0, id: 77 },
        `${proto} type ${from}`,
      );
    }
  }
});

test("invertTuple refuses an ICMP type without a reply type, naming it", () => {
  for (const [proto, type] of [[1, 3], [1, 11], [58, 1], [58, 135], [1, 128], [58, 8]]) {
    assert.throws(
      () => invertTuple({ src: "10.0.0.1", dst: "10.0.0.2", type, code: 0, id: 1 }, proto),
      new RegExp(
        `Cannot invert ${
          proto === 1 ? "icmp" : "icmpv6"
        } type ${type}: give the reply tuple explicitly`,
      ),
    );
  }
});
