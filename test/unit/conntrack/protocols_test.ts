// The protocol table against the kernel's own headers (linux-libc-dev, which CI installs): the
// protocol numbers of linux/in.h and linux/in6.h, the state enums of nf_conntrack_{tcp,sctp}.h.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  hasPorts,
  protocolNamed,
  protocolOf,
  PROTOCOLS,
  protoName,
  protoNumber,
  SCTP_STATES,
  TCP_STATES,
} from "../../../mod.ts";

const header = (name: string): string => {
  try {
    return readFileSync(`/usr/include/linux/${name}`, "utf8");
  } catch (e) {
    throw new Error(`cannot read /usr/include/linux/${name}: install linux-libc-dev (${e})`);
  }
};

/** The member names of `enum <name> { ... }` in C source, in value order (no explicit values). */
function enumMembers(src: string, name: string): string[] {
  const body = src.match(new RegExp(`enum ${name} \\{([^}]*)\\}`))?.[1];
  assert.ok(body, `enum ${name} not found`);
  return body.split("\n").map((l) => l.replace(/\/\*.*?\*\//g, "").trim())
    .filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.replace(/,$/, ""));
}

test("protocol numbers are the kernel's IPPROTO_* values", () => {
  const src = header("in.h") + header("in6.h");
  for (const p of PROTOCOLS) {
    const m = src.match(new RegExp(`IPPROTO_${p.name.toUpperCase()}(?:\\s*=\\s*|\\s+)(\\d+)`));
    assert.ok(m, `IPPROTO_${p.name.toUpperCase()} not in the headers`);
    assert.equal(p.number, Number(m[1]), p.name);
  }
});

test("TCP and SCTP state names are the kernel's enums, in value order", () => {
  const tcp = enumMembers(header("netfilter/nf_conntrack_tcp.h"), "tcp_conntrack");
  const tcpStates = tcp.slice(0, tcp.indexOf("TCP_CONNTRACK_MAX")).map((s) =>
    s.slice("TCP_CONNTRACK_".length)
  );
  // TCP_CONNTRACK_LISTEN is `#define TCP_CONNTRACK_SYN_SENT2 TCP_CONNTRACK_LISTEN`: conntrack says SYN_SENT2.
  assert.deepEqual(tcpStates.map((s) => s === "LISTEN" ? "SYN_SENT2" : s), [...TCP_STATES]);
  const sctp = enumMembers(header("netfilter/nf_conntrack_sctp.h"), "sctp_conntrack");
  const sctpStates = sctp.slice(0, sctp.indexOf("SCTP_CONNTRACK_MAX")).map((s) =>
    s.slice("SCTP_CONNTRACK_".length)
  );
  assert.deepEqual(sctpStates, [...SCTP_STATES]);
});

test("names and numbers map both ways; unknown numbers stay numbers", () => {
  assert.equal(new Set(PROTOCOLS.map((p) => p.name)).size, PROTOCOLS.length);
  assert.equal(new Set(PROTOCOLS.map((p) => p.number)).size, PROTOCOLS.length);
  for (let n = 0; n < 256; n++) {
    const p = protocolOf(n);
    assert.equal(protoName(n), p ? p.name : n);
    assert.equal(protoNumber(protoName(n)), n);
    if (p) assert.equal(protocolNamed(p.name), p);
  }
  assert.equal(protocolNamed("TCP"), undefined);
  assert.throws(() => protoNumber("tcp6" as never), TypeError);
  assert.throws(() => protoNumber(256), RangeError);
});

test("ports: exactly TCP, UDP, UDP-Lite, SCTP and DCCP; ICMP fields: ICMP and ICMPv6", () => {
  const ports = [...Array(256).keys()].filter(hasPorts).map((n) => protoName(n)).sort();
  assert.deepEqual(ports, ["dccp", "sctp", "tcp", "udp", "udplite"]);
  assert.deepEqual(PROTOCOLS.filter((p) => p.icmp).map((p) => p.name).sort(), ["icmp", "icmpv6"]);
  assert.ok(PROTOCOLS.every((p) => !(p.ports && p.icmp)));
});
