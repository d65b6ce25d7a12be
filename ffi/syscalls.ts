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
import { SyscallError } from "./errno.ts";

const EINTR = 4;
const EAGAIN = 11;

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
  if (c.setsockopt(fd, level, name, v, 4) < 0) fail(c, "setsockopt", `Cannot set socket option ${level}/${name}`);
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

/** `poll(2)` on one fd for `events`; returns the revents (0 on timeout). */
export function pollOne(fd: number, events: number, timeoutMs: number): number {
  const c = rawLibc();
  // struct pollfd { int fd; short events; short revents; }, in host byte order.
  const i32 = new Int32Array(2);
  const i16 = new Int16Array(i32.buffer);
  i32[0] = fd;
  i16[2] = events;
  const pfd = new Uint8Array(i32.buffer);
  for (;;) {
    const n = c.poll(pfd, 1, timeoutMs);
    if (n >= 0) return n === 0 ? 0 : i16[3];
    const errno = c.errno();
    if (errno !== EINTR) throw new SyscallError("poll", errno);
  }
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
  if (bytes.indexOf(0) !== bytes.length - 1) throw new TypeError(`${doing ?? "Cannot open"}: the path contains a NUL byte`);
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
  if (bytes.indexOf(0) !== bytes.length - 1) throw new TypeError(`${doing ?? "Cannot read link"}: the path contains a NUL byte`);
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
    throw new RangeError(`Cannot attach socket filter: ${program.length} bytes is not 1..4096 instructions`);
  }
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (pointer at offset 8 on 64-bit)
  const fprog = new Uint8Array(16);
  const dv = new DataView(fprog.buffer);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  dv.setUint16(0, program.length / 8, le);
  dv.setBigUint64(8, c.addressOf(program), le);
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
