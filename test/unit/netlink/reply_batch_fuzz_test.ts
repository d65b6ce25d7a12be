/**
 * {@link NetlinkSocket.batches} and {@link NetlinkSocket.replies} (built on it) against the way
 * replies were read before dumps were handed out a datagram at a time
 * (test/_helpers/reference_replies.ts): random datagrams of data messages, control messages and
 * broken bytes, read to the end or left half-way. Both must hand out the same messages in the
 * same order, throw the same error after them, read as many datagrams, and reopen the socket
 * in the same cases (leaving early may now keep it, when nothing of the request is left unread).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as C from "../../../conntrack/constants.ts";
import { NetlinkError } from "../../../netlink/errors.ts";
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
} from "../../../netlink/message.ts";
import { NetlinkSocket } from "../../../netlink/socket.ts";
import { datagram, scriptedFactory, ScriptExhausted } from "../../_helpers/scripted.ts";
import {
  ReferenceExhausted,
  type ReferenceOutcome,
  referenceReplies,
} from "../../_helpers/reference_replies.ts";
import { Rng } from "../../_helpers/rng.ts";

const CT_NEW = (C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_NEW;
const OP = "Cannot dump flows";

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

/** Builds a datagram's bytes for the request's sequence number. */
type Build = (seq: number) => Uint8Array;

/** One random message: mostly data, any control message, some broken bytes. */
function randomMessage(r: Rng): Build {
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => r.int(256));
  const data = (flags: number, other = 0) => {
    const body = bytes(r.int(25));
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

/** 1 to 4 datagrams of 0 to 7 messages each. */
function randomDatagrams(r: Rng): (seq: number) => Uint8Array[] {
  const plan = Array.from(
    { length: 1 + r.int(4) },
    () => Array.from({ length: r.int(8) }, () => randomMessage(r)),
  );
  return (seq) => plan.map((ms) => datagram(...ms.map((m) => m(seq))));
}

interface Outcome extends ReferenceOutcome {
  reopened: boolean;
  busy: boolean;
}

/**
 * Reads `datagrams` (built for the socket's sequence number) through a scripted socket, by
 * `via`, leaving after `stopAfter` messages.
 */
function read(
  datagrams: (seq: number) => Uint8Array[],
  dump: boolean,
  via: "replies" | "batches",
  stopAfter = Infinity,
): Outcome & { seq: number } {
  const f = scriptedFactory();
  const sock = new NetlinkSocket(f.factory);
  const t = f.opened[0];
  const seq = sock.nextSeq();
  t.push(...datagrams(seq));
  const messages: Outcome["messages"] = [];
  let error: unknown;
  try {
    if (via === "replies") {
      for (const m of sock.replies(seq, OP, dump)) {
        messages.push([t.recvCalls - 1, m.offset, m.length, m.type, m.flags]);
        if (messages.length === stopAfter) break;
      }
    } else {
      out: for (const b of sock.batches(seq, OP, dump)) {
        for (let i = 0; i < b.count; i++) {
          const o = b.offsets[i];
          const type = b.dv.getUint16(o + 4, HOST_LE), flags = b.dv.getUint16(o + 6, HOST_LE);
          messages.push([t.recvCalls - 1, o, b.lengths[i], type, flags]);
          if (messages.length === stopAfter) break out;
        }
      }
    }
  } catch (e) {
    error = e;
  }
  return {
    seq,
    messages,
    error,
    recvs: t.recvCalls,
    finished: !error && messages.length < stopAfter,
    reopened: f.opened.length > 1,
    busy: sock.busy,
  };
}

function sameError(got: unknown, want: unknown, what: string): void {
  if (want === undefined) return assert.equal(got, undefined, `${what}: threw ${String(got)}`);
  if (want instanceof ReferenceExhausted) {
    return assert.ok(got instanceof ScriptExhausted, `${what}: ${String(got)}, not read on`);
  }
  assert.ok(got instanceof Error, `${what}: did not throw ${String(want)}`);
  assert.equal(got.constructor, (want as Error).constructor, `${what}: ${got}`);
  assert.equal(got.message, (want as Error).message, what);
  if (want instanceof NetlinkError) {
    const g = got as NetlinkError;
    assert.deepEqual(
      [g.errno, g.operation, g.kernelMessage, g.offset],
      [want.errno, want.operation, want.kernelMessage, want.offset],
      what,
    );
  }
}

test("batches() and replies() read random datagrams as replies() did before bdde620", () => {
  const r = new Rng(0x5eed);
  for (let round = 0; round < 3000; round++) {
    const datagrams = randomDatagrams(r);
    const dump = r.chance(0.8);
    for (const via of ["replies", "batches"] as const) {
      const what = `round ${round} via ${via} (dump: ${dump})`;
      const got = read(datagrams, dump, via);
      const want = referenceReplies(datagrams(got.seq), got.seq, OP, dump);
      assert.deepEqual(got.messages, want.messages, what);
      sameError(got.error, want.error, what);
      assert.equal(got.recvs, want.recvs, `${what}: datagrams read`);
      assert.equal(got.reopened, !want.finished, `${what}: socket reopened`);
      assert.equal(got.busy, false, what);
    }
  }
});

test("leaving batches() or replies() half-way reads no more, and keeps the socket only when the request was read to its end", () => {
  const r = new Rng(0xbeef);
  let kept = 0, reopened = 0;
  for (let round = 0; round < 3000; round++) {
    const datagrams = randomDatagrams(r);
    const dump = r.chance(0.8);
    const SEQ = 1000; // the reference's checks do not depend on the number
    const full = referenceReplies(datagrams(SEQ), SEQ, OP, dump);
    if (full.messages.length === 0) continue;
    const k = 1 + r.int(full.messages.length);
    const want = referenceReplies(datagrams(SEQ), SEQ, OP, dump, k);
    // Nothing of the request is left unread when the datagram of the last message handed out
    // also held the request's last reply (the old reader reopened here: it had not looked).
    const rest = full.finished && want.messages[k - 1][0] === full.recvs - 1;
    for (const via of ["replies", "batches"] as const) {
      const what = `round ${round} via ${via}, leaving after ${k}`;
      const got = read(datagrams, dump, via, k);
      assert.deepEqual(got.messages, want.messages, what);
      assert.equal(got.error, undefined, what);
      assert.equal(got.recvs, want.recvs, `${what}: datagrams read`);
      assert.equal(got.reopened, !rest, `${what}: socket reopened`);
      assert.equal(got.busy, false, what);
      if (rest) kept++;
      else reopened++;
    }
  }
  assert.ok(kept > 100 && reopened > 100, `both cases met (${kept} kept, ${reopened} reopened)`);
});
