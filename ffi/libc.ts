/**
 * libc, described once as data: every symbol nfct calls, with its C prototype.
 *
 * Types are exact C widths on Linux x86_64/aarch64 (`int` → i32, `socklen_t` → u32,
 * `size_t` → usize, `ssize_t` → isize). `buffer` is a pointer argument that nfct always
 * passes as a `Uint8Array` (or null); `pointer` is a raw address returned by libc.
 *
 * @module
 */

/** A C type as the two runtimes' FFI layers need to know it. */
export type CType = "i32" | "u32" | "usize" | "isize" | "buffer" | "pointer";

/** One libc symbol: its prototype (for humans) and its FFI signature. */
export interface SymbolSpec {
  readonly c: string;
  readonly args: readonly CType[];
  readonly returns: CType;
  /** The C function to bind, when the entry's key is an alias (a second binding of it). */
  readonly symbol?: string;
  /**
   * Deno only: run the call on another thread and return a Promise (`nonblocking: true`), so
   * waiting in it never blocks the event loop. Bun has no such mode: it skips these entries and
   * waits in a Worker instead (see ffi/wait.ts). errno cannot be read after such a call.
   */
  readonly nonblocking?: boolean;
}

/** The libc symbols nfct uses. */
export const LIBC_SYMBOLS = {
  socket: {
    c: "int socket(int domain, int type, int protocol)",
    args: ["i32", "i32", "i32"],
    returns: "i32",
  },
  bind: {
    c: "int bind(int fd, const struct sockaddr *addr, socklen_t len)",
    args: ["i32", "buffer", "u32"],
    returns: "i32",
  },
  sendto: {
    c: "ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *dest, socklen_t dlen)",
    args: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    returns: "isize",
  },
  recvfrom: {
    c: "ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *src, socklen_t *slen)",
    args: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    returns: "isize",
  },
  // `msg` holds a `struct msghdr` whose pointers (iovec, control buffer) were taken with
  // `addressOf` from `Uint8Array`s the caller keeps alive across the call.
  recvmsg: {
    c: "ssize_t recvmsg(int fd, struct msghdr *msg, int flags)",
    args: ["i32", "buffer", "i32"],
    returns: "isize",
  },
  setsockopt: {
    c: "int setsockopt(int fd, int level, int name, const void *val, socklen_t len)",
    args: ["i32", "i32", "i32", "buffer", "u32"],
    returns: "i32",
  },
  getsockopt: {
    c: "int getsockopt(int fd, int level, int name, void *val, socklen_t *len)",
    args: ["i32", "i32", "i32", "buffer", "buffer"],
    returns: "i32",
  },
  getsockname: {
    c: "int getsockname(int fd, struct sockaddr *addr, socklen_t *len)",
    args: ["i32", "buffer", "buffer"],
    returns: "i32",
  },
  poll: {
    c: "int poll(struct pollfd *fds, nfds_t nfds, int timeout)",
    args: ["buffer", "usize", "i32"],
    returns: "i32",
  },
  close: { c: "int close(int fd)", args: ["i32"], returns: "i32" },
  // Variadic in C; nfct never passes O_CREAT/O_TMPFILE, so the mode argument is never read.
  // Paths are NUL-terminated byte strings.
  open: {
    c: "int open(const char *path, int flags, ...)",
    args: ["buffer", "i32"],
    returns: "i32",
  },
  setns: { c: "int setns(int fd, int nstype)", args: ["i32", "i32"], returns: "i32" },
  unshare: { c: "int unshare(int flags)", args: ["i32"], returns: "i32" },
  // `buf`: 390 bytes, six 65-byte NUL-terminated fields.
  uname: { c: "int uname(struct utsname *buf)", args: ["buffer"], returns: "i32" },
  // Returns the bytes written to `buf` (no NUL).
  readlink: {
    c: "ssize_t readlink(const char *path, char *buf, size_t bufsiz)",
    args: ["buffer", "buffer", "usize"],
    returns: "isize",
  },
  __errno_location: { c: "int *__errno_location(void)", args: [], returns: "pointer" },
  // Waiting for events (ffi/wait.ts): an eventfd wakes a thread blocked in poll().
  eventfd: {
    c: "int eventfd(unsigned int initval, int flags)",
    args: ["u32", "i32"],
    returns: "i32",
  },
  read: {
    c: "ssize_t read(int fd, void *buf, size_t count)",
    args: ["i32", "buffer", "usize"],
    returns: "isize",
  },
  write: {
    c: "ssize_t write(int fd, const void *buf, size_t count)",
    args: ["i32", "buffer", "usize"],
    returns: "isize",
  },
  isatty: { c: "int isatty(int fd)", args: ["i32"], returns: "i32" },
  poll_wait: {
    c: "int poll(struct pollfd *fds, nfds_t nfds, int timeout), on another thread",
    symbol: "poll",
    args: ["buffer", "usize", "i32"],
    returns: "i32",
    nonblocking: true,
  },
} as const satisfies Record<string, SymbolSpec>;

/** The table's type: what the bindings derive their FFI declarations from. */
export type LibcSymbols = typeof LIBC_SYMBOLS;

/** How JS passes a C argument of type `T`: buffers as `Uint8Array`s, integers as numbers. */
type JsArg<T> = T extends "buffer" ? Uint8Array | null : number;

/** A C argument list as JS passes it (mapped element by element, so the tuple stays a tuple). */
type JsArgs<A extends readonly CType[]> = { -readonly [I in keyof A]: JsArg<A[I]> };

/** The JS signature of a bound symbol `S`: its arguments as {@link JsArgs}, its result a number. */
type JsCall<S extends SymbolSpec> = (...args: JsArgs<S["args"]>) => number;

/** The symbols both runtimes bind the same way: plain C calls, `-1` on failure. */
type PlainSymbol = Exclude<keyof LibcSymbols, "__errno_location" | "poll_wait">;

/**
 * The raw bindings both runtimes provide, derived from {@link LIBC_SYMBOLS}: each plain symbol as
 * a function of JS numbers and `Uint8Array`s returning a number (`-1` on failure), plus errno,
 * buffer addresses, and Deno's poll on another thread.
 */
export type RawLibc = { readonly [K in PlainSymbol]: JsCall<LibcSymbols[K]> } & {
  /**
   * Deno only: `poll()` on another thread; resolves with its result (-1 on failure, errno not
   * readable). Undefined on Bun, which waits in a Worker (ffi/wait.ts).
   */
  readonly pollWait?: (fds: Uint8Array, nfds: number, timeout: number) => Promise<number>;
  /** The address of `buf`'s first byte, to embed in a struct (`struct sock_fprog`, `struct msghdr`). */
  addressOf(buf: Uint8Array): bigint;
  /** The calling thread's `errno`, read through `__errno_location()`. */
  errno(): number;
};

/** The shared object both runtimes open. */
export const LIBC_PATH = "libc.so.6";

/** Constants of `<sys/socket.h>` and `<poll.h>` that nfct passes (Linux values). */
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_ATTACH_FILTER = 26;
export const SO_RCVBUFFORCE = 33;
export const SO_MEMINFO = 55;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const POLLIN = 0x001;
export const POLLOUT = 0x004;
