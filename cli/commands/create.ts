/**
 * `-I` and `-A`: the flow a command line describes, created.
 * @module
 */
import { type Flow, invertTuple, NetlinkError, protoName } from "../../mod.ts";
import type { Args } from "../command.ts";
import type { CliContext } from "../context.ts";
import { failed } from "../errors.ts";
import { protoOf } from "../selection.ts";
import { tuples } from "../tuples.ts";
import type { NatArg } from "../values.ts";

/** A flow to create: what `Conntrack.create()` takes. */
export type NewFlow = Partial<Flow> & Pick<Flow, "proto">;

/** Swaps the bytes of a 32-bit number. */
function bswap32(v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** A NAT option as the flow's NAT range (one address, one port). */
function natRange(n: NatArg | undefined): Flow["natSrc"] {
  if (!n || n.addr === undefined) return undefined;
  const ports = n.port !== undefined ? { minPort: n.port, maxPort: n.port } : {};
  return { minIp: n.addr, maxIp: n.addr, ...ports };
}

/** The flow a -I/-A line describes. */
export function newFlow(args: Args): NewFlow {
  const { orig, reply } = tuples(args);
  const num = args.proto!;
  const f: NewFlow = { proto: protoOf(args), timeout: args.timeout };
  if (args.family) f.family = args.family;
  if (orig) f.orig = orig;
  if (reply) f.reply = reply;
  if (!orig && reply) f.orig = invertTuple(reply, num); // NFCT_SOPT_SETUP_ORIGINAL
  if (
    f.orig && f.reply === undefined && (f.orig.zone !== undefined || args.replyZone !== undefined)
  ) {
    f.reply = invertTuple(f.orig, num);
    if (args.replyZone !== undefined) f.reply.zone = args.replyZone;
  }
  if (args.given.has("status")) f.status = [...args.status.set];
  if (args.mark) f.mark = args.mark.value;
  if (args.zone !== undefined) f.zone = args.zone;
  if (args.labelModify.length) f.labels = args.labelModify;
  const l4 = args.l4;
  const name = protoName(num);
  if (name === "tcp" && l4.tcpState !== undefined) f.tcp = { state: l4.tcpState };
  // conntrack passes --orig-vtag/--reply-vtag through htonl() once more than the kernel expects
  // (its `-o save` swaps them back): do the same, so that `-o save` lines replay to the same entry.
  if (name === "sctp") {
    f.sctp = { state: l4.sctpState, vtagOrig: bswap32(l4.vtag), vtagReply: bswap32(l4.replyVtag) };
  }
  if (name === "dccp") f.dccp = { state: l4.dccpState, role: l4.role };
  const natSrc = natRange(args.srcNat), natDst = natRange(args.dstNat);
  if (natSrc) f.natSrc = natSrc;
  if (natDst) f.natDst = natDst;
  return f;
}

/**
 * -I (exit 1 if the entry exists) and -A (an existing entry is not an error): "1 flow entries
 * have been created." / "0 flow entries have been added." unless `quiet` (-R).
 */
export function create(ctx: CliContext, args: Args, add: boolean, quiet = false): number {
  let n = 0;
  try {
    ctx.ct().create(newFlow(args));
    n = 1;
  } catch (e) {
    if (!(add && e instanceof NetlinkError && e.code === "EEXIST")) {
      throw failed(e, add ? "add" : "create");
    }
  }
  if (!quiet) ctx.out.summary(`${n} flow entries have been ${add ? "added" : "created"}.`);
  return 0;
}
