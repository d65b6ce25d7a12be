/**
 * formatWire: the conntrack -L line made straight from a ctnetlink message must be exactly
 * formatFlow(decode(message)) whenever it answers, and must step aside (undefined) whenever
 * it cannot say the same. Checked on the real kernel dump in test/fixtures (captured with
 * accounting and timestamps on), on the same messages without their timestamps (as the kernel
 * sends them with timestamps off: then the fast path answers for TCP, UDP and ICMP over IPv4
 * and IPv6), on every truncation of those messages, and on generated messages covering what the
 * fixture lacks (every status bit, unknown TCP states, 32-bit counters, one-direction counters,
 * tuple zones, helpers, security contexts, other protocol info, attributes the line skips).
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FlowDecoder } from "../../../../conntrack/flow_decode.ts";
import { formatFlow, type FormatOptions, formatWire } from "../../../../conntrack/format.ts";
import * as C from "../../../../conntrack/constants.ts";
import { MessageBuilder } from "../../../../netlink/attribute.ts";
import { HOST_LE } from "../../../../netlink/message.ts";
import { toHex } from "../../../_helpers/hex.ts";
import { Rng } from "../../../_helpers/rng.ts";
import { loadRealDump } from "../../../_helpers/scripted.ts";

/** Every conntrack data message of the captured dump, copied out on its own. */
function messages(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const d of loadRealDump("flows")) {
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    for (let off = 0; off + 16 <= d.length;) {
      const len = dv.getUint32(off, HOST_LE);
      if (dv.getUint16(off + 4, HOST_LE) >> 8 === C.NFNL_SUBSYS_CTNETLINK) {
        out.push(d.slice(off, off + len));
      }
      off += (len + 3) & ~3;
    }
  }
  return out;
}

/** `msg` without its top-level attributes of type `drop` (lengths rewritten). */
function without(msg: Uint8Array, drop: number): Uint8Array {
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const parts: Uint8Array[] = [msg.slice(0, 20)];
  for (let p = 20; p < msg.length;) {
    const len = dv.getUint16(p, HOST_LE);
    const next = Math.min(msg.length, p + ((len + 3) & ~3));
    if ((dv.getUint16(p + 2, HOST_LE) & 0x3fff) !== drop) parts.push(msg.slice(p, next));
    p = next;
  }
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of parts) {
    out.set(x, at);
    at += x.length;
  }
  new DataView(out.buffer).setUint32(0, out.length, HOST_LE);
  return out;
}

const OPTIONS: FormatOptions[] = [{}, { extended: true }, { id: true }, {
  extended: true,
  id: true,
}];
const dec = new FlowDecoder();

/**
 * formatWire's answer for `msg[0, length)` (a copy that ends there, so nothing past it can be
 * read), and what formatFlow(decode()) says (or throws).
 */
function both(
  whole: Uint8Array,
  length: number,
  o: FormatOptions,
): { wire: string | undefined; flow: string | Error } {
  const msg = whole.slice(0, length);
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const wire = formatWire(dv, 0, length, o);
  let flow: string | Error;
  try {
    flow = formatFlow(dec.decode(dv, 0, length), o);
  } catch (e) {
    flow = e as Error;
  }
  return { wire, flow };
}

test("formatWire steps aside for flows with timestamps (delta-time is formatFlow's), and agrees when it answers", () => {
  const all = messages();
  assert.ok(all.length >= 60, `${all.length} messages`);
  for (const m of all) {
    for (const o of OPTIONS) {
      const { wire, flow } = both(m, m.length, o);
      assert.ok(typeof flow === "string", `the fixture decodes: ${toHex(m)}`);
      if (wire !== undefined) assert.equal(wire, flow, toHex(m));
    }
    assert.equal(
      formatWire(new DataView(m.buffer), 0, m.length),
      undefined,
      "CTA_TIMESTAMP present: the full path",
    );
  }
});

test("without timestamps formatWire gives formatFlow's exact line for TCP, UDP and ICMP on IPv4 and IPv6 (zones, counters, marks, ids), and steps aside for GRE and SCTP", () => {
  const protos = new Map<string, number>();
  let fast = 0, slow = 0;
  for (const m of messages().map((x) => without(x, C.CTA_TIMESTAMP))) {
    const dv = new DataView(m.buffer);
    const f = dec.decode(dv, 0, m.length);
    for (const o of OPTIONS) {
      const { wire, flow } = both(m, m.length, o);
      if (f.proto === "gre" || f.proto === "sctp") {
        assert.equal(wire, undefined, `${f.proto}: the full path`);
        slow++;
      } else {
        assert.equal(wire, flow, toHex(m));
        fast++;
      }
    }
    protos.set(`${f.family}/${f.proto}`, (protos.get(`${f.family}/${f.proto}`) ?? 0) + 1);
  }
  for (const k of ["ipv4/tcp", "ipv4/udp", "ipv4/icmp", "ipv6/tcp", "ipv6/udp", "ipv6/icmpv6"]) {
    assert.ok(protos.has(k), `the fixture has ${k}`);
  }
  assert.ok(fast >= 4 * 55 && slow >= 4 * 2, `${fast} fast, ${slow} full`);
});

test("formatWire on every truncation of every message: never throws, and never answers where decoding fails or says otherwise", () => {
  let answered = 0, cut = 0;
  for (const m of messages().map((x) => without(x, C.CTA_TIMESTAMP))) {
    for (let len = 0; len < m.length; len++) {
      cut++;
      const { wire, flow } = both(m, len, {});
      if (wire === undefined) continue;
      answered++;
      assert.equal(wire, flow, `cut at ${len}: ${toHex(m)}`);
    }
  }
  assert.ok(cut > 5000 && answered > 0, `${cut} cuts, ${answered} answered`);
});

// ---- generated flows: formatWire(msg) === formatFlow(decode(msg)) ----

const WIRE_PROTOS = [6, 17, 136, 1, 58]; // what formatWire prints itself
const OTHER_PROTOS = [47, 132, 33, 41]; // GRE keys, SCTP/DCCP states, a protocol without a name

/**
 * A ctnetlink message as the kernel builds one (`ctnetlink_fill_info`, nests flagged): random
 * tuples, a random subset of the attributes, kernel order. Returns the bytes and whether
 * formatWire must answer (a protocol it prints, nothing that only the full path prints).
 */
function generated(rng: Rng): { msg: Uint8Array; fast: boolean } {
  const ipv6 = rng.chance(0.3);
  const proto = rng.chance(0.85) ? rng.pick(WIRE_PROTOS) : rng.pick(OTHER_PROTOS);
  const icmp = proto === 1 || proto === 58;
  const b = new MessageBuilder(512);
  const at = b.begin((C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_NEW, 0x2, 1);
  b.raw([ipv6 ? C.AF_INET6 : C.AF_INET, 0, 0, 0]);
  const addr = () =>
    Uint8Array.from({ length: ipv6 ? 16 : 4 }, () => rng.chance(0.4) ? 0 : rng.int(256));
  const u8 = () => rng.int(256);
  const u16 = () => rng.pick([0, 1, 53, 443, 65535, rng.int(65536)]);
  const u32 = () => rng.pick([0, 1, 0x7fffffff, 0x80000000, 0xffffffff, rng.u32()]);
  for (const type of [C.CTA_TUPLE_ORIG, C.CTA_TUPLE_REPLY]) {
    const t = b.nest(type);
    const ip = b.nest(C.CTA_TUPLE_IP);
    b.data(ipv6 ? C.CTA_IP_V6_SRC : C.CTA_IP_V4_SRC, addr());
    b.data(ipv6 ? C.CTA_IP_V6_DST : C.CTA_IP_V4_DST, addr());
    b.endNest(ip);
    const pr = b.nest(C.CTA_TUPLE_PROTO);
    b.u8(C.CTA_PROTO_NUM, proto);
    if (icmp) {
      b.u16(proto === 1 ? C.CTA_PROTO_ICMP_ID : C.CTA_PROTO_ICMPV6_ID, u16());
      b.u8(proto === 1 ? C.CTA_PROTO_ICMP_TYPE : C.CTA_PROTO_ICMPV6_TYPE, u8());
      b.u8(proto === 1 ? C.CTA_PROTO_ICMP_CODE : C.CTA_PROTO_ICMPV6_CODE, u8());
    } else if (proto !== 41 && rng.chance(0.95)) {
      b.u16(C.CTA_PROTO_SRC_PORT, u16());
      b.u16(C.CTA_PROTO_DST_PORT, u16());
    }
    b.endNest(pr);
    if (rng.chance(0.1)) b.u16(C.CTA_TUPLE_ZONE, u16());
    b.endNest(t);
  }
  let fast = WIRE_PROTOS.includes(proto);
  const maybe = (p: number, write: () => void) => rng.chance(p) && (write(), true);
  // Status bits: SEEN_REPLY, ASSURED, CONFIRMED, OFFLOAD, HW_OFFLOAD and a few others.
  maybe(0.95, () => b.u32(C.CTA_STATUS, rng.u32() & 0xc00e | 0x8 | rng.int(2)));
  maybe(0.05, () => b.u32(C.CTA_SECMARK, u32()));
  maybe(0.95, () => b.u32(C.CTA_TIMEOUT, u32()));
  maybe(0.9, () => b.u32(C.CTA_MARK, u32()));
  maybe(0.7, () => {
    for (const type of [C.CTA_COUNTERS_ORIG, C.CTA_COUNTERS_REPLY]) {
      if (rng.chance(0.1)) continue; // one direction only
      const n = b.nest(type);
      if (rng.chance(0.8)) {
        b.u64(C.CTA_COUNTERS_PACKETS, BigInt(rng.u32()) * BigInt(rng.int(4)) + BigInt(rng.u32()));
        b.u64(C.CTA_COUNTERS_BYTES, BigInt(rng.u32()) * BigInt(rng.int(0x200000)));
      } else {
        b.u32(C.CTA_COUNTERS32_PACKETS, u32());
        b.u32(C.CTA_COUNTERS32_BYTES, u32());
      }
      b.endNest(n);
    }
  });
  if (
    maybe(0.1, () => {
      const n = b.nest(C.CTA_TIMESTAMP);
      b.u64(C.CTA_TIMESTAMP_START, 1_700_000_000_000_000_000n + BigInt(rng.u32()));
      b.endNest(n);
    })
  ) fast = false;
  maybe(0.9, () => b.u32(C.CTA_ID, u32()));
  maybe(0.1, () => b.u16(C.CTA_ZONE, u16()));
  if (
    maybe(0.1, () => {
      const n = b.nest(C.CTA_HELP);
      b.string(C.CTA_HELP_NAME, rng.pick(["ftp", "sip", "tftp"]));
      b.endNest(n);
    })
  ) fast = false;
  if (
    maybe(0.03, () => {
      const n = b.nest(C.CTA_SECCTX);
      b.string(C.CTA_SECCTX_NAME, "system_u:object_r:unlabeled_t:s0");
      b.endNest(n);
    })
  ) fast = false;
  maybe(0.9, () => b.u32(C.CTA_USE, u32()));
  maybe(proto === 6 ? 0.9 : 0.05, () => {
    const pi = b.nest(C.CTA_PROTOINFO);
    const other = rng.chance(0.2);
    if (other) fast = false;
    const n = b.nest(
      other ? rng.pick([C.CTA_PROTOINFO_SCTP, C.CTA_PROTOINFO_DCCP]) : C.CTA_PROTOINFO_TCP,
    );
    b.u8(C.CTA_PROTOINFO_TCP_STATE, rng.chance(0.9) ? rng.int(10) : u8()); // same type (1) in all three
    if (!other) {
      b.u8(C.CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, rng.int(15));
      b.data(C.CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, new Uint8Array([u8(), u8()]));
    }
    b.endNest(n);
    b.endNest(pi);
  });
  // Attributes the line never shows.
  maybe(0.05, () => {
    const n = b.nest(C.CTA_NAT_SRC);
    b.data(ipv6 ? C.CTA_NAT_V6_MINIP : C.CTA_NAT_V4_MINIP, addr());
    b.endNest(n);
  });
  maybe(0.05, () => b.data(C.CTA_LABELS, new Uint8Array(16).fill(rng.int(256))));
  maybe(0.05, () => {
    const n = b.nest(C.CTA_SYNPROXY);
    b.u32(C.CTA_SYNPROXY_ISN, u32());
    b.endNest(n);
  });
  maybe(0.05, () => b.u32(60, u32())); // an attribute nfct does not know
  b.end(at);
  return { msg: b.bytes().slice(), fast };
}

test("on 5000 generated kernel messages formatWire gives formatFlow(decode())'s exact line, and answers whenever nothing needs the full path", () => {
  const rng = new Rng(0x77697265);
  let fast = 0, full = 0;
  for (let i = 0; i < 5000; i++) {
    const { msg, fast: mustAnswer } = generated(rng);
    const o = OPTIONS[i % OPTIONS.length];
    const { wire, flow } = both(msg, msg.length, o);
    assert.ok(typeof flow === "string", `decodes: ${toHex(msg)}`);
    if (mustAnswer) {
      assert.equal(wire, flow, toHex(msg));
      fast++;
    } else {
      assert.equal(wire, undefined, `the full path: ${toHex(msg)}`);
      full++;
    }
  }
  assert.ok(fast > 3000 && full > 500, `${fast} fast, ${full} full`);
});
