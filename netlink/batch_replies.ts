/**
 * The replies to a batch: many requests sent in one datagram, numbered `first`..`first+count-1`,
 * each answered by an `NLMSG_ERROR` (errno 0: an acknowledgement; without `NLM_F_ACK` only
 * failures answer) and some by data messages. Pure: it reads datagrams already received.
 * {@link NetlinkSocket} and the batch sender's worker (netlink/_sender_worker.ts) both read
 * their batches' replies with it.
 * @module
 */
import { ENOBUFS, SyscallError } from "../ffi/errno.ts";
import {
  NLMSG_ALIGN,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  readError,
  readHeader,
} from "./message.ts";
import type { Reply } from "./message.ts";

/** The outcome of one request of a batch. */
export interface BatchOutcome {
  /** The request's sequence number. */
  seq: number;
  /** 0 when the kernel acknowledged it; else the errno. */
  errno: number;
  /** The kernel's extended-ACK text, when it sent one. */
  message?: string;
}

/** A batch whose replies are read, and where they go. */
export interface BatchReader {
  /** Sequence number of the batch's first request. */
  readonly first: number;
  /** How many requests the batch holds (numbered `first`, `first + 1`, …). */
  readonly count: number;
  /** Names the operation in errors, e.g. `"Cannot delete flows"`. */
  readonly op: string;
  /** Receives each `NLMSG_ERROR` (an acknowledgement or a failure). */
  onOutcome(o: BatchOutcome): void;
  /** Receives each data reply (valid until the next datagram is read), if given. */
  onData?(r: Reply): void;
}

/**
 * Reads the replies to `batch` in the datagram `dv[0, n)`: outcomes go to `onOutcome`, data
 * messages to `onData`; `NLMSG_NOOP` and `NLMSG_DONE` are skipped. Returns how many outcomes
 * the datagram held.
 * @throws {RangeError} for a malformed message, or a reply whose sequence number is not one of
 * the batch's.
 */
export function readBatchReplies(dv: DataView, n: number, batch: BatchReader): number {
  const { first, count } = batch;
  let outcomes = 0;
  for (let off = 0; off < n;) {
    const h = readHeader(dv, off, n);
    if (((h.seq - first) >>> 0) >= count) {
      throw new RangeError(
        `${batch.op}: reply sequence number ${h.seq} is not one of the batch ${first}..${
          first + count - 1
        }`,
      );
    }
    if (h.type === NLMSG_ERROR) {
      const e = readError(dv, off, h.len, h.flags);
      const o: BatchOutcome = { seq: h.seq, errno: e.errno };
      if (e.message !== undefined) o.message = e.message;
      outcomes++;
      batch.onOutcome(o);
    } else if (h.type !== NLMSG_NOOP && h.type !== NLMSG_DONE && batch.onData) {
      batch.onData({ dv, offset: off, length: h.len, type: h.type, flags: h.flags, seq: h.seq });
    }
    off += NLMSG_ALIGN(h.len);
  }
  return outcomes;
}

/**
 * The error when the kernel dropped replies to `count` requests named `op` (`ENOBUFS`: the
 * receive buffer overran). With `seen`, the batch asked for acknowledgements and `seen` outcomes
 * arrived; without, only failures answer, so no outcome of the batch is known (never assumed
 * successful).
 */
export function lostReplies(op: string, count: number, seen?: number): SyscallError {
  return new SyscallError(
    "recvfrom",
    ENOBUFS,
    seen === undefined
      ? `${op}: error replies were dropped (receive buffer overrun); the outcome of ${count} requests is unknown`
      : `${op}: ${count - seen} of ${count} outcomes were lost (receive buffer overrun)`,
  );
}
