/**
 * A netlink socket: owns the fd, numbers requests, reads replies and checks them.
 *
 * I/O goes through a {@link Transport}, so protocol edge cases can be tested with a scripted one.
 * All calls are synchronous: the kernel answers ctnetlink requests inside the system call, so a
 * request never waits on anything outside this machine.
 * @module
 */
import * as sys from "../ffi/syscalls.ts";
import {
  MSG_DONTWAIT,
  MSG_TRUNC,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_SOCKET,
} from "../ffi/libc.ts";
import { SyscallError } from "../ffi/errno.ts";
import { NetlinkError } from "./errors.ts";
import { type Netns, NetnsHandle } from "./netns.ts";
import { ReadAhead } from "./readahead.ts";
import { type BatchDone, BatchSender } from "./sender.ts";
import {
  AF_NETLINK,
  HOST_LE,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NLM_F_DUMP_INTR,
  NLMSG_ALIGN,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  readDone,
  readError,
  readHeader,
  SOL_NETLINK,
} from "./message.ts";

const ENOBUFS = 105;

/** Moves datagrams between nfct and the kernel. */
export interface Transport {
  /** The socket's netlink port id (`nl_pid`). */
  readonly portId: number;
  /** Sends `buf` as one datagram to the kernel. */
  send(buf: Uint8Array): void;
  /**
   * Receives one datagram into `buf`; returns its full length (more than `buf.length` when it
   * was cut short), or -1 when `wait` is false and nothing is queued.
   */
  recv(buf: Uint8Array, wait: boolean): number;
  /** The receive buffer size the kernel granted, in bytes (what `getsockopt(SO_RCVBUF)` says). */
  receiveBufferSize(): number;
  /**
   * Optional: the file descriptor, for worker threads that read ahead ({@link ReadAhead}) or
   * send batches ({@link BatchSender}) on it. Transports without one do all I/O on this thread.
   */
  unsafeFd?(): number;
  /** Closes the transport; further calls fail. */
  close(): void;
}

/** Options for a libc-backed netlink socket. */
export interface LibcTransportOptions {
  /** Receive buffer to ask for (`SO_RCVBUFFORCE` when privileged, else `SO_RCVBUF`). */
  receiveBufferSize?: number;
  /** Multicast groups bitmask to bind to (events). */
  groups?: number;
  /**
   * Network namespace to create the socket in (see {@link Netns}); default: the caller's.
   * A path or pid is opened for this one socket and closed again; pass a {@link NetnsHandle}
   * to share one open namespace between many sockets (as {@link NetlinkSocket.open} does).
   */
  netns?: Netns | NetnsHandle;
}

/** A real `AF_NETLINK` socket through libc. */
export class LibcTransport implements Transport {
  #fd: number;
  readonly portId: number;
  static #kernel = (() => {
    const a = new Uint8Array(12); // struct sockaddr_nl { u16 family; u16 pad; u32 pid; u32 groups }
    new DataView(a.buffer).setUint16(0, AF_NETLINK, HOST_LE);
    return a;
  })();

  constructor(protocol: number, options: LibcTransportOptions = {}) {
    const fd = LibcTransport.#socket(protocol, options.netns);
    try {
      const addr = new Uint8Array(12);
      const dv = new DataView(addr.buffer);
      dv.setUint16(0, AF_NETLINK, HOST_LE);
      dv.setUint32(8, options.groups ?? 0, HOST_LE);
      sys.bind(fd, addr);
      sys.getsockname(fd, addr);
      this.portId = dv.getUint32(4, HOST_LE);
      // Extended ACK: the kernel explains errors. Capped ACK: errors do not echo the request.
      sys.trySetsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
      sys.trySetsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
      sys.trySetsockoptInt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
      if (options.receiveBufferSize) {
        const want = options.receiveBufferSize;
        if (sys.trySetsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, want) !== 0) {
          sys.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, want);
        }
      }
      sys.trySetsockoptInt(fd, SOL_SOCKET, SO_SNDBUF, 1 << 20);
    } catch (e) {
      sys.close(fd);
      throw e;
    }
    this.#fd = fd;
  }

  /** `socket()`, in `netns` when given (the thread enters it only for that call). */
  static #socket(protocol: number, netns: Netns | NetnsHandle | undefined): number {
    const open = () => sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (netns === undefined) return open();
    if (netns instanceof NetnsHandle) return netns.run(open);
    const h = NetnsHandle.open(netns);
    try {
      return h.run(open);
    } finally {
      h.close();
    }
  }

  send(buf: Uint8Array): void {
    const n = sys.sendto(this.#fd, buf, buf.length, LibcTransport.#kernel);
    if (n !== buf.length) throw new SyscallError("sendto", 90, `Sent ${n} of ${buf.length} bytes`);
  }

  recv(buf: Uint8Array, wait: boolean): number {
    return sys.recvfrom(this.#fd, buf, MSG_TRUNC | (wait ? 0 : MSG_DONTWAIT));
  }

  receiveBufferSize(): number {
    return sys.getsockoptInt(this.#fd, SOL_SOCKET, SO_RCVBUF);
  }

  /** The raw file descriptor. Closing it behind nfct's back breaks the socket. */
  unsafeFd(): number {
    return this.#fd;
  }

  close(): void {
    if (this.#fd >= 0) {
      const fd = this.#fd;
      this.#fd = -1;
      sys.close(fd);
    }
  }
}

/** One reply message, valid until the iterator that produced it moves on. */
export interface Reply {
  /** The receive buffer (shared, overwritten by the next datagram). */
  readonly dv: DataView;
  /** Offset of the message's `nlmsghdr` in `dv`. */
  readonly offset: number;
  /** The message's length including its header. */
  readonly length: number;
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
}

/** The outcome of one request of a batch. */
export interface BatchOutcome {
  seq: number;
  /** 0 when the kernel acknowledged it; else the errno. */
  errno: number;
  message?: string;
}

/** Opens transports; a socket opens a fresh one after an abandoned dump. */
export type TransportFactory = () => Transport;

/** Default receive buffer: big enough for batches of acknowledgements. */
export const DEFAULT_RECEIVE_BUFFER = 8 << 20;
const RX_SIZE = 64 * 1024;

/**
 * A netlink socket speaking one protocol: sequence-numbered requests, acknowledgements,
 * multipart dumps, batches.
 */
export class NetlinkSocket {
  #factory: TransportFactory;
  #t: Transport | undefined;
  #seq: number;
  #rx = new Uint8Array(RX_SIZE);
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
   * `NLMSG_DONE` (dump) or acknowledgement. Throws {@link NetlinkError} if the kernel refused.
   * Abandoning the iterator early closes and reopens the socket so no stale replies remain.
   * With `readAheadAfter` (bytes, 0: never), once the dump has sent that much a worker thread
   * receives the datagrams while the caller handles the ones before (for long dumps: a thread
   * costs milliseconds to start; see {@link ReadAhead}). A short dump (a kernel-filtered one
   * with few matches) then starts no thread.
   */
  *replies(
    seq: number,
    op: string,
    dump: boolean,
    readAheadAfter = 0,
  ): Generator<Reply, void, void> {
    this.#enter(op);
    let finished = false;
    try {
      let ahead = readAheadAfter;
      for (;;) {
        const n = this.#recv(true);
        if (ahead > 0) {
          ahead -= n;
          if (ahead <= 0) {
            ahead = 0;
            const t = this.#transport;
            if (t.unsafeFd) {
              this.#ra = ReadAhead.start(
                t.unsafeFd(),
                this.#rx.length,
                (buf, wait) => t.recv(buf, wait),
              );
            }
          }
        }
        const dv = this.#dv;
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
              finished = true; // an error is the request's last reply: nothing stale follows
              throw new NetlinkError(op, e.errno, e);
            }
            if (!dump) {
              finished = true;
              return;
            }
            // An ACK inside a dump (NLM_F_ACK on a dump request): the DONE still follows.
          } else if (h.type === NLMSG_DONE) {
            finished = true;
            const d = readDone(dv, off, h.len, h.flags);
            if (d.errno !== 0) throw new NetlinkError(op, d.errno, d);
            return;
          } else if (h.type === NLMSG_OVERRUN) {
            throw new NetlinkError(op, ENOBUFS);
          } else if (h.type !== NLMSG_NOOP) {
            if (h.flags & NLM_F_DUMP_INTR) {
              throw new NetlinkError(`${op} (the table changed during the dump)`, 4 /* EINTR */);
            }
            // A single (non-dump) reply is followed by its acknowledgement: keep reading.
            yield { dv, offset: off, length: h.len, type: h.type, flags: h.flags, seq: h.seq };
          }
          off += NLMSG_ALIGN(h.len);
        }
      }
    } finally {
      this.#endUse(!finished);
    }
  }

  /**
   * Reads the acknowledgements of a batch of `count` requests numbered `first`..`first+count-1`
   * (each sent with `NLM_F_ACK`), calling `onOutcome` for each. Data replies are passed to
   * `onData` if given. Throws {@link SyscallError} `ENOBUFS` if the kernel dropped replies.
   */
  drainBatch(
    first: number,
    count: number,
    op: string,
    onOutcome: (o: BatchOutcome) => void,
    onData?: (r: Reply) => void,
  ): void {
    let left = count;
    this.#readBatch(
      first,
      count,
      op,
      true,
      () => left > 0,
      (o) => {
        left--;
        onOutcome(o);
      },
      onData,
      (seen) => `${op}: ${count - seen} of ${count} outcomes were lost (receive buffer overrun)`,
    );
  }

  /**
   * Collects the error replies of a batch of `count` requests numbered `first`.. that were sent
   * WITHOUT `NLM_F_ACK`: a request that succeeded sends nothing back. The kernel handles a
   * ctnetlink batch inside `sendto`, so every error reply is already queued when this runs:
   * it reads without waiting until the queue is empty, calls `onError` for each failure and
   * returns how many there were. Throws {@link SyscallError} `ENOBUFS` if replies were dropped
   * (then the outcomes of the batch are unknown, never assumed successful).
   */
  drainErrors(
    first: number,
    count: number,
    op: string,
    onError: (o: BatchOutcome) => void,
  ): number {
    let errors = 0;
    this.#readBatch(
      first,
      count,
      op,
      false,
      () => true,
      (o) => {
        if (o.errno === 0) return;
        errors++;
        onError(o);
      },
      undefined,
      () =>
        `${op}: error replies were dropped (receive buffer overrun); the outcome of ${count} requests is unknown`,
    );
    return errors;
  }

  /**
   * The one loop behind {@link drainBatch} and {@link drainErrors}: reads datagrams (waiting or
   * not) while `more()` holds and, without waiting, until the queue is empty; checks each
   * reply belongs to the batch; reports `NLMSG_ERROR`s (ACKs are errno 0) and data replies.
   */
  #readBatch(
    first: number,
    count: number,
    op: string,
    wait: boolean,
    more: () => boolean,
    onOutcome: (o: BatchOutcome) => void,
    onData: ((r: Reply) => void) | undefined,
    lostMessage: (seen: number) => string,
    enter = true,
  ): void {
    if (enter) this.#enter(op);
    let finished = false;
    let seen = 0;
    try {
      while (more()) {
        let n: number;
        try {
          n = this.#recv(wait);
        } catch (e) {
          if (e instanceof SyscallError && e.errno === ENOBUFS) {
            throw new SyscallError("recvfrom", ENOBUFS, lostMessage(seen));
          }
          throw e;
        }
        if (n < 0) break; // EAGAIN: nothing more queued
        const dv = this.#dv;
        let off = 0;
        while (off < n) {
          const h = readHeader(dv, off, n);
          const idx = (h.seq - first) >>> 0;
          if (idx >= count) {
            throw new RangeError(
              `${op}: reply sequence number ${h.seq} is not one of the batch ${first}..${
                first + count - 1
              }`,
            );
          }
          if (h.type === NLMSG_ERROR) {
            const e = readError(dv, off, h.len, h.flags);
            const o: BatchOutcome = { seq: h.seq, errno: e.errno };
            if (e.message !== undefined) o.message = e.message;
            seen++;
            onOutcome(o);
          } else if (h.type !== NLMSG_NOOP && h.type !== NLMSG_DONE && onData) {
            onData({ dv, offset: off, length: h.len, type: h.type, flags: h.flags, seq: h.seq });
          }
          off += NLMSG_ALIGN(h.len);
        }
      }
      finished = true;
    } finally {
      if (enter) {
        this.#busy = false;
        if (!finished) this.#reopen();
      }
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
      return BatchSender.start(t.unsafeFd?.(), {
        ...options,
        direct: (bytes, first, count, onError) => {
          t.send(bytes);
          this.#readBatch(
            first,
            count,
            op,
            false,
            () => true,
            (o) => {
              if (o.errno !== 0) onError(o);
            },
            undefined,
            () =>
              `${op}: error replies were dropped (receive buffer overrun); the outcome of ${count} requests is unknown`,
            false,
          );
        },
        onStop: (clean) => {
          this.#busy = false;
          if (!clean) this.#reopen();
        },
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

  [Symbol.dispose](): void {
    this.close();
  }
}
