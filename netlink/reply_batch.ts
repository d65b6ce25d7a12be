/**
 * The replies to one request found in one received datagram: where its data messages are, and
 * whether the datagram ended the request (its `NLMSG_DONE`, its acknowledgement, or an error).
 *
 * A dump hands its messages out a datagram at a time (some 300 flows in 64 KiB), so the code
 * that reads them loops over offsets instead of resuming a generator per message: on a cold
 * runtime, every resume of every layer of generators costs (see {@link NetlinkSocket.batches}).
 * @module
 */
import { EINTR, ENOBUFS } from "../ffi/errno.ts";
import { NetlinkError } from "./errors.ts";
import {
  type ErrorMessage,
  headerError,
  HOST_LE,
  NLM_F_DUMP_INTR,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  readDone,
  readError,
  type Reply,
} from "./message.ts";

/**
 * The data messages of one datagram, in order: message `i` starts at `offsets[i]` in `dv` and
 * is `lengths[i]` bytes long (header included). A socket reuses one for every datagram of every
 * request: valid until the generator that handed it out resumes.
 */
export class ReplyBatch {
  /** The receive buffer the datagram is in. */
  dv: DataView = new DataView(new ArrayBuffer(0));
  /** How many data messages the datagram holds. */
  count = 0;
  /** Where each data message's `nlmsghdr` starts in {@link dv}. */
  offsets: Int32Array = new Int32Array(256);
  /** Each data message's length, header included. */
  lengths: Int32Array = new Int32Array(256);
  /** The request's last reply was in this datagram: nothing of it remains to read. */
  end = false;
  /** Thrown once the data messages before it are handled: the kernel refused, or bad bytes. */
  error: Error | undefined = undefined;

  /** Ready for a new request's replies. */
  start(): void {
    this.count = 0;
    this.end = false;
    this.error = undefined;
  }

  /** Message `i` as a {@link Reply} (a new object: for callers that keep it). */
  reply(i: number, seq: number): Reply {
    const dv = this.dv;
    const offset = this.offsets[i];
    return {
      dv,
      offset,
      length: this.lengths[i],
      type: dv.getUint16(offset + 4, HOST_LE),
      flags: dv.getUint16(offset + 6, HOST_LE),
      seq,
    };
  }

  /**
   * Reads the datagram `dv[0, n)` of the replies to request `seq` (named `op` in errors; `dump`:
   * a dump, which ends at `NLMSG_DONE`, else at the acknowledgement). Data messages before a
   * problem are kept: the caller handles them, then throws {@link error}.
   */
  scan(dv: DataView, n: number, seq: number, op: string, dump: boolean): void {
    this.dv = dv;
    this.error = undefined;
    if (this.offsets.length < n >>> 4) {
      this.offsets = new Int32Array(n >>> 4);
      this.lengths = new Int32Array(n >>> 4);
    }
    const offsets = this.offsets;
    const lengths = this.lengths;
    let count = 0;
    let off = 0;
    while (off < n) {
      const bad = headerError(dv, off, n);
      if (bad) {
        this.error = bad;
        break;
      }
      const len = dv.getUint32(off, HOST_LE);
      const got = dv.getUint32(off + 8, HOST_LE);
      if (got !== seq) {
        this.error = new RangeError(
          `${op}: reply sequence number ${got} does not match request ${seq}`,
        );
        break;
      }
      const type = dv.getUint16(off + 4, HOST_LE);
      const flags = dv.getUint16(off + 6, HOST_LE);
      if (type === NLMSG_ERROR) {
        const e = errorReply(dv, off, len, flags);
        if (e instanceof Error) { // malformed: thrown, as any bad bytes, after the messages before it
          this.error = e;
          break;
        }
        if (e.errno !== 0) {
          this.end = true; // an error is the request's last reply: nothing stale follows
          this.error = new NetlinkError(op, e.errno, e);
          break;
        }
        if (!dump) {
          this.end = true;
          break;
        }
        // An ACK inside a dump (NLM_F_ACK on a dump request): the DONE still follows.
      } else if (type === NLMSG_DONE) {
        this.end = true;
        const d = readDone(dv, off, len, flags);
        if (d.errno !== 0) this.error = new NetlinkError(op, d.errno, d);
        break;
      } else if (type === NLMSG_OVERRUN) {
        this.error = new NetlinkError(op, ENOBUFS);
        break;
      } else if (type !== NLMSG_NOOP) {
        if (flags & NLM_F_DUMP_INTR) {
          this.error = new NetlinkError(`${op} (the table changed during the dump)`, EINTR);
          break;
        }
        // A single (non-dump) reply is followed by its acknowledgement: keep reading.
        offsets[count] = off;
        lengths[count++] = len;
      }
      off += (len + 3) & ~3; // NLMSG_ALIGN, written out: this loop runs for every message
    }
    this.count = count;
  }
}

/** The `NLMSG_ERROR` at `off` decoded, or the `RangeError` {@link readError} throws on bad bytes. */
function errorReply(dv: DataView, off: number, len: number, flags: number): ErrorMessage | Error {
  try {
    return readError(dv, off, len, flags);
  } catch (e) {
    return e as Error;
  }
}
