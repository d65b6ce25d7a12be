/**
 * The system calls nfct makes, as functions that throw {@link SyscallError} instead of
 * returning -1. libc is opened on the first call, so importing nfct needs no FFI permission.
 *
 * This folder is the only place that knows whether Deno or Bun is running.
 * @module
 */
import { openBunLibc } from "./_bun.ts";
import { openDenoLibc } from "./_deno.ts";
import { type RawLibc, SO_ATTACH_FILTER, SOL_SOCKET } from "./libc.ts";
import { EAGAIN, EINTR, SyscallError } from "./errno.ts";
import { PollFds, pollRestarting } from "./poll.ts";

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let libc: RawLibc | undefined;

/** The runtime nfct is running on. */
export function runtime(): "deno" | "bun" {
  if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") return "bun";
  if (typeof (globalThis as { Deno?: unknown }).Deno !== "undefined") return "deno";
  throw new Error("nfct runs on Deno or Bun: neither was found (Node.js has no FFI)");
}

/** libc, opened on first use with the running runtime's FFI. */
export function rawLibc(): RawLibc {
  if (libc) return libc;
  try {
    libc = runtime() === "bun" ? openBunLibc() : openDenoLibc();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const hint = /permission|--allow/i.test(msg) ? " (run Deno with --allow-ffi, or -A)" : "";
    throw new Error(`Cannot load libc through FFI: ${msg}${hint}`, { cause: e });
  }
  return libc;
}

function fail(c: RawLibc, syscall: string, doing?: string): never {
  throw new SyscallError(syscall, c.errno(), doing);
}

/** `socket(2)`; returns the new fd. */
export function socket(domain: number, type: number, protocol: number): number {
  const c = rawLibc();
  const fd = c.socket(domain, type, protocol);
  if (fd < 0) fail(c, "socket", "Cannot open socket");
  return fd;
}

/** `bind(2)`. */
export function bind(fd: number, addr: Uint8Array): void {
  const c = rawLibc();
  if (c.bind(fd, addr, addr.length) < 0) fail(c, "bind", "Cannot bind socket");
}

/** `getsockname(2)` into `addr`; returns the address length. */
export function getsockname(fd: number, addr: Uint8Array): number {
  const c = rawLibc();
  const len = new Uint32Array([addr.length]);
  if (c.getsockname(fd, addr, new Uint8Array(len.buffer)) < 0) fail(c, "getsockname");
  return len[0];
}

/** `setsockopt(2)` with an `int` value. */
export function setsockoptInt(fd: number, level: number, name: number, value: number): void {
  const c = rawLibc();
  const v = new Uint8Array(new Int32Array([value]).buffer);
  if (c.setsockopt(fd, level, name, v, 4) < 0) {
    fail(c, "setsockopt", `Cannot set socket option ${level}/${name}`);
  }
}

/** `setsockopt(2)` with an `int` value; returns the errno instead of throwing (0 on success). */
export function trySetsockoptInt(fd: number, level: number, name: number, value: number): number {
  const c = rawLibc();
  const v = new Uint8Array(new Int32Array([value]).buffer);
  return c.setsockopt(fd, level, name, v, 4) < 0 ? c.errno() : 0;
}

/** `getsockopt(2)` of an `int` value. */
export function getsockoptInt(fd: number, level: number, name: number): number {
  const c = rawLibc();
  const v = new Int32Array(2);
  const len = new Uint32Array([4]);
  if (c.getsockopt(fd, level, name, new Uint8Array(v.buffer), new Uint8Array(len.buffer)) < 0) {
    fail(c, "getsockopt", `Cannot read socket option ${level}/${name}`);
  }
  return v[0];
}

/** `sendto(2)` of `len` bytes of `buf` to the address `dest` (null: the connected/default peer). */
export function sendto(fd: number, buf: Uint8Array, len: number, dest: Uint8Array | null): number {
  const c = rawLibc();
  for (;;) {
    const n = c.sendto(fd, buf, len, 0, dest, dest ? dest.length : 0);
    if (n >= 0) return n;
    const errno = c.errno();
    if (errno !== EINTR) throw new SyscallError("sendto", errno);
  }
}

/**
 * `recvfrom(2)` into `buf`. Returns the datagram's full length (it is called with `MSG_TRUNC`,
 * so a result larger than `buf.length` means the datagram was cut), or -1 for `EAGAIN` when
 * `flags` asked not to wait.
 */
export function recvfrom(fd: number, buf: Uint8Array, flags: number): number {
  const c = rawLibc();
  for (;;) {
    const n = c.recvfrom(fd, buf, buf.length, flags, null, null);
    if (n >= 0) return n;
    const errno = c.errno();
    if (errno === EAGAIN) return -1;
    if (errno !== EINTR) throw new SyscallError("recvfrom", errno);
  }
}

/**
 * `recvmsg(2)` with room for ancillary data (control messages), for sockets whose datagrams
 * carry some (e.g. netlink's `NETLINK_LISTEN_ALL_NSID` namespace id). Holds its `struct msghdr`,
 * `struct iovec` and control buffer for reuse: the pointers inside them are taken with
 * `addressOf` from `Uint8Array`s this object keeps referenced, so they stay valid for the call.
 *
 * ```text
 * struct msghdr (64-bit Linux, 56 bytes)      struct iovec (16)     struct cmsghdr (16 + data)
 *   0 void *msg_name        8 socklen_t namelen   0 void *iov_base     0 size_t cmsg_len
 *  16 struct iovec *msg_iov 24 size_t iovlen      8 size_t iov_len     8 int cmsg_level
 *  32 void *msg_control     40 size_t controllen                       12 int cmsg_type
 *  48 int msg_flags                                                     16 data (CMSG_DATA)
 * ```
 */
export class MessageReceiver {
  #msg = new Uint8Array(56);
  #iov = new Uint8Array(16);
  #control = new Uint8Array(128);
  #msgDv = new DataView(this.#msg.buffer);
  #iovDv = new DataView(this.#iov.buffer);
  #ctlDv = new DataView(this.#control.buffer);
  #buf: Uint8Array | undefined;
  #controlLength = 0;

  /**
   * Receives one datagram into `buf` (its full length with `MSG_TRUNC` in `flags`), or -1 for
   * `EAGAIN` when `flags` asked not to wait. The control messages it carried are read with
   * {@link int} until the next call.
   */
  recv(fd: number, buf: Uint8Array, flags: number): number {
    const c = rawLibc();
    if (buf !== this.#buf) {
      this.#buf = buf;
      this.#iovDv.setBigUint64(0, c.addressOf(buf), HOST_LE);
      this.#iovDv.setBigUint64(8, BigInt(buf.length), HOST_LE);
      this.#msgDv.setBigUint64(16, c.addressOf(this.#iov), HOST_LE);
      this.#msgDv.setBigUint64(24, 1n, HOST_LE);
      this.#msgDv.setBigUint64(32, c.addressOf(this.#control), HOST_LE);
    }
    for (;;) {
      // The kernel overwrites msg_controllen and msg_flags: reset them each time.
      this.#msgDv.setBigUint64(40, BigInt(this.#control.length), HOST_LE);
      this.#msgDv.setInt32(48, 0, HOST_LE);
      const n = c.recvmsg(fd, this.#msg, flags);
      if (n >= 0) {
        this.#controlLength = Number(this.#msgDv.getBigUint64(40, HOST_LE));
        return n;
      }
      this.#controlLength = 0;
      const errno = c.errno();
      if (errno === EAGAIN) return -1;
      if (errno !== EINTR) throw new SyscallError("recvmsg", errno);
    }
  }

  /** The `int` of the last datagram's control message `level`/`type`, or undefined if absent. */
  int(level: number, type: number): number | undefined {
    const dv = this.#ctlDv;
    let off = 0;
    while (off + 16 <= this.#controlLength) {
      const len = Number(dv.getBigUint64(off, HOST_LE));
      if (len < 16 || off + len > this.#controlLength) return undefined;
      if (
        dv.getInt32(off + 8, HOST_LE) === level && dv.getInt32(off + 12, HOST_LE) === type &&
        len >= 20
      ) {
        return dv.getInt32(off + 16, HOST_LE);
      }
      off += (len + 7) & ~7; // CMSG_ALIGN
    }
    return undefined;
  }
}

/** `poll(2)` on one fd for `events`; returns the revents (0 on timeout). */
export function pollOne(fd: number, events: number, timeoutMs: number): number {
  const c = rawLibc();
  const p = new PollFds([fd], events);
  const n = pollRestarting(() => c.poll(p.bytes, 1, timeoutMs), c.errno);
  if (n < 0) throw new SyscallError("poll", -n);
  return n === 0 ? 0 : p.revents(0);
}

/** `close(2)`. */
export function close(fd: number): void {
  const c = rawLibc();
  if (c.close(fd) < 0) fail(c, "close");
}

/** `open(2)` of `path` with `flags` (never `O_CREAT`); returns the new fd. */
export function open(path: string, flags: number, doing?: string): number {
  const c = rawLibc();
  const bytes = new TextEncoder().encode(path + "\0");
  if (bytes.indexOf(0) !== bytes.length - 1) {
    throw new TypeError(`${doing ?? "Cannot open"}: the path contains a NUL byte`);
  }
  for (;;) {
    const fd = c.open(bytes, flags);
    if (fd >= 0) return fd;
    const errno = c.errno();
    if (errno !== EINTR) throw new SyscallError("open", errno, doing);
  }
}

/** `setns(2)`: moves the calling thread into the namespace `fd` refers to. */
export function setns(fd: number, nstype: number, doing?: string): void {
  const c = rawLibc();
  if (c.setns(fd, nstype) < 0) fail(c, "setns", doing);
}

/** `unshare(2)`: gives the calling thread new namespaces of the `flags` kinds. */
export function unshare(flags: number, doing?: string): void {
  const c = rawLibc();
  if (c.unshare(flags) < 0) fail(c, "unshare", doing);
}

/**
 * `readlink(2)`: the target of the symbolic link `path`, e.g. `net:[4026531833]` for
 * `/proc/self/ns/net`. Through libc, so Deno needs no read permission for it (only FFI).
 */
export function readlink(path: string, doing?: string): string {
  const c = rawLibc();
  const bytes = new TextEncoder().encode(path + "\0");
  if (bytes.indexOf(0) !== bytes.length - 1) {
    throw new TypeError(`${doing ?? "Cannot read link"}: the path contains a NUL byte`);
  }
  for (let size = 256;; size *= 2) {
    const buf = new Uint8Array(size);
    const n = c.readlink(bytes, buf, size);
    if (n < 0) fail(c, "readlink", doing);
    // A target as long as the buffer may have been cut short: try again with more room.
    if (n < size) return new TextDecoder().decode(buf.subarray(0, n));
  }
}

/**
 * `uname(2)`: the running kernel's release, e.g. `"6.18.4-arch1-1"` (`uname -r`), through libc
 * (Deno needs no read permission for it, only FFI).
 */
export function kernelRelease(): string {
  const c = rawLibc();
  // struct utsname on Linux: sysname, nodename, release, version, machine, domainname; 65 bytes each.
  const buf = new Uint8Array(6 * 65);
  if (c.uname(buf) < 0) fail(c, "uname");
  const release = buf.subarray(2 * 65, 3 * 65);
  const end = release.indexOf(0);
  return new TextDecoder().decode(release.subarray(0, end < 0 ? release.length : end));
}

// --- Events: socket filters, drop counters, eventfd (used by netlink/subscription.ts) ---

/** `getsockopt(2)` into `val`; returns the length the kernel wrote. */
export function getsockoptBytes(fd: number, level: number, name: number, val: Uint8Array): number {
  const c = rawLibc();
  const len = new Uint32Array([val.length]);
  if (c.getsockopt(fd, level, name, val, new Uint8Array(len.buffer)) < 0) {
    fail(c, "getsockopt", `Cannot read socket option ${level}/${name}`);
  }
  return len[0];
}

/**
 * `setsockopt(SO_ATTACH_FILTER)` with a classic BPF program: `program` holds its
 * `struct sock_filter` instructions (8 bytes each, host byte order). The kernel copies the
 * program during the call, so `program` only has to live until this returns.
 */
export function attachSocketFilter(fd: number, program: Uint8Array): void {
  const c = rawLibc();
  if (program.length === 0 || program.length % 8 !== 0 || program.length / 8 > 4096) {
    throw new RangeError(
      `Cannot attach socket filter: ${program.length} bytes is not 1..4096 instructions`,
    );
  }
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (pointer at offset 8 on 64-bit)
  const fprog = new Uint8Array(16);
  const dv = new DataView(fprog.buffer);
  dv.setUint16(0, program.length / 8, HOST_LE);
  dv.setBigUint64(8, c.addressOf(program), HOST_LE);
  if (c.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, 16) < 0) {
    fail(c, "setsockopt", "Cannot attach socket filter (SO_ATTACH_FILTER)");
  }
}

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

/** `eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)`; returns the fd. */
export function eventfd(): number {
  const c = rawLibc();
  const fd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) fail(c, "eventfd", "Cannot create an eventfd");
  return fd;
}

const ONE = new Uint8Array(new BigUint64Array([1n]).buffer);

/** Adds 1 to an eventfd's counter (wakes whoever polls it). */
export function eventfdSignal(fd: number): void {
  const c = rawLibc();
  if (c.write(fd, ONE, 8) < 0) {
    const errno = c.errno();
    if (errno !== EAGAIN) throw new SyscallError("write", errno, "Cannot signal eventfd");
  }
}

/** Resets an eventfd's counter (non-blocking read; nothing to read is fine). */
export function eventfdClear(fd: number): void {
  const c = rawLibc();
  c.read(fd, new Uint8Array(8), 8);
}
