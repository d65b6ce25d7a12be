/**
 * Random replies to a request, for differential tests of how replies are read
 * (test/unit/netlink/reply_batch_fuzz_test.ts, test/unit/conntrack/dump_batches_test.ts):
 * datagrams of data messages, every kind of control message, and broken bytes.
 * @module
 */
import * as C from "../../conntrack/constants.ts";
import {
  HOST_LE,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLMSGERR_ATTR_MSG,
} from "../../netlink/message.ts";
import type { Rng } from "./rng.ts";
import { datagram } from "./scripted.ts";

const CT_NEW = (C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_NEW;

/** A message: header (with `len` as its `nlmsg_len`, however wrong) then `body`. */
function msg(type: number, flags: number, seq: number, body: Uint8Array, len?: number) {
  const out = new Uint8Array(16 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len ?? out.length, HOST_LE);
  dv.setUint16(4, type, HOST_LE);
  dv.setUint16(6, flags, HOST_LE);
  dv.setUint32(8, seq, HOST_LE);
  out.set(body, 16);
  return out;
}

/** A `struct nlmsgerr` body: `error`, then an echoed header (16 bytes), then `tail`. */
function errBody(error: number, tail: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(20 + tail.length);
  new DataView(b.buffer).setInt32(0, error, HOST_LE);
  b.set(tail, 20);
  return b;
}

/** An `NLMSGERR_ATTR_MSG` TLV saying `s`. */
function extMsg(s: string): Uint8Array {
  const text = new TextEncoder().encode(s);
  const a = new Uint8Array((4 + text.length + 1 + 3) & ~3);
  const dv = new DataView(a.buffer);
  dv.setUint16(0, 4 + text.length + 1, HOST_LE);
  dv.setUint16(2, NLMSGERR_ATTR_MSG, HOST_LE);
  a.set(text, 4);
  return a;
}

/** Builds a message's bytes for the request's sequence number. */
export type Build = (seq: number) => Uint8Array;

/**
 * One random message: mostly data (of type `IPCTNL_MSG_CT_NEW`, with a body from `bodies`),
 * any control message, some broken bytes.
 */
function randomMessage(r: Rng, bodies: (r: Rng) => Uint8Array): Build {
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => r.int(256));
  const data = (flags: number, other = 0) => {
    const body = bodies(r);
    return (seq: number) => msg(CT_NEW, flags, (seq + other) >>> 0, body);
  };
  const k = r.int(100);
  if (k < 50) return data(NLM_F_MULTI);
  if (k < 53) return data(NLM_F_MULTI | NLM_F_DUMP_INTR);
  if (k < 56) return data(NLM_F_MULTI, 1 + r.int(3)); // another request's
  if (k < 60) {
    const body = new Uint8Array(r.int(2) * 4);
    return (seq) => msg(NLMSG_NOOP, 0, seq, body);
  }
  if (k < 65) return (seq) => msg(NLMSG_ERROR, NLM_F_CAPPED, seq, errBody(0)); // an ACK
  if (k < 70) {
    const ext = r.chance(0.5);
    const body = errBody(-(1 + r.int(120)), ext ? extMsg("no way") : undefined);
    return (seq) => msg(NLMSG_ERROR, NLM_F_CAPPED | (ext ? NLM_F_ACK_TLVS : 0), seq, body);
  }
  if (k < 77) return (seq) => msg(NLMSG_DONE, NLM_F_MULTI, seq, errBody(0).subarray(0, 4));
  if (k < 80) {
    const body = errBody(-(1 + r.int(120))).subarray(0, 4);
    return (seq) => msg(NLMSG_DONE, NLM_F_MULTI, seq, body);
  }
  if (k < 82) return (seq) => msg(NLMSG_DONE, NLM_F_MULTI, seq, new Uint8Array(0)); // no body
  if (k < 85) return (seq) => msg(NLMSG_OVERRUN, 0, seq, new Uint8Array(4));
  if (k < 88) { // nlmsg_len below a header, or past the datagram
    const len = r.pick([0, 4, 15, 500, 0xffffffff]);
    return (seq) => msg(CT_NEW, NLM_F_MULTI, seq, new Uint8Array(8), len);
  }
  if (k < 92) { // an NLMSG_ERROR too short for struct nlmsgerr
    const body = new Uint8Array(r.pick([0, 4, 8, 16]));
    return (seq) => msg(NLMSG_ERROR, 0, seq, body);
  }
  if (k < 95) { // a positive error: not an errno
    const body = errBody(1 + r.int(5));
    return (seq) => msg(NLMSG_ERROR, NLM_F_CAPPED, seq, body);
  }
  if (k < 97) { // fewer bytes than a header
    const b = bytes(4 + 4 * r.int(3));
    return () => b;
  }
  return (seq) => msg(CT_NEW, NLM_F_MULTI, seq, new Uint8Array(3)); // unaligned length (19)
}

/**
 * 1 to 4 datagrams of 0 to 7 messages each, answering a request whose sequence number is given
 * later; data messages carry a body from `bodies` (default: 0 to 24 random bytes).
 */
export function randomDatagrams(
  r: Rng,
  bodies: (r: Rng) => Uint8Array = (r) => Uint8Array.from({ length: r.int(25) }, () => r.int(256)),
): (seq: number) => Uint8Array[] {
  const plan = Array.from(
    { length: 1 + r.int(4) },
    () => Array.from({ length: r.int(8) }, () => randomMessage(r, bodies)),
  );
  return (seq) => plan.map((ms) => datagram(...ms.map((m) => m(seq))));
}
