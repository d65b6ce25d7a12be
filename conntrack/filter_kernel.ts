/**
 * What of a checked filter goes to the kernel: mark, status, zone and the `CTA_FILTER` tuple
 * conditions with their flag words, how they are encoded, which families a dump needs, and
 * whether a kernel-side flush could apply the whole filter. The rule that matters: only what the
 * kernel is known to compare correctly is sent; every flow the kernel returns is matched in
 * userspace again.
 * @module
 */
import type { MessageBuilder } from "../netlink/attribute.ts";
import * as C from "./constants.ts";
import type { CompiledFilter, CompiledTuple, KernelConditions } from "./filter.ts";
import type { CheckedFilter } from "./filter_check.ts";
import { hasGreKeys, hasIcmp } from "./filter_tuple.ts";

/** What a checked filter asks of the kernel (see {@link CompiledFilter}). */
export interface KernelPlan {
  /** The families to dump (`[0]` = all). */
  readonly families: number[];
  /** Whether a kernel-side flush applies every condition, and which. */
  readonly kernel: CompiledFilter["kernel"];
  /** Writes the kernel-side filter attributes for a dump of `family`. */
  encode(b: MessageBuilder, family: number): void;
}

/** The kernel side of a checked filter (`negated`: it has a `not`, matched in userspace). */
export function kernelPlan(c: CheckedFilter, negated: boolean): KernelPlan {
  const { family, proto, orig, reply, mark, status, zone } = c;
  // A dump with CTA_ZONE and a reply CTA_TUPLE_ZONE (both non-zero) fails with EINVAL on 6.18:
  // then the tuple zone is matched in userspace only.
  const zoneSent = zone !== undefined && zone !== 0;
  const origFlags = tupleFlags(orig, proto, true);
  const replyFlags = tupleFlags(reply, proto, !zoneSent);
  const needsCtaFilter = (origFlags | replyFlags) !== 0;
  const familyNum = family === "ipv4" ? C.AF_INET : family === "ipv6" ? C.AF_INET6 : 0;
  // A CTA_FILTER needs a family (EOPNOTSUPP with AF_UNSPEC): dump each family in turn.
  const families = familyNum ? [familyNum] : needsCtaFilter ? [C.AF_INET, C.AF_INET6] : [0];

  // Every condition is one the kernel applies: exact IPv4 addresses, TCP/UDP ports, protocol,
  // family, mark and status.
  const sent = (t: CompiledTuple, flags: number) =>
    (t.src === undefined || (flags & C.CTA_FILTER_FLAG_CTA_IP_SRC) !== 0) &&
    (t.dst === undefined || (flags & C.CTA_FILTER_FLAG_CTA_IP_DST) !== 0) &&
    (t.sport === undefined || (flags & C.CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT) !== 0) &&
    (t.dport === undefined || (flags & C.CTA_FILTER_FLAG_CTA_PROTO_DST_PORT) !== 0) &&
    t.zone === undefined && !hasIcmp(t) && !hasGreKeys(t) &&
    (t.src === undefined || t.src.bits !== -1) &&
    (t.dst === undefined || t.dst.bits !== -1);
  const exact = sent(orig, origFlags) && sent(reply, replyFlags) && c.state === undefined &&
    zone === undefined && !negated && c.origZone === undefined && c.nat === undefined &&
    c.labels === undefined && c.id === undefined && c.timeout === undefined;
  const kTuple = (t: CompiledTuple) => ({
    src: t.srcExact,
    dst: t.dstExact,
    sport: t.sport,
    dport: t.dport,
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
  };
}

/**
 * Kernel-side `CTA_FILTER` flags for a tuple condition: exact IPv4 addresses, the protocol,
 * TCP/UDP ports and (with `zoneOk`) a non-zero tuple zone. IPv6 addresses are never sent:
 * `ctnetlink_filter_match_tuple()` (net/netfilter/nf_conntrack_netlink.c) tests them with
 * `!ipv6_addr_cmp()`, so the kernel keeps every entry *except* the one asked for; they are
 * matched in userspace only. The kernel compares ports only for TCP and UDP (for other
 * protocols it would send or flush more), so those are matched in userspace too.
 */
function tupleFlags(c: CompiledTuple, proto: number | undefined, zoneOk: boolean): number {
  let f = 0;
  if (c.srcExact !== undefined && c.src!.bytes.length === 4) f |= C.CTA_FILTER_FLAG_CTA_IP_SRC;
  if (c.dstExact !== undefined && c.dst!.bytes.length === 4) f |= C.CTA_FILTER_FLAG_CTA_IP_DST;
  // The kernel compares the entry's zone id for that direction, which a plain zone (zone=7) also
  // sets; conntrack --reply-zone 0 still lists those entries, so zone 0 is matched in userspace.
  if (zoneOk && c.zone !== undefined && c.zone !== 0) f |= C.CTA_FILTER_FLAG_CTA_TUPLE_ZONE;
  if (proto !== undefined) {
    f |= C.CTA_FILTER_FLAG_CTA_PROTO_NUM;
    if (proto === C.IPPROTO_TCP || proto === C.IPPROTO_UDP) {
      if (c.sport !== undefined) f |= C.CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT;
      if (c.dport !== undefined) f |= C.CTA_FILTER_FLAG_CTA_PROTO_DST_PORT;
    }
  }
  return f;
}

/** Writes a `CTA_TUPLE_ORIG`/`CTA_TUPLE_REPLY` filter tuple with the conditions `flags` name. */
function encodeTupleFilter(
  b: MessageBuilder,
  type: number,
  c: CompiledTuple,
  proto: number | undefined,
  flags: number,
): void {
  const nest = b.nest(type);
  if (flags & (C.CTA_FILTER_FLAG_CTA_IP_SRC | C.CTA_FILTER_FLAG_CTA_IP_DST)) {
    const ip = b.nest(C.CTA_TUPLE_IP);
    if (flags & C.CTA_FILTER_FLAG_CTA_IP_SRC) b.data(C.CTA_IP_V4_SRC, c.src!.bytes);
    if (flags & C.CTA_FILTER_FLAG_CTA_IP_DST) b.data(C.CTA_IP_V4_DST, c.dst!.bytes);
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
