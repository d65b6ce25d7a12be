/**
 * {@link Filter}: which flows a dump, delete or flush is about. What the kernel can filter is
 * sent with the request (mark/mask, status/mask, zone, and the `CTA_FILTER` tuple filter); every
 * flow that comes back is then matched in userspace too, so the result is the same whether or
 * not this kernel filtered (a kernel that ignores an attribute just sends more).
 * @module
 */
import type { MessageBuilder } from "../netlink/attribute.ts";
import {
  type Family,
  formatAddress,
  parseAddressInto,
  parsePrefix,
  type Prefix,
  prefixContains,
} from "./address.ts";
import * as C from "./constants.ts";
import type { Flow } from "./flow.ts";
import { type StatusFlag, statusBits } from "./status.ts";
import { hasPorts, type Proto, protoNumber, type Tuple } from "./tuple.ts";

/** Conditions on one tuple. Addresses may be exact (`"10.0.0.1"`) or CIDR (`"10.0.0.0/8"`). */
export interface TupleFilter {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  /** The tuple's own zone (`CTA_TUPLE_ZONE`, `--orig-zone`/`--reply-zone`). */
  zone?: number;
}

/**
 * A flow filter. Every given condition must hold. `src`/`dst`/`sport`/`dport` are about the
 * original tuple; `reply` holds the same for the reply tuple.
 *
 * @example
 * ```ts
 * const f: Filter = { proto: "udp", dport: 53 };
 * const g: Filter = { family: "ipv4", reply: { src: "10.88.0.0/16" }, mark: { value: 1, mask: 0xff } };
 * ```
 */
export interface Filter extends TupleFilter {
  family?: Family;
  proto?: Proto;
  reply?: TupleFilter;
  /**
   * `mark` equal to a value, or `(mark & mask) === value`, as the kernel and conntrack's
   * `-m value/mask` compare it: a value with bits outside the mask matches nothing.
   */
  mark?: number | { value: number; mask: number };
  /** Conntrack zone (`CTA_ZONE`). */
  zone?: number;
  /** Flags that must all be set, or `{ value, mask }`: `(status & mask) === value`. */
  status?: StatusFlag[] | { value: StatusFlag[]; mask: StatusFlag[] };
  /** TCP, SCTP or DCCP state name, e.g. `"ESTABLISHED"`. */
  state?: string;
}

interface CompiledTuple {
  src?: Prefix;
  srcExact?: string;
  dst?: Prefix;
  dstExact?: string;
  sport?: number;
  dport?: number;
  zone?: number;
}

/** A checked filter: what to ask the kernel for, and a userspace predicate. */
export interface CompiledFilter {
  /** The families to dump: one dump per family when a `CTA_FILTER` needs one (`[0]` = all). */
  readonly families: number[];
  /** Writes the kernel-side filter attributes for a dump of `family`. */
  encode(b: MessageBuilder, family: number): void;
  /** Does `flow` match? */
  match(flow: Flow): boolean;
  /** True when the filter has no condition at all. */
  readonly empty: boolean;
  /**
   * What a kernel-side filtered flush would need: `exact` when every condition can be applied
   * by the kernel (no CIDR, no state, no zone, ports only on TCP/UDP), and which kernel
   * features that uses.
   */
  readonly kernel: { exact: boolean; ctaFilter: boolean; status: boolean };
}

const KEYS = new Set(["family", "proto", "src", "dst", "sport", "dport", "zone", "reply", "mark", "status", "state"]);
const TUPLE_KEYS = new Set(["src", "dst", "sport", "dport", "zone"]);

function port(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff) {
    throw new RangeError(`Invalid filter ${what} ${String(v)}: must be an integer 0..65535`);
  }
  return v;
}

function compileTuple(t: TupleFilter, what: string, fam: { f?: Family }): CompiledTuple {
  if (t === null || typeof t !== "object") throw new TypeError(`Invalid filter ${what}: expected an object`);
  for (const k of Object.keys(t)) {
    if (!TUPLE_KEYS.has(k)) throw new TypeError(`Invalid filter ${what}: unknown key "${k}"`);
  }
  const out: CompiledTuple = {};
  for (const k of ["src", "dst"] as const) {
    const v = t[k];
    if (v === undefined) continue;
    const p = parsePrefix(v, `filter ${what}.${k}`);
    if (fam.f && fam.f !== p.family) {
      throw new TypeError(`Invalid filter: ${what}.${k} "${v}" is ${p.family} but the filter is ${fam.f}`);
    }
    fam.f = p.family;
    if (p.bits === p.bytes.length * 8) {
      if (k === "src") out.srcExact = formatAddress(p.bytes);
      else out.dstExact = formatAddress(p.bytes);
    }
    out[k] = p;
  }
  if (t.sport !== undefined) out.sport = port(t.sport, `${what}.sport`);
  if (t.dport !== undefined) out.dport = port(t.dport, `${what}.dport`);
  if (t.zone !== undefined) out.zone = port(t.zone, `${what}.zone`);
  return out;
}

/** Scratch for address bytes while matching (matching is synchronous). */
const SCRATCH = new Uint8Array(16);

function inPrefix(p: Prefix, addr: string): boolean {
  const len = parseAddressInto(addr, SCRATCH);
  return len !== 0 && prefixContains(p, SCRATCH, 0, len);
}

function tupleMatch(c: CompiledTuple, t: Tuple): boolean {
  if (c.srcExact !== undefined) {
    if (t.src !== c.srcExact) return false;
  } else if (c.src && !inPrefix(c.src, t.src)) return false;
  if (c.dstExact !== undefined) {
    if (t.dst !== c.dstExact) return false;
  } else if (c.dst && !inPrefix(c.dst, t.dst)) return false;
  if (c.sport !== undefined && t.sport !== c.sport) return false;
  if (c.dport !== undefined && t.dport !== c.dport) return false;
  if (c.zone !== undefined && (t.zone ?? 0) !== c.zone) return false;
  return true;
}

function tupleEmpty(c: CompiledTuple): boolean {
  return c.src === undefined && c.dst === undefined && c.sport === undefined && c.dport === undefined && c.zone === undefined;
}

/** Kernel-side CTA_FILTER flags for a tuple condition (exact addresses and ports only). */
function tupleFlags(c: CompiledTuple, proto: number | undefined): number {
  let f = 0;
  if (c.srcExact !== undefined) f |= C.CTA_FILTER_FLAG_CTA_IP_SRC;
  if (c.dstExact !== undefined) f |= C.CTA_FILTER_FLAG_CTA_IP_DST;
  // The kernel compares the entry's zone id for that direction, which a plain zone (zone=7) also
  // sets; conntrack --reply-zone 0 still lists those entries, so zone 0 is matched in userspace.
  if (c.zone !== undefined && c.zone !== 0) f |= C.CTA_FILTER_FLAG_CTA_TUPLE_ZONE;
  if (proto !== undefined) {
    f |= C.CTA_FILTER_FLAG_CTA_PROTO_NUM;
    if (hasPorts(proto)) {
      if (c.sport !== undefined) f |= C.CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT;
      if (c.dport !== undefined) f |= C.CTA_FILTER_FLAG_CTA_PROTO_DST_PORT;
    }
  }
  return f;
}

function encodeTupleFilter(b: MessageBuilder, type: number, c: CompiledTuple, proto: number | undefined, flags: number): void {
  const nest = b.nest(type);
  if (flags & (C.CTA_FILTER_FLAG_CTA_IP_SRC | C.CTA_FILTER_FLAG_CTA_IP_DST)) {
    const ip = b.nest(C.CTA_TUPLE_IP);
    if (c.srcExact !== undefined) b.data(c.src!.bytes.length === 4 ? C.CTA_IP_V4_SRC : C.CTA_IP_V6_SRC, c.src!.bytes);
    if (c.dstExact !== undefined) b.data(c.dst!.bytes.length === 4 ? C.CTA_IP_V4_DST : C.CTA_IP_V6_DST, c.dst!.bytes);
    b.endNest(ip);
  }
  if (proto !== undefined) {
    const p = b.nest(C.CTA_TUPLE_PROTO);
    b.u8(C.CTA_PROTO_NUM, proto);
    if (flags & C.CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT) b.u16(C.CTA_PROTO_SRC_PORT, c.sport!);
    if (flags & C.CTA_FILTER_FLAG_CTA_PROTO_DST_PORT) b.u16(C.CTA_PROTO_DST_PORT, c.dport!);
    b.endNest(p);
  }
  if (flags & C.CTA_FILTER_FLAG_CTA_TUPLE_ZONE) b.u16(C.CTA_TUPLE_ZONE, c.zone!);
  b.endNest(nest);
}

/**
 * Checks a filter and compiles it.
 * @throws {TypeError} on unknown keys, bad addresses or a family mismatch; {@link RangeError}
 * on out-of-range numbers.
 */
export function compileFilter(filter: Filter = {}): CompiledFilter {
  if (filter === null || typeof filter !== "object") throw new TypeError("Invalid filter: expected an object");
  for (const k of Object.keys(filter)) {
    if (!KEYS.has(k)) throw new TypeError(`Invalid filter: unknown key "${k}"`);
  }
  const fam: { f?: Family } = {};
  if (filter.family !== undefined) {
    if (filter.family !== "ipv4" && filter.family !== "ipv6") {
      throw new TypeError(`Invalid filter family "${String(filter.family)}": expected "ipv4" or "ipv6"`);
    }
    fam.f = filter.family;
  }
  const proto = filter.proto === undefined ? undefined : protoNumber(filter.proto);
  const orig = compileTuple({ src: filter.src, dst: filter.dst, sport: filter.sport, dport: filter.dport }, "orig", fam);
  for (const k of ["src", "dst", "sport", "dport"] as const) if (filter[k] === undefined) delete orig[k];
  const reply = compileTuple(filter.reply ?? {}, "reply", fam);
  if ((orig.sport ?? orig.dport ?? reply.sport ?? reply.dport) !== undefined && proto !== undefined && !hasPorts(proto)) {
    throw new TypeError(`Invalid filter: protocol ${String(filter.proto)} has no ports`);
  }
  let markValue: number | undefined, markMask = 0xffffffff;
  if (filter.mark !== undefined) {
    const m = typeof filter.mark === "number" ? { value: filter.mark, mask: 0xffffffff } : filter.mark;
    for (const [k, v] of [["mark", m.value], ["mark mask", m.mask]] as const) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new RangeError(`Invalid filter ${k} ${String(v)}: must be an integer 0..4294967295`);
      }
    }
    markMask = m.mask >>> 0;
    markValue = m.value >>> 0;
  }
  let statusValue: number | undefined, statusMask = 0;
  if (filter.status !== undefined) {
    if (Array.isArray(filter.status)) {
      statusValue = statusMask = statusBits(filter.status);
    } else {
      statusMask = statusBits(filter.status.mask);
      statusValue = statusBits(filter.status.value) & statusMask;
    }
  }
  const zone = filter.zone === undefined ? undefined : port(filter.zone, "zone");
  const state = filter.state;
  if (state !== undefined) {
    const all = [...C.TCP_STATES, ...C.SCTP_STATES, ...C.DCCP_STATES] as readonly string[];
    if (!all.includes(state)) throw new TypeError(`Invalid filter state "${state}": expected a TCP, SCTP or DCCP state such as ESTABLISHED`);
  }
  const family = fam.f;
  const origFlags = tupleFlags(orig, proto);
  const replyFlags = tupleFlags(reply, proto);
  const needsCtaFilter = (origFlags | replyFlags) !== 0;
  const familyNum = family === "ipv4" ? C.AF_INET : family === "ipv6" ? C.AF_INET6 : 0;
  // A CTA_FILTER needs a family (EOPNOTSUPP with AF_UNSPEC): dump each family in turn.
  const families = familyNum ? [familyNum] : needsCtaFilter ? [C.AF_INET, C.AF_INET6] : [0];
  const origEmpty = tupleEmpty(orig), replyEmpty = tupleEmpty(reply);
  const empty = family === undefined && proto === undefined && origEmpty && replyEmpty && markValue === undefined &&
    statusValue === undefined && zone === undefined && state === undefined;

  const fullAddrs = (c: CompiledTuple) =>
    (c.src === undefined || c.srcExact !== undefined) && (c.dst === undefined || c.dstExact !== undefined);
  const anyPorts = (c: CompiledTuple) => c.sport !== undefined || c.dport !== undefined;
  const exact = fullAddrs(orig) && fullAddrs(reply) && state === undefined && zone === undefined &&
    orig.zone === undefined && reply.zone === undefined &&
    (!(anyPorts(orig) || anyPorts(reply)) || proto === C.IPPROTO_TCP || proto === C.IPPROTO_UDP);

  return {
    families,
    empty,
    kernel: { exact, ctaFilter: needsCtaFilter, status: statusValue !== undefined },
    encode(b: MessageBuilder, fnum: number): void {
      if (markValue !== undefined) {
        b.u32(C.CTA_MARK, markValue);
        b.u32(C.CTA_MARK_MASK, markMask);
      }
      if (statusValue !== undefined) {
        b.u32(C.CTA_STATUS, statusValue);
        b.u32(C.CTA_STATUS_MASK, statusMask);
      }
      // The kernel matches CTA_ZONE against the zone id whatever its direction, so zone 0 would
      // drop entries with only a tuple zone (zone-orig=3), which conntrack -w 0 lists: match
      // zone 0 in userspace only.
      if (zone !== undefined && zone !== 0) b.u16(C.CTA_ZONE, zone);
      if (needsCtaFilter && fnum !== 0) {
        if (origFlags) encodeTupleFilter(b, C.CTA_TUPLE_ORIG, orig, proto, origFlags);
        if (replyFlags) encodeTupleFilter(b, C.CTA_TUPLE_REPLY, reply, proto, replyFlags);
        const n = b.nest(C.CTA_FILTER);
        // CTA_FILTER_*_FLAGS are NLA_U32: host byte order, unlike the rest of ctnetlink.
        b.u32host(C.CTA_FILTER_ORIG_FLAGS, origFlags);
        b.u32host(C.CTA_FILTER_REPLY_FLAGS, replyFlags);
        b.endNest(n);
      }
    },
    match(flow: Flow): boolean {
      if (family !== undefined && flow.family !== family) return false;
      if (proto !== undefined && protoNumber(flow.proto) !== proto) return false;
      if (!origEmpty && !tupleMatch(orig, flow.orig)) return false;
      if (!replyEmpty && !tupleMatch(reply, flow.reply)) return false;
      if (markValue !== undefined && (((flow.mark ?? 0) & markMask) >>> 0) !== markValue) return false;
      if (statusValue !== undefined && ((statusBits(flow.status ?? []) & statusMask) >>> 0) !== statusValue) return false;
      if (zone !== undefined && (flow.zone ?? 0) !== zone) return false;
      if (state !== undefined && (flow.tcp?.state ?? flow.sctp?.state ?? flow.dccp?.state) !== state) return false;
      return true;
    },
  };
}
