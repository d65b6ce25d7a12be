/**
 * What of a filter goes to the kernel's `CTA_FILTER` (orig/reply tuple conditions and their
 * flag words), and how it is encoded. The rule that matters: only what the kernel is known to
 * compare correctly is sent; every flow the kernel returns is matched in userspace again.
 * @module
 */
import type { MessageBuilder } from "../netlink/attribute.ts";
import * as C from "./constants.ts";
import type { CompiledTuple } from "./filter.ts";

/**
 * Kernel-side `CTA_FILTER` flags for a tuple condition: exact IPv4 addresses, the protocol,
 * TCP/UDP ports and (with `zoneOk`) a non-zero tuple zone. IPv6 addresses are never sent:
 * `ctnetlink_filter_match_tuple()` (net/netfilter/nf_conntrack_netlink.c) tests them with
 * `!ipv6_addr_cmp()`, so the kernel keeps every entry *except* the one asked for; they are
 * matched in userspace only. The kernel compares ports only for TCP and UDP (for other
 * protocols it would send or flush more), so those are matched in userspace too.
 */
export function tupleFlags(c: CompiledTuple, proto: number | undefined, zoneOk: boolean): number {
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
export function encodeTupleFilter(
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
