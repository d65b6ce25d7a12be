/**
 * Transports: what moves a netlink socket's datagrams ({@link Transport}), and the real one,
 * {@link LibcTransport}: an `AF_NETLINK` socket through libc, bound and configured the way nfct
 * needs (extended and capped ACKs, strict checking, the receive buffer asked for), created in
 * another network namespace when asked.
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
import { EMSGSIZE, SyscallError } from "../ffi/errno.ts";
import {
  AF_NETLINK,
  HOST_LE,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  SOL_NETLINK,
} from "./message.ts";
import { type Netns, NetnsHandle } from "./netns.ts";

/**
 * Moves datagrams between nfct and the kernel: what a {@link NetlinkSocket} reads and writes
 * through. The real one is a libc socket; tests script their own to replay edge cases
 * (sequence mismatches, truncation, errors with and without extended ACK, `ENOBUFS`).
 *
 * @example A transport that answers every request with nothing (each `recv` would block)
 * ```ts
 * const silent: Transport = {
 *   portId: 1,
 *   send: () => {},
 *   recv: () => -1,
 *   receiveBufferSize: () => 1 << 20,
 *   close: () => {},
 * };
 * ```
 */
export interface Transport {
  /** The socket's netlink port id (`nl_pid`). */
  readonly portId: number;
  /** Sends `buf` as one datagram to the kernel. Throws {@link SyscallError} on failure. */
  send(buf: Uint8Array): void;
  /**
   * Receives one datagram into `buf`; returns its full length (more than `buf.length` when it
   * was cut short), or -1 when `wait` is false and nothing is queued. Throws
   * {@link SyscallError} on failure (`ENOBUFS`: the kernel dropped messages).
   */
  recv(buf: Uint8Array, wait: boolean): number;
  /** The receive buffer size the kernel granted, in bytes (what `getsockopt(SO_RCVBUF)` says). */
  receiveBufferSize(): number;
  /**
   * Optional: the file descriptor, for worker threads that read ahead ({@link ReadAhead}) or
   * send batches ({@link BatchSender}) on it. Transports without one do all I/O on this thread.
   */
  unsafeFd?(): number;
  /** Closes the transport; called once, when its socket is closed or reopened. */
  close(): void;
}

/**
 * Opens a {@link Transport} (`Conntrack.open({ transport })` takes one: tests pass a scripted
 * one). Called again for a fresh transport after a dump was abandoned half-way, so that no stale
 * reply is read by the next request.
 */
export type TransportFactory = () => Transport;

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
    if (n !== buf.length) {
      throw new SyscallError("sendto", EMSGSIZE, `Sent ${n} of ${buf.length} bytes`);
    }
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
