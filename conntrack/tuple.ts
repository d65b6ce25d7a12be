/**
 * Tuples (`CTA_TUPLE_ORIG`, `CTA_TUPLE_REPLY`, `CTA_TUPLE_MASTER`): addresses, layer-4 ids, zone.
 *
 * ```
 * CTA_TUPLE_*        (nested)
 *   CTA_TUPLE_IP     (nested)  CTA_IP_V4_SRC/DST (4 bytes) or CTA_IP_V6_SRC/DST (16 bytes)
 *   CTA_TUPLE_PROTO  (nested)  CTA_PROTO_NUM u8, then ports (be16), or ICMP type/code (u8) + id (be16)
 *   CTA_TUPLE_ZONE   be16
 * ```
 * @module
 */
import type { AttributeReader, MessageBuilder } from "../netlink/attribute.ts";
import { type Family, formatIPv4, formatIPv6, parseAddress, parseAddressInto } from "./address.ts";
import * as C from "./constants.ts";
import { checkKeys, checkU16, checkU8 } from "./options.ts";
import { hasPorts, protocolNamed, protocolOf, PROTOCOLS, type ProtoName } from "./protocols.ts";

/** A layer-4 protocol: a name, or the IP protocol number. */
export type Proto = ProtoName | number;
export type { ProtoName };
export { hasPorts };

/** The protocol number of `p`. @throws {TypeError}/{RangeError} on a bad value. */
export function protoNumber(p: Proto): number {
  if (typeof p === "number") {
    if (!Number.isInteger(p) || p < 0 || p > 255) {
      throw new RangeError(`Invalid protocol ${p}: must be 0..255`);
    }
    return p;
  }
  const n = typeof p === "string" ? protocolNamed(p)?.number : undefined;
  if (n === undefined) {
    throw new TypeError(
      `Invalid protocol "${p}": expected one of ${
        PROTOCOLS.map((q) => q.name).join(", ")
      } or a number`,
    );
  }
  return n;
}

/** The name of protocol number `n` when nfct knows it, else `n`. */
export function protoName(n: number): Proto {
  return (protocolOf(n)?.name as ProtoName | undefined) ?? n;
}

/** One direction of a connection. */
export interface Tuple {
  /** Source address. */
  src: string;
  /** Destination address. */
  dst: string;
  /** Source port (TCP, UDP, UDP-Lite, SCTP, DCCP). */
  sport?: number;
  /** Destination port (TCP, UDP, UDP-Lite, SCTP, DCCP). */
  dport?: number;
  /** ICMP/ICMPv6 type. */
  type?: number;
  /** ICMP/ICMPv6 code. */
  code?: number;
  /** ICMP/ICMPv6 identifier. */
  id?: number;
  /** GRE source key (the kernel tracks 16 bits of it). */
  srcKey?: number;
  /** GRE destination key. */
  dstKey?: number;
  /** Zone of this direction (`CTA_TUPLE_ZONE`), when set. */
  zone?: number;
}

/** A tuple that names its own protocol (`CTA_TUPLE_MASTER`). */
export interface MasterTuple extends Tuple {
  /** The layer-4 protocol of the master entry. */
  proto: Proto;
}

/**
 * Decodes the payload of a tuple attribute that `r` is positioned on, using `sub` and `sub2`
 * as scratch readers. Returns the tuple and its protocol number.
 */
export function decodeTuple(
  r: AttributeReader,
  sub: AttributeReader,
  sub2: AttributeReader,
  u8: Uint8Array,
  out: { proto: number; family: Family | undefined },
): Tuple {
  const t: Tuple = { src: "", dst: "" };
  sub.enter(r, "tuple");
  while (sub.next()) {
    switch (sub.type) {
      case C.CTA_TUPLE_IP:
        sub2.enter(sub, "tuple addresses");
        while (sub2.next()) {
          switch (sub2.type) {
            case C.CTA_IP_V4_SRC:
              if (sub2.len !== 4) {
                throw new RangeError(
                  `Cannot read tuple: CTA_IP_V4_SRC has ${sub2.len} bytes, not 4`,
                );
              }
              t.src = formatIPv4(u8, sub2.pos);
              out.family = "ipv4";
              break;
            case C.CTA_IP_V4_DST:
              if (sub2.len !== 4) {
                throw new RangeError(
                  `Cannot read tuple: CTA_IP_V4_DST has ${sub2.len} bytes, not 4`,
                );
              }
              t.dst = formatIPv4(u8, sub2.pos);
              out.family = "ipv4";
              break;
            case C.CTA_IP_V6_SRC:
              if (sub2.len !== 16) {
                throw new RangeError(
                  `Cannot read tuple: CTA_IP_V6_SRC has ${sub2.len} bytes, not 16`,
                );
              }
              t.src = formatIPv6(u8, sub2.pos);
              out.family = "ipv6";
              break;
            case C.CTA_IP_V6_DST:
              if (sub2.len !== 16) {
                throw new RangeError(
                  `Cannot read tuple: CTA_IP_V6_DST has ${sub2.len} bytes, not 16`,
                );
              }
              t.dst = formatIPv6(u8, sub2.pos);
              out.family = "ipv6";
              break;
          }
        }
        break;
      case C.CTA_TUPLE_PROTO: {
        sub2.enter(sub, "tuple protocol");
        let sport: number | undefined, dport: number | undefined;
        while (sub2.next()) {
          switch (sub2.type) {
            case C.CTA_PROTO_NUM:
              out.proto = sub2.u8();
              break;
            case C.CTA_PROTO_SRC_PORT:
              sport = sub2.u16();
              break;
            case C.CTA_PROTO_DST_PORT:
              dport = sub2.u16();
              break;
            case C.CTA_PROTO_ICMP_ID:
            case C.CTA_PROTO_ICMPV6_ID:
              t.id = sub2.u16();
              break;
            case C.CTA_PROTO_ICMP_TYPE:
            case C.CTA_PROTO_ICMPV6_TYPE:
              t.type = sub2.u8();
              break;
            case C.CTA_PROTO_ICMP_CODE:
            case C.CTA_PROTO_ICMPV6_CODE:
              t.code = sub2.u8();
              break;
          }
        }
        if (out.proto === C.IPPROTO_GRE) {
          if (sport !== undefined) t.srcKey = sport;
          if (dport !== undefined) t.dstKey = dport;
        } else {
          if (sport !== undefined) t.sport = sport;
          if (dport !== undefined) t.dport = dport;
        }
        break;
      }
      case C.CTA_TUPLE_ZONE:
        t.zone = sub.u16();
        break;
    }
  }
  return t;
}

/** Scratch space for address bytes while encoding (encoding is synchronous). */
const SCRATCH = new Uint8Array(16);

/** Every field of {@link Tuple}, in the order of its declaration (and of `flowToJSON`). */
export const TUPLE_FIELDS: readonly (keyof Tuple)[] = Object.keys(
  {
    src: 1,
    dst: 1,
    sport: 1,
    dport: 1,
    type: 1,
    code: 1,
    id: 1,
    srcKey: 1,
    dstKey: 1,
    zone: 1,
  } satisfies Record<keyof Tuple, 1>,
) as (keyof Tuple)[];
/** A {@link MasterTuple} (a tuple with its `proto`) serves wherever a tuple does. */
const TUPLE_KEY_SET: ReadonlySet<string> = new Set([...TUPLE_FIELDS, "proto"]);

/** The layer-4 fields a tuple of protocol `proto` carries (the encoder writes no others). */
function l4Fields(proto: number): readonly string[] {
  if (hasPorts(proto)) return ["sport", "dport"];
  if (proto === C.IPPROTO_ICMP || proto === C.IPPROTO_ICMPV6) return ["type", "code", "id"];
  if (proto === C.IPPROTO_GRE) return ["srcKey", "dstKey"];
  return [];
}
const L4_FIELDS = ["sport", "dport", "type", "code", "id", "srcKey", "dstKey"];

/**
 * Checks a tuple's shape for `family`/`proto`; returns the family its addresses have. Unknown
 * keys, `null` values and layer-4 fields the protocol has not (`type` on a UDP tuple: it
 * would not be sent) are a `TypeError` naming the key. A {@link MasterTuple} is accepted as a
 * tuple when its `proto` is `proto`; with `master` the `proto` key is required.
 */
export function validateTuple(
  t: Tuple,
  proto: number,
  family: Family | undefined,
  what: string,
  master = false,
): Family {
  if (t === null || typeof t !== "object" || Array.isArray(t)) {
    throw new TypeError(`Invalid ${what}: expected a tuple object`);
  }
  checkKeys(t as unknown as Record<string, unknown>, TUPLE_KEY_SET, what);
  const own = (t as Partial<MasterTuple>).proto;
  if (master && own === undefined) throw new TypeError(`Invalid ${what}: proto is missing`);
  if (own !== undefined && protoNumber(own) !== proto) {
    throw new TypeError(
      `Invalid ${what}.proto ${String(own)}: the tuple is used as ${protoName(proto)}`,
    );
  }
  const sl = parseAddressInto(t.src, SCRATCH, family);
  if (sl === 0) parseAddress(t.src, family, `${what}.src`); // throws the TypeError
  const f: Family = sl === 4 ? "ipv4" : "ipv6";
  if (parseAddressInto(t.dst, SCRATCH, f) === 0) parseAddress(t.dst, f, `${what}.dst`);
  const fields = l4Fields(proto);
  for (const k of L4_FIELDS) {
    if (!fields.includes(k) && (t as unknown as Record<string, unknown>)[k] !== undefined) {
      throw new TypeError(
        `Invalid ${what}.${k}: a ${protoName(proto)} tuple has no ${k} (it has ${
          fields.join(", ") || "addresses only"
        })`,
      );
    }
  }
  if (hasPorts(proto)) {
    // A kernel without DCCP tracking (Linux 6.16+) tracks DCCP generically and reports no
    // ports: such a dumped entry must still serve as a key (delete, flush by filter).
    const portless = proto === C.IPPROTO_DCCP && t.sport === undefined && t.dport === undefined;
    if (!portless) {
      if (t.sport === undefined || t.dport === undefined) {
        throw new TypeError(`Invalid ${what}: ${protoName(proto)} needs sport and dport`);
      }
      checkU16(t.sport, `${what}.sport`);
      checkU16(t.dport, `${what}.dport`);
    }
  } else if (proto === C.IPPROTO_ICMP || proto === C.IPPROTO_ICMPV6) {
    if (t.type === undefined || t.code === undefined || t.id === undefined) {
      throw new TypeError(`Invalid ${what}: ${protoName(proto)} needs type, code and id`);
    }
    checkU8(t.type, `${what}.type`);
    checkU8(t.code, `${what}.code`);
    checkU16(t.id, `${what}.id`);
  } else if (proto === C.IPPROTO_GRE) {
    // The kernel's GRE tuple holds 16 bits of each key (nf_conntrack_proto_gre.c).
    if (t.srcKey !== undefined) checkU16(t.srcKey, `${what}.srcKey`);
    if (t.dstKey !== undefined) checkU16(t.dstKey, `${what}.dstKey`);
  }
  if (t.zone !== undefined) checkU16(t.zone, `${what}.zone`);
  return f;
}

/** Writes `t` as tuple attribute `type` (CTA_TUPLE_ORIG/REPLY/MASTER). Validate first. */
export function encodeTuple(b: MessageBuilder, type: number, t: Tuple, proto: number): void {
  const nest = b.nest(type);
  const ip = b.nest(C.CTA_TUPLE_IP);
  const sl = parseAddressInto(t.src, SCRATCH);
  if (sl === 0) parseAddress(t.src, undefined, "tuple src"); // throws the TypeError
  b.dataFrom(sl === 4 ? C.CTA_IP_V4_SRC : C.CTA_IP_V6_SRC, SCRATCH, sl);
  const dl = parseAddressInto(t.dst, SCRATCH, sl === 4 ? "ipv4" : "ipv6");
  if (dl === 0) parseAddress(t.dst, sl === 4 ? "ipv4" : "ipv6", "tuple dst");
  b.dataFrom(dl === 4 ? C.CTA_IP_V4_DST : C.CTA_IP_V6_DST, SCRATCH, dl);
  b.endNest(ip);
  const pr = b.nest(C.CTA_TUPLE_PROTO);
  b.u8(C.CTA_PROTO_NUM, proto);
  if (proto === C.IPPROTO_ICMP) {
    b.u16(C.CTA_PROTO_ICMP_ID, t.id ?? 0);
    b.u8(C.CTA_PROTO_ICMP_TYPE, t.type ?? 0);
    b.u8(C.CTA_PROTO_ICMP_CODE, t.code ?? 0);
  } else if (proto === C.IPPROTO_ICMPV6) {
    b.u16(C.CTA_PROTO_ICMPV6_ID, t.id ?? 0);
    b.u8(C.CTA_PROTO_ICMPV6_TYPE, t.type ?? 0);
    b.u8(C.CTA_PROTO_ICMPV6_CODE, t.code ?? 0);
  } else if (proto === C.IPPROTO_GRE) {
    b.u16(C.CTA_PROTO_SRC_PORT, t.srcKey ?? 0);
    b.u16(C.CTA_PROTO_DST_PORT, t.dstKey ?? 0);
  } else if (hasPorts(proto)) {
    b.u16(C.CTA_PROTO_SRC_PORT, t.sport ?? 0);
    b.u16(C.CTA_PROTO_DST_PORT, t.dport ?? 0);
  }
  b.endNest(pr);
  if (t.zone !== undefined) b.u16(C.CTA_TUPLE_ZONE, t.zone);
  b.endNest(nest);
}

// ICMP types whose reply type differs (nf_conntrack_proto_icmp.c / icmpv6.c invmap).
const ICMP_INVERSE: Record<number, number> = {
  8: 0,
  0: 8,
  13: 14,
  14: 13,
  15: 16,
  16: 15,
  17: 18,
  18: 17,
};
const ICMPV6_INVERSE: Record<number, number> = { 128: 129, 129: 128, 139: 140, 140: 139 };

/** The tuple of the other direction, as the kernel would compute it without NAT (no tuple zone). */
export function invertTuple(t: Tuple, proto: number): Tuple {
  const r: Tuple = { src: t.dst, dst: t.src };
  if (t.sport !== undefined) r.sport = t.dport;
  if (t.dport !== undefined) r.dport = t.sport;
  if (t.srcKey !== undefined || t.dstKey !== undefined) {
    r.srcKey = t.dstKey ?? 0;
    r.dstKey = t.srcKey ?? 0;
  }
  if (t.type !== undefined) {
    const inv = proto === C.IPPROTO_ICMPV6 ? ICMPV6_INVERSE : ICMP_INVERSE;
    const it = inv[t.type];
    if (it === undefined) {
      throw new TypeError(
        `Cannot invert ${protoName(proto)} type ${t.type}: give the reply tuple explicitly`,
      );
    }
    r.type = it;
    r.code = t.code;
    r.id = t.id;
  }
  // A tuple zone belongs to its direction only (zone-orig= / zone-reply=): it is not copied;
  // the kernel refuses (EINVAL) a create whose two tuples both carry one.
  return r;
}
