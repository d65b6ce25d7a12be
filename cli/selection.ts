/**
 * The entries a command is about: conntrack's template and filters as a library `Filter`,
 * plus a predicate for the conditions only the command line has (address masks, GRE keys,
 * ICMP fields, secmark, timeout, id).
 * @module
 */
import {
  type Filter,
  type Flow,
  type FlowKey,
  type NatFilter,
  parseAddress,
  type Proto,
  protoName,
} from "../mod.ts";
import type { Args } from "./command.ts";
import { paramError } from "./errors.ts";
import type { Address, NatArg } from "./values.ts";

/** A command's selection: what the library filters, and what is left to check per entry. */
export interface Selection {
  /** The library filter (empty: every entry). */
  filter: Filter;
  /** Conditions the library Filter cannot express; undefined when there are none. */
  extra?: (f: Flow) => boolean;
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

/** Whether `addr` equals `a` under `mask` (and is of its family). */
export function maskMatch(a: Address, mask: Address, addr: string): boolean {
  if (!addr.includes(":") !== (a.family === "ipv4")) return false;
  const x = parseAddress(addr), n = parseAddress(a.addr), m = parseAddress(mask.addr);
  for (let i = 0; i < x.length; i++) if ((x[i] & m[i]) !== (n[i] & m[i])) return false;
  return true;
}

/**
 * The entries a command is about. `full` (-L, -D, -F, -E): every comparison option is a filter.
 * Otherwise (-U): only the tuples, NAT, labels, masks and id select; -m/-u/-t/--state are
 * the new values.
 */
export function selection(args: Args, full: boolean): Selection {
  const filter: Filter = {};
  const extra: ((f: Flow) => boolean)[] = [];
  const { src, dst, maskSrc, maskDst, l4 } = args;
  if (args.family) filter.family = args.family;
  if (args.proto !== undefined) filter.proto = protoOf(args);
  const cidr = (a: Address) => (a.bits === undefined ? a.addr : `${a.addr}/${a.bits}`);
  if (src) {
    if (maskSrc) extra.push((f) => maskMatch(src, maskSrc, f.orig.src));
    else filter.src = cidr(src);
  }
  if (dst) {
    if (maskDst) extra.push((f) => maskMatch(dst, maskDst, f.orig.dst));
    else filter.dst = cidr(dst);
  }
  const reply: NonNullable<Filter["reply"]> = {};
  if (args.replySrc) reply.src = args.replySrc.addr;
  if (args.replyDst) reply.dst = args.replyDst.addr;
  // GRE keys are where conntrack keeps ports; the library's filter has no keys.
  if (args.proto === undefined || protoName(args.proto) !== "gre") {
    if (l4.sport !== undefined) filter.sport = l4.sport;
    if (l4.dport !== undefined) filter.dport = l4.dport;
    if (l4.replySport !== undefined) reply.sport = l4.replySport;
    if (l4.replyDport !== undefined) reply.dport = l4.replyDport;
  } else {
    const keys: [number | undefined, (f: Flow) => number | undefined][] = [
      [l4.sport, (f) => f.orig.srcKey],
      [l4.dport, (f) => f.orig.dstKey],
      [l4.replySport, (f) => f.reply.srcKey],
      [l4.replyDport, (f) => f.reply.dstKey],
    ];
    for (const [want, get] of keys) if (want !== undefined) extra.push((f) => get(f) === want);
  }
  const icmp = [[l4.icmpType, "type"], [l4.icmpCode, "code"], [l4.icmpId, "id"]] as const;
  for (const [want, field] of icmp) {
    if (want !== undefined) extra.push((f) => f.orig[field] === want);
  }
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
    // nfct_cmp(): an attribute the kernel did not send compares equal.
    const { secmark, timeout } = args;
    if (secmark !== undefined) extra.push((f) => f.secmark === undefined || f.secmark === secmark);
    if (timeout !== undefined) extra.push((f) => f.timeout === timeout);
  }
  if (Object.keys(reply).length) filter.reply = reply;
  const id = args.id;
  if (id !== undefined) extra.push((f) => f.id === id);
  if (args.labels.length) filter.labels = { all: args.labels };
  // conntrack.c filter_nat(): --any-nat alone decides when it is given.
  if (args.anyNat) filter.anyNat = natFilter(args.anyNat);
  else {
    if (args.srcNat) filter.srcNat = natFilter(args.srcNat);
    if (args.dstNat) filter.dstNat = natFilter(args.dstNat);
  }
  return { filter, extra: extra.length ? (f) => extra.every((x) => x(f)) : undefined };
}

/** Whether a selection is the whole table (no condition at all). */
export function selectsAll(sel: Selection): boolean {
  return Object.keys(sel.filter).length === 0 && !sel.extra;
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
