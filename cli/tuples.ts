/**
 * The tuples a command line names (conntrack's template with `SETUP_ORIGINAL`/`SETUP_REPLY`
 * and each extension's `final_check()`), for -I, -A, -G and the expect table.
 * @module
 */
import { hasPorts, invertTuple, protocolOf, protoName, type Tuple } from "../mod.ts";
import type { Args } from "./command.ts";
import type { L4Values } from "./proto/ext.ts";

/**
 * Which pair of protocol fields makes a tuple's layer-4 part: the original or reply ports, or
 * the expectation's tuple or mask ports (-I expect).
 */
export type L4Pair = "orig" | "reply" | "tuple" | "mask";
const PAIRS: Readonly<Record<L4Pair, readonly [keyof L4Values, keyof L4Values]>> = {
  orig: ["sport", "dport"],
  reply: ["replySport", "replyDport"],
  tuple: ["tupleSport", "tupleDport"],
  mask: ["maskSport", "maskDport"],
};

/** The layer-4 part of a tuple from two protocol options (ports, or GRE keys). */
export function tupleL4(args: Pick<Args, "proto" | "l4">, pair: L4Pair): Partial<Tuple> {
  const [sk, dk] = PAIRS[pair];
  const s = args.l4[sk], d = args.l4[dk];
  const t: Partial<Tuple> = {};
  const proto = args.proto!;
  if (protoName(proto) === "gre") {
    if (typeof s === "number") t.srcKey = s;
    if (typeof d === "number") t.dstKey = d;
  } else if (hasPorts(proto)) {
    if (typeof s === "number") t.sport = s;
    if (typeof d === "number") t.dport = d;
  }
  return t;
}

/** libct_proto_*.c final_check(): the ports of the missing direction are the other's, swapped. */
function swapPorts(from: Tuple, to: Tuple): void {
  if (to.sport === undefined && from.dport !== undefined) to.sport = from.dport;
  if (to.dport === undefined && from.sport !== undefined) to.dport = from.sport;
  if (to.srcKey === undefined && from.dstKey !== undefined) to.srcKey = from.dstKey;
  if (to.dstKey === undefined && from.srcKey !== undefined) to.dstKey = from.srcKey;
}

/** The tuples a -I/-A/-G command names (either may be missing: the kernel derives it). */
export function tuples(args: Args): { orig?: Tuple; reply?: Tuple } {
  const { src, dst, replySrc, replyDst } = args;
  const num = args.proto!;
  let orig: Tuple | undefined, reply: Tuple | undefined;
  if (src && dst) orig = { src: src.addr, dst: dst.addr, ...tupleL4(args, "orig") };
  if (replySrc && replyDst) {
    reply = { src: replySrc.addr, dst: replyDst.addr, ...tupleL4(args, "reply") };
  }
  // One address of a direction (as `-o save` writes with NAT: `-g ip -q ip`): the rest is the
  // other direction's, swapped.
  if (orig && !reply && (replySrc || replyDst)) {
    reply = {
      src: replySrc?.addr ?? orig.dst,
      dst: replyDst?.addr ?? orig.src,
      ...tupleL4(args, "reply"),
    };
  } else if (reply && !orig && (src || dst)) {
    orig = { src: src?.addr ?? reply.dst, dst: dst?.addr ?? reply.src, ...tupleL4(args, "orig") };
  }
  const icmp = protocolOf(num)?.icmp === true;
  if (icmp) {
    const { icmpType: type, icmpCode: code, icmpId: id = 0 } = args.l4;
    if (orig) Object.assign(orig, { type, code, id });
    else if (reply) Object.assign(reply, { type, code, id });
  }
  if (orig && reply) {
    swapPorts(orig, reply);
    swapPorts(reply, orig);
    if (icmp && reply.type === undefined) {
      try {
        Object.assign(reply, { type: invertTuple(orig, num).type, code: orig.code, id: orig.id });
      } catch { /* no inverse type: let the kernel say */ }
    }
  }
  if (args.origZone !== undefined && orig) orig.zone = args.origZone;
  if (args.replyZone !== undefined && reply) reply.zone = args.replyZone;
  return { orig, reply };
}

/** The netmask of `bits` (conntrack's `-I expect` takes a CIDR on --tuple-src/-s as the mask). */
export function cidrMask(family: "ipv4" | "ipv6", bits: number): string {
  const n = family === "ipv4" ? 4 : 16;
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    b.push(bits >= 8 * (i + 1) ? 255 : bits <= 8 * i ? 0 : (0xff << (8 - (bits - 8 * i))) & 0xff);
  }
  if (family === "ipv4") return b.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return groups.join(":");
}
