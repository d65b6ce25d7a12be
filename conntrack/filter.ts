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
import { checkedEmpty, checkFilter } from "./filter_check.ts";
import type { LabelFilter, NatFilter } from "./filter_extra.ts";
import { kernelPlan } from "./filter_kernel.ts";
import { matcher } from "./filter_match.ts";
import type { CompiledTuple, TupleFilter } from "./filter_tuple.ts";
import type { Flow } from "./flow.ts";
import type { StatusFlag } from "./status.ts";
import type { Proto } from "./tuple.ts";

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
  const c = checkFilter(filter);
  let not: CompiledFilter | undefined;
  if (c.not !== undefined) {
    try {
      not = compileFilter(c.not as Filters);
    } catch (e) {
      if (e instanceof Error) e.message = `not: ${e.message}`;
      throw e;
    }
    if (not.empty) {
      throw new TypeError('Invalid filter: "not" has no condition (it would select no flow)');
    }
  }
  const plan = kernelPlan(c, not !== undefined);
  return {
    families: plan.families,
    empty: checkedEmpty(c),
    kernel: plan.kernel,
    encode: plan.encode,
    match: matcher(c, not),
  };
}
