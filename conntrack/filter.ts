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
import { encodeTupleFilter, tupleFlags } from "./filter_kernel.ts";
import {
  compileLabelFilter,
  compileMark,
  compileNatFilter,
  compileStatus,
  isObject,
  type LabelFilter,
  type NatFilter,
  u16,
} from "./filter_extra.ts";
import { ALL_STATES, hasPorts } from "./protocols.ts";
import { type Proto, protoNumber, type Tuple } from "./tuple.ts";

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
  /** The original tuple's own zone (`CTA_TUPLE_ZONE` of the original direction, `--orig-zone`). */
  origZone?: number;
  /** Source-NATed entries (`--src-nat [ip[:port]]`): `true`, or NATed to this reply destination. */
  srcNat?: NatFilter;
  /** Destination-NATed entries (`--dst-nat [ip[:port]]`): `true`, or NATed to this reply source. */
  dstNat?: NatFilter;
  /** Entries NATed either way (`--any-nat [ip[:port]]`). */
  anyNat?: NatFilter;
  /** Connlabels (`-l`): all of `all`, any of `any`; bits 0..127 or names of connlabel.conf. */
  labels?: LabelFilter;
  /**
   * Negation: flows that do NOT match this filter (an array: that match none of them), besides
   * every other condition here. E.g. `{ proto: "udp", not: { reply: { src: "10.0.0.0/8" } } }`.
   * Matched in userspace (the other conditions still go to the kernel).
   */
  not?: Filters;
}

/** A tuple condition, checked: prefixes, and the exact addresses as the decoder prints them. */
export interface CompiledTuple {
  src?: Prefix;
  srcExact?: string;
  dst?: Prefix;
  dstExact?: string;
  sport?: number;
  dport?: number;
  zone?: number;
}

/**
 * The conditions of a filter that a kernel-side flush can apply (see
 * {@link CompiledFilter.kernel}): exact IPv4 addresses, ports, protocol, family, mark and
 * status. Used to build the sentinel entries that prove a kernel filter on a scratch table.
 */
export interface KernelConditions {
  family?: Family;
  proto?: number;
  orig: { src?: string; dst?: string; sport?: number; dport?: number };
  reply: { src?: string; dst?: string; sport?: number; dport?: number };
  mark?: { value: number; mask: number };
  status?: { value: number; mask: number };
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
   * What a kernel-side flush would need: `exact` when every condition is one the kernel
   * applies itself (no CIDR, no IPv6 address, no state, no zone, ports only on TCP/UDP),
   * `conditions` those conditions, and `shape` a key naming which kinds of condition are sent
   * (two filters of one shape send the same attributes with other values).
   */
  readonly kernel: { exact: boolean; shape: string; conditions: KernelConditions };
  /** For an any-of filter (an array): its filters, compiled; undefined for a single filter. */
  readonly anyOf?: readonly CompiledFilter[];
}

/**
 * Filters of which a flow must match at least one (any-of), e.g. the netavark case: reply
 * source = IP, or reply destination = IP, or UDP to the host port. One dump serves them all.
 */
export type Filters = Filter | readonly Filter[];

/**
 * Checks and compiles an any-of filter: at least one filter, each with at least one condition
 * (an empty one would select every flow). One dump of the families they need; every flow is
 * matched in userspace against each in turn.
 */
function compileAnyOf(filters: readonly Filter[]): CompiledFilter {
  if (filters.length === 0) throw new TypeError("Invalid filter: an empty list of filters (any-of) selects nothing; leave it out");
  const parts = filters.map((f, i) => {
    let c: CompiledFilter;
    try {
      c = compileOne(f);
    } catch (e) {
      if (e instanceof Error) e.message = `filter[${i}]: ${e.message}`;
      throw e;
    }
    if (c.empty) throw new TypeError(`Invalid filter[${i}]: it has no condition, so the any-of would select every flow`);
    return c;
  });
  if (parts.length === 1) return parts[0];
  const fams = new Set(parts.flatMap((p) => p.families));
  // One family that all parts need (each asks for it alone), else a dump of every family.
  const families = fams.size === 1 && !fams.has(0) ? [...fams] : [0];
  const family = families[0] === C.AF_INET ? "ipv4" : families[0] === C.AF_INET6 ? "ipv6" : undefined;
  return {
    families,
    empty: false,
    anyOf: parts,
    kernel: { exact: false, shape: "", conditions: { family, orig: {}, reply: {} } },
    encode(): void {},
    match: (flow) => parts.some((p) => p.match(flow)),
  };
}

const KEYS = new Set([
  "family", "proto", "src", "dst", "sport", "dport", "zone", "reply", "mark", "status", "state",
  "origZone", "srcNat", "dstNat", "anyNat", "labels", "not",
]);
const TUPLE_KEYS = new Set(["src", "dst", "sport", "dport", "zone"]);

/**
 * Refuses keys that are unknown, or present with `undefined`/`null`: a present key must
 * constrain (`{ reply: { src: ip } }` with `ip` unset must not become "every flow").
 */
function checkKeys(o: Record<string, unknown>, allowed: Set<string>, what: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) throw new TypeError(`Invalid filter: unknown key "${what}${k}"`);
    const v = o[k];
    if (v === undefined || v === null) {
      throw new TypeError(`Invalid filter: "${what}${k}" is ${v} (leave the key out to not filter on it)`);
    }
  }
}

function compileTuple(t: Record<string, unknown>, what: string, fam: { f?: Family }): CompiledTuple {
  const out: CompiledTuple = {};
  for (const k of ["src", "dst"] as const) {
    const v = t[k];
    if (v === undefined) continue;
    if (typeof v !== "string") throw new TypeError(`Invalid filter ${what}${k}: expected an address or CIDR string, got ${typeof v}`);
    const p = parsePrefix(v, `filter ${what}${k}`);
    if (fam.f && fam.f !== p.family) {
      throw new TypeError(`Invalid filter: ${what}${k} "${v}" is ${p.family} but the filter is ${fam.f}`);
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
  if (t.zone !== undefined) out.zone = u16(t.zone, `${what}zone`);
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

/**
 * Checks a filter, or an any-of list of filters, and compiles it. `undefined` means no filter
 * (every flow). A key that is
 * present must constrain: `undefined`/`null` values, an empty `reply`, an empty status list
 * or a zero mark mask, unknown keys and wrong types are refused.
 * @throws {TypeError} on unknown keys, missing values, wrong types, bad addresses or a family
 * mismatch; {@link RangeError} on out-of-range numbers.
 */
export function compileFilter(filter?: Filters): CompiledFilter {
  return Array.isArray(filter) ? compileAnyOf(filter) : compileOne(filter as Filter | undefined);
}

function compileOne(filter?: Filter): CompiledFilter {
  if (filter === undefined) filter = {};
  if (!isObject(filter)) {
    throw new TypeError(`Invalid filter: expected an object, got ${filter === null ? "null" : Array.isArray(filter) ? "an array" : typeof filter}`);
  }
  const fo = filter as Record<string, unknown>;
  checkKeys(fo, KEYS, "");
  const fam: { f?: Family } = {};
  if (fo.family !== undefined) {
    if (fo.family !== "ipv4" && fo.family !== "ipv6") {
      throw new TypeError(`Invalid filter family "${String(fo.family)}": expected "ipv4" or "ipv6"`);
    }
    fam.f = fo.family;
  }
  if (fo.proto !== undefined && typeof fo.proto !== "string" && typeof fo.proto !== "number") {
    throw new TypeError(`Invalid filter proto: expected a name or a number, got ${typeof fo.proto}`);
  }
  const proto = fo.proto === undefined ? undefined : protoNumber(fo.proto as Proto);
  const orig = compileTuple(fo, "", fam);
  delete orig.zone; // the top-level zone is the entry's zone (CTA_ZONE), not the tuple's
  let reply: CompiledTuple = {};
  if (fo.reply !== undefined) {
    if (!isObject(fo.reply)) throw new TypeError(`Invalid filter reply: expected an object, got ${Array.isArray(fo.reply) ? "an array" : typeof fo.reply}`);
    checkKeys(fo.reply, TUPLE_KEYS, "reply.");
    if (Object.keys(fo.reply).length === 0) {
      throw new TypeError('Invalid filter: "reply" is empty (leave it out to not filter on the reply tuple)');
    }
    reply = compileTuple(fo.reply, "reply.", fam);
  }
  if ((orig.sport ?? orig.dport ?? reply.sport ?? reply.dport) !== undefined && proto !== undefined && !hasPorts(proto)) {
    throw new TypeError(`Invalid filter: protocol ${String(fo.proto)} has no ports`);
  }
  const mark = fo.mark === undefined ? undefined : compileMark(fo.mark);
  const status = fo.status === undefined ? undefined : compileStatus(fo.status);
  const zone = fo.zone === undefined ? undefined : u16(fo.zone, "zone");
  const state = fo.state;
  if (state !== undefined) {
    if (typeof state !== "string" || !ALL_STATES.has(state)) {
      throw new TypeError(`Invalid filter state "${String(state)}": expected a TCP, SCTP or DCCP state such as ESTABLISHED`);
    }
  }
  const origZone = fo.origZone === undefined ? undefined : u16(fo.origZone, "origZone");
  const nat = compileNatFilter(fo.srcNat, fo.dstNat, fo.anyNat);
  const labels = fo.labels === undefined ? undefined : compileLabelFilter(fo.labels);
  let not: CompiledFilter | undefined;
  if (fo.not !== undefined) {
    try {
      not = compileFilter(fo.not as Filters);
    } catch (e) {
      if (e instanceof Error) e.message = `not: ${e.message}`;
      throw e;
    }
    if (not.empty) throw new TypeError('Invalid filter: "not" has no condition (it would select no flow)');
  }
  const family = fam.f;
  // A dump with CTA_ZONE and a reply CTA_TUPLE_ZONE (both non-zero) fails with EINVAL on 6.18:
  // then the tuple zone is matched in userspace only.
  const zoneSent = zone !== undefined && zone !== 0;
  const origFlags = tupleFlags(orig, proto, true);
  const replyFlags = tupleFlags(reply, proto, !zoneSent);
  const needsCtaFilter = (origFlags | replyFlags) !== 0;
  const familyNum = family === "ipv4" ? C.AF_INET : family === "ipv6" ? C.AF_INET6 : 0;
  // A CTA_FILTER needs a family (EOPNOTSUPP with AF_UNSPEC): dump each family in turn.
  const families = familyNum ? [familyNum] : needsCtaFilter ? [C.AF_INET, C.AF_INET6] : [0];
  const origEmpty = tupleEmpty(orig), replyEmpty = tupleEmpty(reply);
  const empty = family === undefined && proto === undefined && origEmpty && replyEmpty && mark === undefined &&
    status === undefined && zone === undefined && state === undefined && not === undefined &&
    origZone === undefined && nat === undefined && labels === undefined;

  // Every condition is one the kernel applies: exact IPv4 addresses, TCP/UDP ports, protocol,
  // family, mark and status.
  const sent = (c: CompiledTuple, flags: number) =>
    (c.src === undefined || (flags & C.CTA_FILTER_FLAG_CTA_IP_SRC) !== 0) &&
    (c.dst === undefined || (flags & C.CTA_FILTER_FLAG_CTA_IP_DST) !== 0) &&
    (c.sport === undefined || (flags & C.CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT) !== 0) &&
    (c.dport === undefined || (flags & C.CTA_FILTER_FLAG_CTA_PROTO_DST_PORT) !== 0) &&
    c.zone === undefined;
  const exact = sent(orig, origFlags) && sent(reply, replyFlags) && state === undefined && zone === undefined &&
    not === undefined && origZone === undefined && nat === undefined && labels === undefined;
  const kTuple = (c: CompiledTuple) => ({ src: c.srcExact, dst: c.dstExact, sport: c.sport, dport: c.dport });
  const conditions: KernelConditions = { family, proto, orig: kTuple(orig), reply: kTuple(reply), mark, status };
  const shape = [families.join("+"), origFlags, replyFlags, mark ? "m" : "", status ? "s" : ""].join(":");

  return {
    families,
    empty,
    kernel: { exact, shape, conditions },
    encode(b: MessageBuilder, fnum: number): void {
      if (mark !== undefined) {
        b.u32(C.CTA_MARK, mark.value);
        b.u32(C.CTA_MARK_MASK, mark.mask);
      }
      if (status !== undefined) {
        b.u32(C.CTA_STATUS, status.value);
        b.u32(C.CTA_STATUS_MASK, status.mask);
      }
      // The kernel matches CTA_ZONE against the zone id whatever its direction, so zone 0 would
      // drop entries with only a tuple zone (zone-orig=3), which conntrack -w 0 lists: match
      // zone 0 in userspace only.
      if (zoneSent) b.u16(C.CTA_ZONE, zone!);
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
      if (mark !== undefined && (((flow.mark ?? 0) & mark.mask) >>> 0) !== mark.value) return false;
      if (status !== undefined && ((statusBits(flow.status ?? []) & status.mask) >>> 0) !== status.value) return false;
      if (zone !== undefined && (flow.zone ?? 0) !== zone) return false;
      if (state !== undefined && (flow.tcp?.state ?? flow.sctp?.state ?? flow.dccp?.state) !== state) return false;
      if (origZone !== undefined && (flow.orig.zone ?? 0) !== origZone) return false;
      if (nat !== undefined && !nat(flow)) return false;
      if (labels !== undefined && !labels(flow)) return false;
      if (not !== undefined && not.match(flow)) return false;
      return true;
    },
  };
}
