/**
 * The entries a command is about: conntrack's template and filters as a library `Filter`
 * (every option the library matches exactly as conntrack does; no second matcher here).
 * @module
 */
import {
  type Filter,
  type Flow,
  type FlowKey,
  type NatFilter,
  type Proto,
  protoName,
} from "../mod.ts";
import type { Args } from "./command.ts";
import { paramError } from "./errors.ts";
import type { Address, NatArg } from "./values.ts";

/** A command's selection: the library filter (empty: every entry). */
export interface Selection {
  /** The library filter (empty: every entry). */
  filter: Filter;
}

/** The protocol of `-p` as the library takes it: its name when nfct has one, else its number. */
export function protoOf(args: Pick<Args, "proto">): Proto {
  return protoName(args.proto!);
}

/** A --src-nat/--dst-nat/--any-nat value as the library's filter takes it. */
function natFilter(n: NatArg): NatFilter {
  if (n.addr === undefined && n.port === undefined) return true;
  const out: { addr?: string; port?: number } = {};
  if (n.addr !== undefined) out.addr = n.addr;
  if (n.port !== undefined) out.port = n.port;
  return out;
}

/**
 * The entries a command is about. `full` (-L, -D, -F, -E): every comparison option is a filter.
 * Otherwise (-U): only the tuples, NAT, labels, masks and id select; -m/-u/-t/--state are
 * the new values.
 */
export function selection(args: Args, full: boolean): Selection {
  const filter: Filter = {};
  const { src, dst, maskSrc, maskDst, l4 } = args;
  if (args.family) filter.family = args.family;
  if (args.proto !== undefined) filter.proto = protoOf(args);
  // An address with --mask-src/--mask-dst is the library's address/netmask form.
  const addr = (a: Address, mask: Address | undefined) =>
    mask ? `${a.addr}/${mask.addr}` : a.bits === undefined ? a.addr : `${a.addr}/${a.bits}`;
  if (src) filter.src = addr(src, maskSrc);
  if (dst) filter.dst = addr(dst, maskDst);
  const reply: NonNullable<Filter["reply"]> = {};
  if (args.replySrc) reply.src = args.replySrc.addr;
  if (args.replyDst) reply.dst = args.replyDst.addr;
  if (args.proto === undefined || protoName(args.proto) !== "gre") {
    if (l4.sport !== undefined) filter.sport = l4.sport;
    if (l4.dport !== undefined) filter.dport = l4.dport;
    if (l4.replySport !== undefined) reply.sport = l4.replySport;
    if (l4.replyDport !== undefined) reply.dport = l4.replyDport;
  } else {
    // GRE's --srckey/--dstkey (and the reply keys) arrive where the ports of other protocols do.
    if (l4.sport !== undefined) filter.srcKey = l4.sport;
    if (l4.dport !== undefined) filter.dstKey = l4.dport;
    if (l4.replySport !== undefined) reply.srcKey = l4.replySport;
    if (l4.replyDport !== undefined) reply.dstKey = l4.replyDport;
  }
  if (l4.icmpType !== undefined) filter.icmpType = l4.icmpType;
  if (l4.icmpCode !== undefined) filter.icmpCode = l4.icmpCode;
  if (l4.icmpId !== undefined) filter.icmpId = l4.icmpId;
  if (full) {
    const state = l4.tcpState ?? l4.sctpState ?? l4.dccpState;
    if (state !== undefined) filter.state = state;
    if (args.replyZone !== undefined) reply.zone = args.replyZone;
    if (args.origZone !== undefined) filter.origZone = args.origZone;
    if (args.zone !== undefined) filter.zone = args.zone;
    if (args.mark) filter.mark = args.mark;
    if (args.given.has("status")) {
      const value = [...args.status.set];
      const mask = [...new Set([...args.status.set, ...args.status.unset])];
      if (mask.length) filter.status = { value, mask };
    }
    // -c selects nothing: conntrack's nfct_cmp() lets an attribute the kernel did not send
    // compare equal, and the kernel has not sent CTA_SECMARK since it became obsolete.
    if (args.timeout !== undefined) filter.timeout = args.timeout;
  }
  if (Object.keys(reply).length) filter.reply = reply;
  if (args.id !== undefined) filter.id = args.id;
  if (args.labels.length) filter.labels = { all: args.labels };
  // conntrack.c filter_nat(): --any-nat alone decides when it is given.
  if (args.anyNat) filter.anyNat = natFilter(args.anyNat);
  else {
    if (args.srcNat) filter.srcNat = natFilter(args.srcNat);
    if (args.dstNat) filter.dstNat = natFilter(args.dstNat);
  }
  return { filter };
}

/** Whether a selection is the whole table (no condition at all). */
export function selectsAll(sel: Selection): boolean {
  return Object.keys(sel.filter).length === 0;
}

/** The key that names `f` to `get()`, `delete()`, `deleteMany()`. */
export function flowKey(f: Flow): FlowKey {
  return { family: f.family, proto: f.proto, orig: f.orig, reply: f.reply, zone: f.zone, id: f.id };
}

/** -L/-D/-U/-E refuse a mask without its address (conntrack.c, before any request). */
export function checkMasks(args: Args): void {
  if (args.maskSrc && !args.src) throw paramError("Can't use --mask-src without --src");
  if (args.maskDst && !args.dst) throw paramError("Can't use --mask-dst without --dst");
}
