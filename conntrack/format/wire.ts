/**
 * {@link formatWire}: the `conntrack -L` line of a ctnetlink message made straight from its
 * bytes, without decoding a `Flow`: the fast path of big listings. It walks the message with the
 * attribute walker's step from netlink/attribute.ts (`nlaLength`, `nlaType`, `NLA_ALIGN` and the
 * payload readers) in plain loops, since on this path an `AttributeReader` per nesting level is
 * measurably slower; gathers a {@link FlowLine}; and writes it with the same {@link writeLine}
 * as `formatFlow`, so the two cannot disagree on the text.
 * @module
 */
import * as attribute from "../../netlink/attribute.ts";
import { NLMSG_HDRLEN } from "../../netlink/message.ts";
import { formatIPv6 } from "../address.ts";
import * as C from "../constants.ts";
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_UDPLITE,
} from "../protocols.ts";
import { type FlowLine, lineString, writeLine } from "./line.ts";
import type { TextOut } from "./text.ts";
import type { FormatOptions } from "./options.ts";
import { type LineTuple, lineTuple } from "./parts.ts";

// The walker's step as module constants, not imported bindings: V8 re-reads an imported binding
// at every use (a load and a hole check), which costs this path several percent.
const { NLA_ALIGN, NLA_HDRLEN, nlaLength, nlaType } = attribute;
const { payloadU8, payloadU16, payloadU32, payloadU64n } = attribute;

/** Protocols formatWire prints itself; the rest (GRE keys, SCTP/DCCP states, …) go through formatFlow. */
const WIRE_PROTOS = new Set([
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_UDPLITE,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
]);

// Scratch, reused for every message (formatting is synchronous).
const orig = lineTuple({ src: "", dst: "" }), reply = lineTuple({ src: "", dst: "" });
const counters = { orig: { packets: 0, bytes: 0 }, reply: { packets: 0, bytes: 0 } };
const line: FlowLine = {
  ipv6: false,
  proto: 0,
  orig,
  reply,
  status: -1,
  timeout: -1,
  tcpState: -1,
  sctpState: -1,
  dccpState: -1,
  counters: undefined,
  mark: -1,
  secmark: -1,
  secctx: undefined,
  zone: -1,
  timestamp: undefined,
  helper: undefined,
  use: -1,
  id: -1,
  labels: undefined,
};
/** The byte view of the last buffer read (a dump reuses one buffer). */
let lastDv: DataView | undefined;
let lastU8: Uint8Array = new Uint8Array(0);

/**
 * The line {@link formatFlow} gives for the flow in the ctnetlink message at `offset` of `dv`
 * (its `nlmsghdr`, `length` bytes) with `options` (only `extended` and `id` are read), made
 * straight from the bytes without decoding a `Flow`. `undefined` when the message needs the
 * full path: a protocol other than TCP, UDP, UDP-Lite, ICMP and ICMPv6, an attribute that adds
 * to the line beyond the common ones (timestamps, helper, security context, other protocol
 * info), or any malformed bytes (then decoding reports them). Attributes the line never shows
 * (NAT, sequence adjustment, synproxy, labels, unknown ones) are skipped unread.
 *
 * @example
 * ```ts
 * import { FlowDecoder, formatFlow, formatWire } from "@nfct/nfct";
 * const dec = new FlowDecoder();
 * // The line of each message of a dump (dv, offset, length):
 * function lineOf(dv: DataView, offset: number, length: number): string {
 *   return formatWire(dv, offset, length) ?? formatFlow(dec.decode(dv, offset, length));
 * }
 * ```
 */
export function formatWire(
  dv: DataView,
  offset: number,
  length: number,
  options: FormatOptions = {},
): string | undefined {
  return readMessage(dv, offset, length) ? lineString(line, options) : undefined;
}

/**
 * {@link formatWire} into `out`: appends the line (without the newline) and returns true, or
 * returns false with `out` untouched when the message needs the full path.
 */
export function formatWireInto(
  out: TextOut,
  dv: DataView,
  offset: number,
  length: number,
  options: FormatOptions = {},
): boolean {
  if (!readMessage(dv, offset, length)) return false;
  writeLine(out, line, options);
  return true;
}

/** Reads the message at `offset` into {@link line}; false when it needs the full path. */
function readMessage(dv: DataView, offset: number, length: number): boolean {
  const end = offset + length;
  if (length < NLMSG_HDRLEN + 4 || end > dv.byteLength) return false;
  const fam = dv.getUint8(offset + NLMSG_HDRLEN);
  if (fam !== C.AF_INET && fam !== C.AF_INET6) return false;
  if (dv !== lastDv) {
    lastDv = dv;
    lastU8 = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
  }
  if (!readLine(dv, offset + NLMSG_HDRLEN + 4, end)) return false;
  line.ipv6 = fam === C.AF_INET6;
  return true;
}

/** Reads the attributes in `[start, end)` into {@link line}; false when the message needs the full path. */
function readLine(dv: DataView, start: number, end: number): boolean {
  let status = -1, timeout = -1, tcpState = -1, mark = -1; // -1: not sent
  let secmark = -1, zone = -1, use = -1, id = -1;
  let proto = -1, haveOrig = false, haveReply = false, haveCounters = false;
  let oPackets = 0, oBytes = 0, rPackets = 0, rBytes = 0;
  for (let p = start; p < end;) {
    const len = nlaLength(dv, p, end);
    if (len === 0) return false;
    const type = nlaType(dv, p), v = p + NLA_HDRLEN;
    switch (type) {
      case C.CTA_TUPLE_ORIG:
        proto = readTuple(dv, v, p + len, orig);
        if (proto === MALFORMED) return false;
        haveOrig = true;
        break;
      case C.CTA_TUPLE_REPLY:
        if (readTuple(dv, v, p + len, reply) === MALFORMED) return false;
        haveReply = true;
        break;
      case C.CTA_STATUS:
      case C.CTA_TIMEOUT:
      case C.CTA_MARK:
      case C.CTA_SECMARK:
      case C.CTA_USE:
      case C.CTA_ID: {
        const n = payloadU32(dv, v, len - NLA_HDRLEN);
        if (n < 0) return false;
        if (type === C.CTA_STATUS) status = n;
        else if (type === C.CTA_TIMEOUT) timeout = n;
        else if (type === C.CTA_MARK) mark = n;
        else if (type === C.CTA_SECMARK) secmark = n;
        else if (type === C.CTA_USE) use = n;
        else id = n;
        break;
      }
      case C.CTA_ZONE:
        zone = payloadU16(dv, v, len - NLA_HDRLEN);
        if (zone < 0) return false;
        break;
      case C.CTA_PROTOINFO: {
        // Only CTA_PROTOINFO_TCP's state is printed; any other protocol info: the full path.
        for (let a = v; a < p + len;) {
          const l = nlaLength(dv, a, p + len);
          if (l === 0 || nlaType(dv, a) !== C.CTA_PROTOINFO_TCP) return false;
          for (let b = a + NLA_HDRLEN; b < a + l;) {
            const bl = nlaLength(dv, b, a + l);
            if (bl === 0) return false;
            if (nlaType(dv, b) === C.CTA_PROTOINFO_TCP_STATE) {
              tcpState = payloadU8(dv, b + NLA_HDRLEN, bl - NLA_HDRLEN);
              if (tcpState < 0) return false;
            }
            b += NLA_ALIGN(bl);
          }
          a += NLA_ALIGN(l);
        }
        break;
      }
      case C.CTA_COUNTERS_ORIG:
      case C.CTA_COUNTERS_REPLY: {
        let packets = 0, bytes = 0;
        for (let a = v; a < p + len;) {
          const l = nlaLength(dv, a, p + len);
          if (l === 0) return false;
          const at = nlaType(dv, a);
          if (at === C.CTA_COUNTERS_PACKETS || at === C.CTA_COUNTERS_BYTES) {
            const n = payloadU64n(dv, a + NLA_HDRLEN, l - NLA_HDRLEN);
            if (n < 0) return false;
            if (at === C.CTA_COUNTERS_PACKETS) packets = n;
            else bytes = n;
          } else if (at === C.CTA_COUNTERS32_PACKETS || at === C.CTA_COUNTERS32_BYTES) {
            const n = payloadU32(dv, a + NLA_HDRLEN, l - NLA_HDRLEN);
            if (n < 0) return false;
            if (at === C.CTA_COUNTERS32_PACKETS) packets = n;
            else bytes = n;
          }
          a += NLA_ALIGN(l);
        }
        haveCounters = true;
        if (type === C.CTA_COUNTERS_ORIG) {
          oPackets = packets;
          oBytes = bytes;
        } else {
          rPackets = packets;
          rBytes = bytes;
        }
        break;
      }
      case C.CTA_HELP:
      case C.CTA_SECCTX:
      case C.CTA_TIMESTAMP:
        return false; // printed: the full path
    }
    p += NLA_ALIGN(len);
  }
  if (!haveOrig || !haveReply || !WIRE_PROTOS.has(proto)) return false;
  const l = line;
  l.proto = proto;
  l.status = status;
  l.timeout = timeout;
  l.tcpState = tcpState;
  l.mark = mark;
  l.secmark = secmark;
  l.zone = zone;
  l.use = use;
  l.id = id;
  l.counters = undefined;
  if (haveCounters) {
    // A direction the kernel did not send prints as zeros.
    counters.orig.packets = oPackets;
    counters.orig.bytes = oBytes;
    counters.reply.packets = rPackets;
    counters.reply.bytes = rBytes;
    l.counters = counters;
  }
  return true;
}

/** What {@link readTuple} returns for malformed bytes. */
const MALFORMED = -2;

/** Reads a tuple's payload `[p, end)` into `t`; returns its `CTA_PROTO_NUM` (-1: none) or {@link MALFORMED}. */
function readTuple(dv: DataView, p: number, end: number, t: LineTuple): number {
  t.src = t.dst = "";
  t.srcAt = t.dstAt = -1;
  t.raw = lastU8;
  t.sport = t.dport = 0;
  t.type = t.code = t.id = 0;
  t.zone = -1;
  let proto = -1;
  const u8 = lastU8;
  while (p < end) {
    const len = nlaLength(dv, p, end);
    if (len === 0) return MALFORMED;
    const type = nlaType(dv, p), e = p + len;
    if (type === C.CTA_TUPLE_IP || type === C.CTA_TUPLE_PROTO) {
      for (let a = p + NLA_HDRLEN; a < e;) {
        const l = nlaLength(dv, a, e);
        if (l === 0) return MALFORMED;
        const at = nlaType(dv, a), v = a + NLA_HDRLEN;
        if (type === C.CTA_TUPLE_IP) {
          if (at === C.CTA_IP_V4_SRC || at === C.CTA_IP_V4_DST) {
            if (l !== NLA_HDRLEN + 4) return MALFORMED;
            if (at === C.CTA_IP_V4_SRC) t.srcAt = v;
            else t.dstAt = v;
          } else if (at === C.CTA_IP_V6_SRC || at === C.CTA_IP_V6_DST) {
            if (l !== NLA_HDRLEN + 16) return MALFORMED;
            // the last address attribute wins, as in decoding
            if (at === C.CTA_IP_V6_SRC) [t.src, t.srcAt] = [formatIPv6(u8, v), -1];
            else [t.dst, t.dstAt] = [formatIPv6(u8, v), -1];
          }
        } else if (
          at === C.CTA_PROTO_NUM || at === C.CTA_PROTO_ICMP_TYPE || at === C.CTA_PROTO_ICMP_CODE ||
          at === C.CTA_PROTO_ICMPV6_TYPE || at === C.CTA_PROTO_ICMPV6_CODE
        ) {
          const n = payloadU8(dv, v, l - NLA_HDRLEN);
          if (n < 0) return MALFORMED;
          if (at === C.CTA_PROTO_NUM) proto = n;
          else if (at === C.CTA_PROTO_ICMP_TYPE || at === C.CTA_PROTO_ICMPV6_TYPE) t.type = n;
          else t.code = n;
        } else if (
          at === C.CTA_PROTO_SRC_PORT || at === C.CTA_PROTO_DST_PORT ||
          at === C.CTA_PROTO_ICMP_ID || at === C.CTA_PROTO_ICMPV6_ID
        ) {
          const n = payloadU16(dv, v, l - NLA_HDRLEN);
          if (n < 0) return MALFORMED;
          if (at === C.CTA_PROTO_SRC_PORT) t.sport = n;
          else if (at === C.CTA_PROTO_DST_PORT) t.dport = n;
          else t.id = n;
        }
        a += NLA_ALIGN(l);
      }
    } else if (type === C.CTA_TUPLE_ZONE) {
      const z = payloadU16(dv, p + NLA_HDRLEN, len - NLA_HDRLEN);
      if (z < 0) return MALFORMED;
      t.zone = z;
    }
    p += NLA_ALIGN(len);
  }
  return proto;
}
