/**
 * The tuple part of a {@link Filter}: conditions on one direction of a flow (addresses with a
 * prefix or a netmask, ports, ICMP fields, GRE keys, the tuple's zone), checked and compiled into
 * a userspace predicate for `compileFilter` (filter.ts).
 * @module
 */
import {
  type Family,
  formatAddress,
  parseAddressInto,
  parsePrefix,
  type Prefix,
  prefixContains,
} from "./address.ts";
import { u16, u32, u8 } from "./filter_extra.ts";
import type { Tuple } from "./tuple.ts";

/**
 * Conditions on one tuple. Addresses may be exact (`"10.0.0.1"`), a CIDR prefix
 * (`"10.0.0.0/8"`) or an address with a netmask (`"10.1.0.3/255.255.0.255"`, conntrack's
 * `--mask-src`). Every given condition must hold.
 */
export interface TupleFilter {
  /** Source address, prefix or address/netmask. */
  src?: string;
  /** Destination address, prefix or address/netmask. */
  dst?: string;
  /** Source port (TCP, UDP, UDP-Lite, SCTP, DCCP). */
  sport?: number;
  /** Destination port (TCP, UDP, UDP-Lite, SCTP, DCCP). */
  dport?: number;
  /** ICMP/ICMPv6 type (`--icmp-type`). */
  icmpType?: number;
  /** ICMP/ICMPv6 code (`--icmp-code`). */
  icmpCode?: number;
  /** ICMP/ICMPv6 echo id (`--icmp-id`). */
  icmpId?: number;
  /** GRE source key (`--srckey`). */
  srcKey?: number;
  /** GRE destination key (`--dstkey`). */
  dstKey?: number;
  /** The tuple's own zone (`CTA_TUPLE_ZONE`, `--orig-zone`/`--reply-zone`). */
  zone?: number;
}

/** A tuple condition, checked: prefixes, and the exact addresses as the decoder prints them. */
export interface CompiledTuple {
  /** The source address condition (prefix or netmask). */
  src?: Prefix;
  /** The source address as the decoder prints it, when the condition is one exact address. */
  srcExact?: string;
  /** The destination address condition (prefix or netmask). */
  dst?: Prefix;
  /** The destination address as the decoder prints it, when exact. */
  dstExact?: string;
  /** Source port. */
  sport?: number;
  /** Destination port. */
  dport?: number;
  /** ICMP/ICMPv6 type. */
  icmpType?: number;
  /** ICMP/ICMPv6 code. */
  icmpCode?: number;
  /** ICMP/ICMPv6 id. */
  icmpId?: number;
  /** GRE source key. */
  srcKey?: number;
  /** GRE destination key. */
  dstKey?: number;
  /** The tuple's own zone. */
  zone?: number;
}

/** The keys a tuple condition may have. */
export const TUPLE_KEYS: ReadonlySet<string> = new Set([
  "src",
  "dst",
  "sport",
  "dport",
  "icmpType",
  "icmpCode",
  "icmpId",
  "srcKey",
  "dstKey",
  "zone",
]);

/**
 * Refuses keys that are unknown, or present with `undefined`/`null`: a present key must
 * constrain (`{ reply: { src: ip } }` with `ip` unset must not become "every flow").
 */
export function checkFilterKeys(
  o: Record<string, unknown>,
  allowed: ReadonlySet<string>,
  what: string,
): void {
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) throw new TypeError(`Invalid filter: unknown key "${what}${k}"`);
    const v = o[k];
    if (v === undefined || v === null) {
      throw new TypeError(
        `Invalid filter: "${what}${k}" is ${v} (leave the key out to not filter on it)`,
      );
    }
  }
}

/** Compiles the tuple keys of `t` (prefixed `what` in errors); `fam.f` is the family so far. */
export function compileTuple(
  t: Record<string, unknown>,
  what: string,
  fam: { f?: Family },
): CompiledTuple {
  const out: CompiledTuple = {};
  for (const k of ["src", "dst"] as const) {
    const v = t[k];
    if (v === undefined) continue;
    if (typeof v !== "string") {
      throw new TypeError(
        `Invalid filter ${what}${k}: expected an address or CIDR string, got ${typeof v}`,
      );
    }
    const p = parsePrefix(v, `filter ${what}${k}`);
    if (fam.f && fam.f !== p.family) {
      throw new TypeError(
        `Invalid filter: ${what}${k} "${v}" is ${p.family} but the filter is ${fam.f}`,
      );
    }
    fam.f = p.family;
    if (p.bits === p.bytes.length * 8) {
      if (k === "src") out.srcExact = formatAddress(p.bytes);
      else out.dstExact = formatAddress(p.bytes);
    }
    out[k] = p;
  }
  if (t.sport !== undefined) out.sport = u16(t.sport, `${what}sport`);
  if (t.dport !== undefined) out.dport = u16(t.dport, `${what}dport`);
  if (t.icmpType !== undefined) out.icmpType = u8(t.icmpType, `${what}icmpType`);
  if (t.icmpCode !== undefined) out.icmpCode = u8(t.icmpCode, `${what}icmpCode`);
  if (t.icmpId !== undefined) out.icmpId = u16(t.icmpId, `${what}icmpId`);
  if (t.srcKey !== undefined) out.srcKey = u32(t.srcKey, `${what}srcKey`);
  if (t.dstKey !== undefined) out.dstKey = u32(t.dstKey, `${what}dstKey`);
  if (t.zone !== undefined) out.zone = u16(t.zone, `${what}zone`);
  return out;
}

/** Scratch for address bytes while matching (matching is synchronous). */
const SCRATCH = new Uint8Array(16);

function inPrefix(p: Prefix, addr: string): boolean {
  const len = parseAddressInto(addr, SCRATCH);
  return len !== 0 && prefixContains(p, SCRATCH, 0, len);
}

/** Does tuple `t` meet every condition of `c`? */
export function tupleMatch(c: CompiledTuple, t: Tuple): boolean {
  if (c.srcExact !== undefined) {
    if (t.src !== c.srcExact) return false;
  } else if (c.src && !inPrefix(c.src, t.src)) return false;
  if (c.dstExact !== undefined) {
    if (t.dst !== c.dstExact) return false;
  } else if (c.dst && !inPrefix(c.dst, t.dst)) return false;
  if (c.sport !== undefined && t.sport !== c.sport) return false;
  if (c.dport !== undefined && t.dport !== c.dport) return false;
  if (c.icmpType !== undefined && t.type !== c.icmpType) return false;
  if (c.icmpCode !== undefined && t.code !== c.icmpCode) return false;
  if (c.icmpId !== undefined && t.id !== c.icmpId) return false;
  if (c.srcKey !== undefined && t.srcKey !== c.srcKey) return false;
  if (c.dstKey !== undefined && t.dstKey !== c.dstKey) return false;
  if (c.zone !== undefined && (t.zone ?? 0) !== c.zone) return false;
  return true;
}

/** True when `c` has no condition. */
export function tupleEmpty(c: CompiledTuple): boolean {
  for (const k in c) if (c[k as keyof CompiledTuple] !== undefined) return false;
  return true;
}

/** True when `c` has ICMP conditions; GRE-key conditions. */
export const hasIcmp = (c: CompiledTuple): boolean =>
  (c.icmpType ?? c.icmpCode ?? c.icmpId) !== undefined;
/** True when `c` has GRE-key conditions. */
export const hasGreKeys = (c: CompiledTuple): boolean => (c.srcKey ?? c.dstKey) !== undefined;
