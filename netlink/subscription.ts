/**
 * A netlink socket subscribed to multicast groups (events), read without blocking the JS thread.
 *
 * Unlike requests (answered inside the system call, see socket.ts), events arrive whenever
 * something happens, so waiting for them is asynchronous: the socket is only ever read with
 * `MSG_DONTWAIT`, and when it is empty {@link Subscription.wait} waits for readiness off the JS
 * thread (ffi/wait.ts).
 * @module
 */
import * as sys from "../ffi/syscalls.ts";
import { MSG_DONTWAIT, MSG_TRUNC, SO_MEMINFO, SOL_SOCKET } from "../ffi/libc.ts";
import { openReadableWaiter, type ReadableWaiter } from "../ffi/wait.ts";
import { LibcTransport, type LibcTransportOptions } from "./transport.ts";
import {
  NETLINK_BROADCAST_ERROR,
  NETLINK_LISTEN_ALL_NSID,
  NETLINK_NO_ENOBUFS,
  SOL_NETLINK,
} from "./message.ts";

/** Index of `SK_MEMINFO_DROPS` in the `SO_MEMINFO` array (linux/sock_diag.h). */
const SK_MEMINFO_DROPS = 8;

/** Where events come from; the real one is {@link Subscription}, tests script their own. */
export interface EventSource {
  /** The socket's port id. */
  readonly portId: number;
  /**
   * Reads one datagram into `buf` without waiting: its full length (more than `buf.length` if
   * cut short), or -1 when nothing is queued. Throws {@link SyscallError} `ENOBUFS` once after
   * the kernel dropped messages because the receive buffer was full.
   */
  recv(buf: Uint8Array): number;
  /**
   * Optional: the nsid the datagram last read by {@link recv} came from (its
   * `NETLINK_LISTEN_ALL_NSID` control message), undefined when it carried none (the socket's
   * own namespace, or a socket that does not listen to all namespaces).
   */
  nsid?(): number | undefined;
  /** Resolves when something may be readable, or when {@link wake} was called. */
  wait(): Promise<unknown>;
  /** Ends a pending {@link wait}. */
  wake(): void;
  /**
   * How many messages the kernel dropped for this socket so far (`SK_MEMINFO_DROPS`), or
   * undefined when it cannot be known.
   */
  drops(): number | undefined;
  /** The receive buffer the kernel granted, in bytes. */
  receiveBufferSize(): number;
  close(): void;
}

/** Options of the {@link Subscription} constructor. */
export interface SubscriptionOptions extends LibcTransportOptions {
  /** `NETLINK_NO_ENOBUFS`: the kernel stops reporting `ENOBUFS` when it drops messages. */
  noEnobufs?: boolean;
  /** A classic BPF program (`struct sock_filter[]` bytes) to attach with `SO_ATTACH_FILTER`. */
  filter?: Uint8Array;
  /**
   * `NETLINK_LISTEN_ALL_NSID`: also receive the groups' multicasts from every other namespace
   * that has an nsid in this socket's namespace; datagrams are then read with `recvmsg` and
   * {@link Subscription.nsid} says where each came from. Needs `CAP_NET_BROADCAST`.
   */
  listenAllNsid?: boolean;
  /**
   * `NETLINK_BROADCAST_ERROR`: a multicast this socket cannot take (receive buffer full) fails
   * for the kernel code that sent it, which may keep it and send it again (ctnetlink does for
   * destroy events).
   */
  broadcastError?: boolean;
}

/** A real multicast subscription (an `AF_NETLINK` socket bound to groups). */
export class Subscription implements EventSource {
  #t: LibcTransport;
  #waiter: ReadableWaiter | undefined;
  #meminfo = new Uint32Array(16);
  #closed = false;
  #waiting = false;
  #msg: sys.MessageReceiver | undefined;
  #nsid: number | undefined;

  /** Opens a socket of `protocol` subscribed to `options.groups`. */
  constructor(protocol: number, options: SubscriptionOptions) {
    const t = new LibcTransport(protocol, options);
    try {
      const fd = t.unsafeFd();
      if (options.noEnobufs) sys.setsockoptInt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, 1);
      if (options.broadcastError) sys.setsockoptInt(fd, SOL_NETLINK, NETLINK_BROADCAST_ERROR, 1);
      if (options.listenAllNsid) sys.setsockoptInt(fd, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, 1);
      if (options.filter) sys.attachSocketFilter(fd, options.filter);
    } catch (e) {
      t.close();
      throw e;
    }
    this.#t = t;
    if (options.listenAllNsid) this.#msg = new sys.MessageReceiver();
  }

  get portId(): number {
    return this.#t.portId;
  }

  recv(buf: Uint8Array): number {
    if (!this.#msg) return this.#t.recv(buf, false);
    const n = this.#msg.recv(this.#t.unsafeFd(), buf, MSG_TRUNC | MSG_DONTWAIT);
    const id = n < 0 ? undefined : this.#msg.int(SOL_NETLINK, NETLINK_LISTEN_ALL_NSID);
    // Older kernels tag the socket's own namespace with -1 (NETNSA_NSID_NOT_ASSIGNED).
    this.#nsid = id === undefined || id < 0 ? undefined : id;
    return n;
  }

  nsid(): number | undefined {
    return this.#nsid;
  }

  async wait(): Promise<unknown> {
    if (this.#closed) return false;
    this.#waiter ??= openReadableWaiter(this.#t.unsafeFd());
    this.#waiting = true;
    try {
      return await this.#waiter.wait();
    } finally {
      this.#waiting = false;
      if (this.#closed) this.#release();
    }
  }

  wake(): void {
    this.#waiter?.wake();
  }

  drops(): number | undefined {
    try {
      const n = sys.getsockoptBytes(
        this.#t.unsafeFd(),
        SOL_SOCKET,
        SO_MEMINFO,
        new Uint8Array(this.#meminfo.buffer),
      );
      return n >= (SK_MEMINFO_DROPS + 1) * 4 ? this.#meminfo[SK_MEMINFO_DROPS] : undefined;
    } catch {
      return undefined;
    }
  }

  receiveBufferSize(): number {
    return this.#t.receiveBufferSize();
  }

  #release(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    try {
      w?.close();
    } finally {
      this.#t.close();
    }
  }

  /** Closes the socket; a pending {@link wait} resolves first. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#waiting) this.#waiter?.wake(); // wait()'s finally releases once the poll returned
    else this.#release();
  }
}
