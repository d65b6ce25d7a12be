/**
 * A netlink socket: owns the fd, numbers requests, reads replies and checks them.
 *
 * I/O goes through a {@link Transport}, so protocol edge cases can be tested with a scripted one
 * (the real one is {@link LibcTransport}). All calls are synchronous: the kernel answers
 * ctnetlink requests inside the system call, so a request never waits on anything outside this
 * machine.
 * @module
 */
import { ENOBUFS, SyscallError } from "../ffi/errno.ts";
import { type BatchReader, lostReplies, readBatchReplies } from "./batch_replies.ts";
import type { Reply } from "./message.ts";
import { NetnsHandle } from "./netns.ts";
import { ReadAhead } from "./readahead.ts";
import { ReplyBatch } from "./reply_batch.ts";
import { type BatchDone, BatchSender } from "./sender.ts";
import {
  LibcTransport,
  type LibcTransportOptions,
  type Transport,
  type TransportFactory,
} from "./transport.ts";

// The transport types this socket's API takes, for its users.
export type { LibcTransportOptions, Transport, TransportFactory } from "./transport.ts";

/** Default receive buffer, in bytes: big enough for batches of acknowledgements. */
export const DEFAULT_RECEIVE_BUFFER = 8 << 20;
const RX_SIZE = 64 * 1024;

/**
 * How a batch's replies are awaited: `"acks"`, each request was sent with `NLM_F_ACK`: wait
 * until every one has its outcome. `"errors"`, sent without it: only failures answer, and the
 * kernel queued them all before `sendto` returned: read without waiting until none is left.
 */
type BatchReplies = "acks" | "errors";

/**
 * A netlink socket speaking one protocol: sequence-numbered requests, acknowledgements,
 * multipart dumps, batches.
 */
export class NetlinkSocket {
  #factory: TransportFactory;
  #t: Transport | undefined;
  #seq: number;
  #rx = new Uint8Array(RX_SIZE);
  #batch = new ReplyBatch();
  #dv = new DataView(this.#rx.buffer);
  #busy = false;
  /** Counts the dumps and batches this socket has read: which one a busy socket is in. */
  #useId = 0;
  #ra: ReadAhead | undefined;
  #onClose: (() => void) | undefined;

  /**
   * Wraps a transport factory (the real one is {@link NetlinkSocket.open}). `onClose` runs once
   * when the socket is closed (or when opening its first transport fails).
   */
  constructor(factory: TransportFactory, onClose?: () => void) {
    this.#factory = factory;
    try {
      this.#t = factory();
    } catch (e) {
      onClose?.();
      throw e;
    }
    this.#onClose = onClose;
    this.#seq = (Date.now() / 1000) >>> 0;
  }

  /**
   * Opens a libc netlink socket of `protocol`. With `options.netns` as a path or pid, the
   * namespace is opened once here and kept (and closed with the socket), so a socket reopened
   * after an abandoned dump lands in the same namespace.
   */
  static open(protocol: number, options: LibcTransportOptions = {}): NetlinkSocket {
    const ns = options.netns;
    if (ns === undefined || ns instanceof NetnsHandle) {
      return new NetlinkSocket(() => new LibcTransport(protocol, options));
    }
    const h = NetnsHandle.open(ns);
    const opts = { ...options, netns: h };
    return new NetlinkSocket(() => new LibcTransport(protocol, opts), () => h.close());
  }

  get #transport(): Transport {
    if (!this.#t) throw new TypeError("Cannot use a closed netlink socket");
    return this.#t;
  }

  /** The socket's netlink port id. */
  get portId(): number {
    return this.#transport.portId;
  }

  /** True while a dump or batch is reading replies on this socket. */
  get busy(): boolean {
    return this.#busy;
  }

  /** True when worker threads can use this socket (read-ahead, batch sender): a real fd. */
  get threadable(): boolean {
    return typeof this.#t?.unsafeFd === "function";
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#t === undefined;
  }

  /** The granted receive buffer size in bytes. */
  receiveBufferSize(): number {
    return this.#transport.receiveBufferSize();
  }

  /** Reserves `n` consecutive sequence numbers; returns the first. */
  nextSeq(n = 1): number {
    const s = this.#seq;
    this.#seq = (this.#seq + n) >>> 0;
    if (this.#seq < s) { // wrapped: restart so a batch's numbers stay increasing
      this.#seq = n;
      return 0;
    }
    return s;
  }

  /** Sends bytes (one or many messages) as one datagram. */
  send(bytes: Uint8Array): void {
    this.#transport.send(bytes);
  }

  #recv(wait: boolean): number {
    const n = this.#ra ? this.#ra.recv(this.#rx, wait) : this.#transport.recv(this.#rx, wait);
    if (n > this.#rx.length) {
      this.#rx = new Uint8Array(n + 4096);
      this.#dv = new DataView(this.#rx.buffer);
      throw new RangeError(
        `Cannot read netlink reply: a ${n}-byte datagram did not fit the receive buffer; it was lost`,
      );
    }
    return n;
  }

  #enter(op: string): void {
    if (this.#busy) {
      throw new TypeError(
        `${op}: the socket is still busy with a dump; finish or break out of it first`,
      );
    }
    this.#busy = true;
    this.#useId++;
  }

  /** The number of the dump or batch the socket is reading now (or read last). */
  get useId(): number {
    return this.#useId;
  }

  /**
   * Frees a socket whose dump number `id` was abandoned (its iterator became garbage without
   * being finished or returned): ends its read-ahead and reopens the transport so that no stale
   * reply remains. Does nothing when the socket has moved on to another use since.
   */
  abandon(id: number): void {
    if (!this.#busy || id !== this.#useId || !this.#t) return;
    this.#endUse(true);
  }

  /** Ends the current use: stops its read-ahead, frees the socket, and with `reopen` drops any stale reply. */
  #endUse(reopen: boolean): void {
    const ra = this.#ra;
    this.#ra = undefined;
    try {
      ra?.stop();
    } finally {
      this.#busy = false;
      if (reopen) this.#reopen();
    }
  }

  /**
   * Reads the replies to request `seq`: yields each data message and ends at the request's
   * `NLMSG_DONE` (dump) or acknowledgement. Throws `NetlinkError` if the kernel refused.
   * Abandoning the iterator early closes and reopens the socket so no stale replies remain.
   * Hands the messages out one {@link Reply} at a time: for a long dump, {@link batches}.
   */
  *replies(
    seq: number,
    op: string,
    dump: boolean,
    readAheadAfter = 0,
  ): Generator<Reply, void, void> {
    for (const b of this.batches(seq, op, dump, readAheadAfter)) {
      for (let i = 0; i < b.count; i++) yield b.reply(i, seq);
    }
  }

  /**
   * {@link replies}, a datagram at a time: yields the data messages of each datagram as one
   * {@link ReplyBatch} (the same object each time), so a long dump resumes this generator
   * some 300 times less often. With `readAheadAfter` (bytes, 0: never), once the dump has sent
   * that much a worker thread receives the datagrams while the caller handles the ones before
   * (for long dumps: a thread costs milliseconds to start; see {@link ReadAhead}). A short dump
   * (a kernel-filtered one with few matches) then starts no thread.
   */
  *batches(
    seq: number,
    op: string,
    dump: boolean,
    readAheadAfter = 0,
  ): Generator<ReplyBatch, void, void> {
    this.#enter(op);
    const b = this.#batch; // one reader at a time (#enter): one batch per socket
    b.start();
    try {
      let ahead = readAheadAfter;
      for (;;) {
        const n = this.#recv(true);
        if (ahead > 0) {
          ahead -= n;
          if (ahead <= 0) {
            ahead = 0;
            this.#startReadAhead();
          }
        }
        b.scan(this.#dv, n, seq, op, dump);
        if (b.count) yield b;
        if (b.error) throw b.error;
        if (b.end) return;
      }
    } finally {
      this.#endUse(!b.end);
    }
  }

  /** Hands the rest of the current dump to a read-ahead thread, when the transport has an fd. */
  #startReadAhead(): void {
    const t = this.#transport;
    if (!t.unsafeFd) return;
    this.#ra = new ReadAhead(t.unsafeFd(), {
      slotSize: this.#rx.length,
      direct: (buf, wait) => t.recv(buf, wait),
    });
  }

  /**
   * Reads the replies of a batch whose requests were each sent with `NLM_F_ACK`, until every
   * one has its outcome: `batch.onOutcome` gets each, `batch.onData` each data reply.
   * Throws {@link SyscallError} `ENOBUFS` if the kernel dropped replies.
   */
  drainBatch(batch: BatchReader): void {
    this.#use(batch.op, () => this.#readBatch(batch, "acks"));
  }

  /**
   * Collects the error replies of a batch sent WITHOUT `NLM_F_ACK`: a request that succeeded
   * sends nothing back. The kernel handles a ctnetlink batch inside `sendto`, so every error
   * reply is already queued when this runs: it reads without waiting until the queue is empty,
   * calls `batch.onOutcome` for each failure and returns how many there were. Throws
   * {@link SyscallError} `ENOBUFS` if replies were dropped (then the outcomes of the batch are
   * unknown, never assumed successful).
   */
  drainErrors(batch: BatchReader): number {
    return this.#use(batch.op, () => this.#readErrors(batch));
  }

  #readErrors(batch: BatchReader): number {
    let errors = 0;
    this.#readBatch({
      ...batch,
      onOutcome: (o) => {
        if (o.errno === 0) return;
        errors++;
        batch.onOutcome(o);
      },
    }, "errors");
    return errors;
  }

  /** Runs `fn` as one use of the socket: busy meanwhile, reopened if `fn` did not finish. */
  #use<T>(op: string, fn: () => T): T {
    this.#enter(op);
    let finished = false;
    try {
      const r = fn();
      finished = true;
      return r;
    } finally {
      this.#endUse(!finished);
    }
  }

  /**
   * The one loop that reads a batch's replies ({@link drainBatch}, {@link drainErrors}, a
   * batch sender's batches sent on this thread): datagram by datagram, as {@link BatchReplies}
   * says, each through {@link readBatchReplies}.
   */
  #readBatch(batch: BatchReader, replies: BatchReplies): void {
    const acks = replies === "acks";
    let seen = 0;
    while (!acks || seen < batch.count) {
      let n: number;
      try {
        n = this.#recv(acks);
      } catch (e) {
        if (!(e instanceof SyscallError && e.errno === ENOBUFS)) throw e;
        throw lostReplies(batch.op, batch.count, acks ? seen : undefined);
      }
      if (n < 0) return; // EAGAIN: nothing more queued
      seen += readBatchReplies(this.#dv, n, batch);
    }
  }

  /**
   * Starts sending batches of requests made WITHOUT `NLM_F_ACK` on a worker thread (see
   * {@link BatchSender}): each batch's failures go to `onDone`, in order. The socket is busy
   * until the sender's `finish()` or `stop()`. `maxCount` is capped so the receive buffer holds
   * an error reply for every request of a batch.
   */
  batchSender(
    options: { slotBytes: number; maxCount: number; op: string; onDone: BatchDone },
  ): BatchSender {
    const { op } = options;
    this.#enter(op);
    try {
      const t = this.#transport;
      return new BatchSender(t.unsafeFd?.(), {
        ...options,
        direct: (bytes, first, count, onError) => {
          t.send(bytes);
          this.#readErrors({ first, count, op, onOutcome: onError });
        },
        onStop: (clean) => this.#endUse(!clean),
      });
    } catch (e) {
      this.#busy = false;
      throw e;
    }
  }

  #reopen(): void {
    if (!this.#t) return;
    try {
      this.#t.close();
    } finally {
      this.#t = undefined;
      this.#t = this.#factory();
    }
  }

  /** Closes the socket (ending a read-ahead first, if a dump was left mid-way); idempotent. */
  close(): void {
    const ra = this.#ra;
    this.#ra = undefined;
    ra?.stop();
    const t = this.#t;
    this.#t = undefined;
    const done = this.#onClose;
    this.#onClose = undefined;
    try {
      t?.close();
    } finally {
      done?.();
    }
  }

  /** {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
