/**
 * {@link Filter}: which flows a dump, delete or flush is about. What the kernel can filter is
 * sent with the request (mark/mask, status/mask, zone, and the `CTA_FILTER` tuple filter); every
 * flow that comes back is then matched in userspace too, so the result is the same whether or
 * not this kernel filtered (a kernel that ignores an attribute just sends more).
 * @module
 */
import type { MessageBuilder } from "../netlink/attribute.ts";
import type { Family } from "./address.ts";
import * as C from "./constants.ts";
import type { Flow } from "./flow.ts";
import { statusBits, type StatusFlag } from "./status.ts";
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
  u32,
} from "./filter_extra.ts";
import {
  checkFilterKeys as checkKeys,
  type CompiledTuple,
  compileTuple,
  hasGreKeys,
  hasIcmp,
  TUPLE_KEYS,
  tupleEmpty,
  type TupleFilter,
  tupleMatch,
} from "./filter_tuple.ts";
import { ALL_STATES, hasPorts, IPPROTO_GRE, protocolOf } from "./protocols.ts";
import { type Proto, protoNumber } from "./tuple.ts";

export type { CompiledTuple, TupleFilter };

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
  /** The address family the flow must have. */
  family?: Family;
  /** The layer-4 protocol, by name or number. */
  proto?: Proto;
  /** Conditions on the reply tuple (the same keys as the original tuple). */
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
  /** The entry's id (`CTA_ID`, conntrack's `-i`). */
  id?: number;
  /**
   * Seconds left before the entry expires: exactly this many, or within `{ min, max }`
   * (inclusive; either may be left out). conntrack's `-t` on a listing is the exact form.
   */
  timeout?: number | { min?: number; max?: number };
  /**
   * Negation: flows that do NOT match this filter (an array: that match none of them), besides
   * every other condition here. E.g. `{ proto: "udp", not: { reply: { src: "10.0.0.0/8" } } }`.
   * Matched in userspace (the other conditions still go to the kernel).
   */
  not?: Filters;
}

/**
 * The conditions of a filter that a kernel-side flush can apply (see
 * {@link CompiledFilter.kernel}): exact IPv4 addresses, ports, protocol, family, mark and
 * status. Used to build the sentinel entries that prove a kernel filter on a scratch table.
 */
export interface KernelConditions {
  /** The address family, when the filter names one. */
  family?: Family;
  /** The protocol number, when the filter names one. */
  proto?: number;
  /** The original tuple's exact conditions. */
  orig: { src?: string; dst?: string; sport?: number; dport?: number };
  /** The reply tuple's exact conditions. */
  reply: { src?: string; dst?: string; sport?: number; dport?: number };
  /** The mark condition, `(mark & mask) === value`. */
  mark?: { value: number; mask: number };
  /** The status condition, `(status & mask) === value` (bits). */
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
  if (filters.length === 0) {
    throw new TypeError(
      "Invalid filter: an empty list of filters (any-of) selects nothing; leave it out",
    );
  }
  const parts = filters.map((f, i) => {
    let c: CompiledFilter;
    try {
      c = compileOne(f);
    } catch (e) {
      if (e instanceof Error) e.message = `filter[${i}]: ${e.message}`;
      throw e;
    }
    if (c.empty) {
      throw new TypeError(
        `Invalid filter[${i}]: it has no condition, so the any-of would select every flow`,
      );
    }
    return c;
  });
  if (parts.length === 1) return parts[0];
  const fams = new Set(parts.flatMap((p) => p.families));
  // One family that all parts need (each asks for it alone), else a dump of every family.
  const families = fams.size === 1 && !fams.has(0) ? [...fams] : [0];
  const family = families[0] === C.AF_INET
    ? "ipv4"
    : families[0] === C.AF_INET6
    ? "ipv6"
    : undefined;
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
  "family",
  "proto",
  "src",
  "dst",
  "sport",
  "dport",
  "zone",
  "reply",
  "mark",
  "status",
  "state",
  "origZone",
  "srcNat",
  "dstNat",
  "anyNat",
  "labels",
  "not",
  "icmpType",
  "icmpCode",
  "icmpId",
  "srcKey",
  "dstKey",
  "id",
  "timeout",
]);

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
    throw new TypeError(
      `Invalid filter: expected an object, got ${
        filter === null ? "null" : Array.isArray(filter) ? "an array" : typeof filter
      }`,
    );
  }
  const fo = filter as Record<string, unknown>;
  checkKeys(fo, KEYS, "");
  const fam: { f?: Family } = {};
  if (fo.family !== undefined) {
    if (fo.family !== "ipv4" && fo.family !== "ipv6") {
      throw new TypeError(
        `Invalid filter family "${String(fo.family)}": expected "ipv4" or "ipv6"`,
      );
    }
    fam.f = fo.family;
  }
  if (fo.proto !== undefined && typeof fo.proto !== "string" && typeof fo.proto !== "number") {
    throw new TypeError(
      `Invalid filter proto: expected a name or a number, got ${typeof fo.proto}`,
    );
  }
  const proto = fo.proto === undefined ? undefined : protoNumber(fo.proto as Proto);
  const orig = compileTuple(fo, "", fam);
  delete orig.zone; // the top-level zone is the entry's zone (CTA_ZONE), not the tuple's
  let reply: CompiledTuple = {};
  if (fo.reply !== undefined) {
    if (!isObject(fo.reply)) {
      throw new TypeError(
        `Invalid filter reply: expected an object, got ${
          Array.isArray(fo.reply) ? "an array" : typeof fo.reply
        }`,
      );
    }
    checkKeys(fo.reply, TUPLE_KEYS, "reply.");
    if (Object.keys(fo.reply).length === 0) {
      throw new TypeError(
        'Invalid filter: "reply" is empty (leave it out to not filter on the reply tuple)',
      );
    }
    reply = compileTuple(fo.reply, "reply.", fam);
  }
  if (
    (orig.sport ?? orig.dport ?? reply.sport ?? reply.dport) !== undefined && proto !== undefined &&
    !hasPorts(proto)
  ) {
    throw new TypeError(`Invalid filter: protocol ${String(fo.proto)} has no ports`);
  }
  if (
    (hasIcmp(orig) || hasIcmp(reply)) && proto !== undefined && protocolOf(proto)?.icmp !== true
  ) {
    throw new TypeError(
      `Invalid filter: protocol ${String(fo.proto)} has no ICMP type, code or id`,
    );
  }
  if ((hasGreKeys(orig) || hasGreKeys(reply)) && proto !== undefined && proto !== IPPROTO_GRE) {
    throw new TypeError(`Invalid filter: protocol ${String(fo.proto)} has no GRE keys`);
  }
  const id = fo.id === undefined ? undefined : u32(fo.id, "id");
  const timeout = fo.timeout === undefined ? undefined : compileTimeout(fo.timeout);
  const mark = fo.mark === undefined ? undefined : compileMark(fo.mark);
  const status = fo.status === undefined ? undefined : compileStatus(fo.status);
  const zone = fo.zone === undefined ? undefined : u16(fo.zone, "zone");
  const state = fo.state;
  if (state !== undefined) {
    if (typeof state !== "string" || !ALL_STATES.has(state)) {
      throw new TypeError(
        `Invalid filter state "${
          String(state)
        }": expected a TCP, SCTP or DCCP state such as ESTABLISHED`,
      );
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
    if (not.empty) {
      throw new TypeError('Invalid filter: "not" has no condition (it would select no flow)');
    }
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
  const empty = family === undefined && proto === undefined && origEmpty && replyEmpty &&
    mark === undefined &&
    status === undefined && zone === undefined && state === undefined && not === undefined &&
    origZone === undefined && nat === undefined && labels === undefined && id === undefined &&
    timeout === undefined;

  // Every condition is one the kernel applies: exact IPv4 addresses, TCP/UDP ports, protocol,
  // family, mark and status.
  const sent = (c: CompiledTuple, flags: number) =>
    (c.src === undefined || (flags & C.CTA_FILTER_FLAG_CTA_IP_SRC) !== 0) &&
    (c.dst === undefined || (flags & C.CTA_FILTER_FLAG_CTA_IP_DST) !== 0) &&
    (c.sport === undefined || (flags & C.CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT) !== 0) &&
    (c.dport === undefined || (flags & C.CTA_FILTER_FLAG_CTA_PROTO_DST_PORT) !== 0) &&
    c.zone === undefined && !hasIcmp(c) && !hasGreKeys(c) &&
    (c.src === undefined || c.src.bits !== -1) &&
    (c.dst === undefined || c.dst.bits !== -1);
  const exact = sent(orig, origFlags) && sent(reply, replyFlags) && state === undefined &&
    zone === undefined &&
    not === undefined && origZone === undefined && nat === undefined && labels === undefined &&
    id === undefined &&
    timeout === undefined;
  const kTuple = (c: CompiledTuple) => ({
    src: c.srcExact,
    dst: c.dstExact,
    sport: c.sport,
    dport: c.dport,
  });
  const conditions: KernelConditions = {
    family,
    proto,
    orig: kTuple(orig),
    reply: kTuple(reply),
    mark,
    status,
  };
  const shape = [families.join("+"), origFlags, replyFlags, mark ? "m" : "", status ? "s" : ""]
    .join(":");

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
      if (
        status !== undefined &&
        ((statusBits(flow.status ?? []) & status.mask) >>> 0) !== status.value
      ) return false;
      if (zone !== undefined && (flow.zone ?? 0) !== zone) return false;
      if (
        state !== undefined && (flow.tcp?.state ?? flow.sctp?.state ?? flow.dccp?.state) !== state
      ) return false;
      if (origZone !== undefined && (flow.orig.zone ?? 0) !== origZone) return false;
      if (nat !== undefined && !nat(flow)) return false;
      if (labels !== undefined && !labels(flow)) return false;
      if (id !== undefined && flow.id !== id) return false;
      if (
        timeout !== undefined &&
        !(flow.timeout !== undefined && flow.timeout >= timeout.min && flow.timeout <= timeout.max)
      ) return false;
      if (not !== undefined && not.match(flow)) return false;
      return true;
    },
  };
}

/** `timeout`: seconds, or `{ min, max }` with at least one bound, min <= max. */
function compileTimeout(v: unknown): { min: number; max: number } {
  if (typeof v === "number") {
    const t = u32(v, "timeout");
    return { min: t, max: t };
  }
  if (!isObject(v)) {
    throw new TypeError(
      `Invalid filter timeout: expected seconds or { min, max }, got ${typeof v}`,
    );
  }
  checkKeys(v, TIMEOUT_KEYS, "timeout.");
  if (v.min === undefined && v.max === undefined) {
    throw new TypeError('Invalid filter: "timeout" is empty (give min, max or both)');
  }
  const min = v.min === undefined ? 0 : u32(v.min, "timeout.min");
  const max = v.max === undefined ? 0xffffffff : u32(v.max, "timeout.max");
  if (min > max) throw new RangeError(`Invalid filter timeout: min ${min} is above max ${max}`);
  return { min, max };
}
const TIMEOUT_KEYS: ReadonlySet<string> = new Set(["min", "max"]);
