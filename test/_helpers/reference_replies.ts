/**
 * The reference for how a request's replies are read: `NetlinkSocket.replies()` as it was
 * before dumps were handed out a datagram at a time (commit bdde620), kept as an oracle for the
 * differential tests of `batches()` (test/unit/netlink/reply_batch_fuzz_test.ts). It reads a
 * list of datagrams with the same checks, in the same order, and records what it handed out.
 * @module
 */
import assert from "node:assert/strict";
import { EINTR, ENOBUFS } from "../../ffi/errno.ts";
import { NetlinkError } from "../../netlink/errors.ts";
import {
  NLM_F_DUMP_INTR,
  NLMSG_ALIGN,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  readDone,
  readError,
  readHeader,
} from "../../netlink/message.ts";
import { ScriptExhausted } from "./scripted.ts";

/** What the reference did with a list of datagrams. */
export interface ReferenceOutcome {
  /** Each data message handed out: [datagram index, offset, length, type, flags]. */
  messages: [number, number, number, number, number][];
  /** What it threw, if it threw. */
  error?: unknown;
  /** Datagrams it read (one more than there are when it asked for a missing one). */
  recvs: number;
  /** True when the request's last reply was read: the socket is kept, not reopened. */
  finished: boolean;
}

/** Thrown by the reference when it would read past the datagrams given. */
export class ReferenceExhausted extends Error {
  override name = "ReferenceExhausted";
}

/**
 * Reads the replies to request `seq` from `datagrams` as the old `replies()` did; the consumer
 * breaks out of its loop once it has `stopAfter` data messages (at least 1).
 */
export function referenceReplies(
  datagrams: readonly Uint8Array[],
  seq: number,
  op: string,
  dump: boolean,
  stopAfter = Infinity,
): ReferenceOutcome {
  const out: ReferenceOutcome = { messages: [], recvs: 0, finished: false };
  try {
    for (let d = 0;; d++) {
      out.recvs++;
      if (d >= datagrams.length) throw new ReferenceExhausted("no datagram left");
      const bytes = datagrams[d];
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const n = bytes.length;
      let off = 0;
      while (off < n) {
        const h = readHeader(dv, off, n);
        if (h.seq !== seq) {
          throw new RangeError(
            `${op}: reply sequence number ${h.seq} does not match request ${seq}`,
          );
        }
        if (h.type === NLMSG_ERROR) {
          const e = readError(dv, off, h.len, h.flags);
          if (e.errno !== 0) {
            out.finished = true;
            throw new NetlinkError(op, e.errno, e);
          }
          if (!dump) {
            out.finished = true;
            return out;
          }
        } else if (h.type === NLMSG_DONE) {
          out.finished = true;
          const r = readDone(dv, off, h.len, h.flags);
          if (r.errno !== 0) throw new NetlinkError(op, r.errno, r);
          return out;
        } else if (h.type === NLMSG_OVERRUN) {
          throw new NetlinkError(op, ENOBUFS);
        } else if (h.type !== NLMSG_NOOP) {
          if (h.flags & NLM_F_DUMP_INTR) {
            throw new NetlinkError(`${op} (the table changed during the dump)`, EINTR);
          }
          out.messages.push([d, off, h.len, h.type, h.flags]);
          if (out.messages.length === stopAfter) return out; // the consumer left here
        }
        off += NLMSG_ALIGN(h.len);
      }
    }
  } catch (e) {
    out.error = e;
    return out;
  }
}

/**
 * Asserts that `got` is the error the reference threw (`want`; `undefined`: none), by class and
 * message, and for a {@link NetlinkError} by errno, operation, extended ACK message and offset.
 * A reference that ran out of datagrams stands for a reader that reads on: `ScriptExhausted`.
 */
export function sameError(got: unknown, want: unknown, what: string): void {
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
