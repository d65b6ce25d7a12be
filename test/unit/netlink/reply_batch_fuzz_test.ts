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
import { HOST_LE } from "../../../netlink/message.ts";
import { NetlinkSocket } from "../../../netlink/socket.ts";
import { scriptedFactory } from "../../_helpers/scripted.ts";
import { randomDatagrams } from "../../_helpers/random_replies.ts";
import {
  type ReferenceOutcome,
  referenceReplies,
  sameError,
} from "../../_helpers/reference_replies.ts";
import { Rng } from "../../_helpers/rng.ts";

const OP = "Cannot dump flows";

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
