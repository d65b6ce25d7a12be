/**
 * The attribute layout (`linux/netlink.h`) and the walker's step: the one place that knows
 * `nla_len` and `nla_type` are host-endian, how lengths are checked, how types are masked and how
 * attributes are aligned, and that nfnetlink payload integers are big-endian. The wire
 * formatter's loops walk with it; the {@link AttributeReader} cursor (./reader.ts) writes the same
 * step out, for speed, and its tests check that it walks exactly as this one does.
 * @module
 */
import { HOST_LE } from "../message.ts";

// The step's own copies of the layout: V8 re-reads an exported or imported binding at every use
// (a load and a hole check) but not a module constant, and the step runs for every attribute of
// a dump.
const ALIGNTO = 4, HDRLEN = 4, F_NESTED = 1 << 15, F_NET_BYTEORDER = 1 << 14;
const TYPE_MASK = ~(F_NESTED | F_NET_BYTEORDER) & 0xffff, LE = HOST_LE;

/** `NLA_ALIGNTO`: attributes start on 4-byte boundaries. */
export const NLA_ALIGNTO: number = ALIGNTO;
/** `NLA_HDRLEN`: the size of `struct nlattr`. */
export const NLA_HDRLEN: number = HDRLEN;
/** `NLA_F_NESTED`: the payload is itself attributes. */
export const NLA_F_NESTED: number = F_NESTED;
/** `NLA_F_NET_BYTEORDER`: the payload is in network byte order. */
export const NLA_F_NET_BYTEORDER: number = F_NET_BYTEORDER;
/** `NLA_TYPE_MASK`: the type bits of `nla_type`, both flags off. */
export const NLA_TYPE_MASK: number = TYPE_MASK;

/** `NLA_ALIGN(len)`. */
export function NLA_ALIGN(len: number): number {
  return (len + ALIGNTO - 1) & ~(ALIGNTO - 1);
}

/**
 * The walker's one step (the kernel's `nla_ok()`): the `nla_len` of the attribute at `p` when its
 * header and payload fit in `[p, end)`, else 0: trailing bytes too short for a header, a length
 * below the header (zero included), or past `end`. The next attribute starts at
 * `p + NLA_ALIGN(len)`, which may be past `end` when the last one is unpadded. The loops of hot
 * paths that cannot afford a cursor walk with it; {@link AttributeReader} walks the same way.
 */
export function nlaLength(dv: DataView, p: number, end: number): number {
  if (end - p < HDRLEN) return 0;
  const len = dv.getUint16(p, LE);
  return len < HDRLEN || len > end - p ? 0 : len;
}

/** The type of the attribute at `p`, {@link NLA_F_NESTED} and {@link NLA_F_NET_BYTEORDER} masked off. */
export function nlaType(dv: DataView, p: number): number {
  return dv.getUint16(p + 2, LE) & TYPE_MASK;
}

// Payloads of exactly one width, read big-endian (nfnetlink's order): the value, or -1 when the
// payload at `pos` is not `len` = that width.
/** A u8 payload, or -1 unless `len` is 1. */
export function payloadU8(dv: DataView, pos: number, len: number): number {
  return len === 1 ? dv.getUint8(pos) : -1;
}
/** A big-endian u16 payload, or -1 unless `len` is 2. */
export function payloadU16(dv: DataView, pos: number, len: number): number {
  return len === 2 ? dv.getUint16(pos, false) : -1;
}
/** A big-endian u32 payload, or -1 unless `len` is 4. */
export function payloadU32(dv: DataView, pos: number, len: number): number {
  return len === 4 ? dv.getUint32(pos, false) : -1;
}
/** A big-endian u64 payload as a number (exact below 2^53), or -1 unless `len` is 8. */
export function payloadU64n(dv: DataView, pos: number, len: number): number {
  return len === 8 ? dv.getUint32(pos, false) * 0x100000000 + dv.getUint32(pos + 4, false) : -1;
}

/** Largest `nla_len` (header + payload): the field is 16 bits wide. */
export const NLA_MAX_LEN = 0xffff;
/** Largest attribute payload: {@link NLA_MAX_LEN} minus the 4-byte header (65531). */
export const NLA_MAX_PAYLOAD = NLA_MAX_LEN - NLA_HDRLEN;
/** Largest `nlmsg_len`: the field is 32 bits wide. */
export const NLMSG_MAX_LEN = 0xffffffff;
