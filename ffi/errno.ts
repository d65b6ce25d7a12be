/**
 * Linux errno numbers, their names and short descriptions, and {@link SyscallError}.
 * @module
 */

// Linux errno numbers (asm-generic/errno-base.h, asm-generic/errno.h: the same on every
// architecture nfct runs on), in their kernel spelling. Code compares errnos with these, never
// with bare numbers.
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const ENOSPC = 28;
export const EPIPE = 32;
export const ERANGE = 34;
export const ENOSYS = 38;
export const ENODATA = 61;
export const EPROTO = 71;
export const EBADMSG = 74;
export const EOVERFLOW = 75;
export const ENOTSOCK = 88;
export const EMSGSIZE = 90;
export const EPROTONOSUPPORT = 93;
export const EOPNOTSUPP = 95;
export const EAFNOSUPPORT = 97;
export const EADDRINUSE = 98;
export const ENOBUFS = 105;
export const ETIMEDOUT = 110;
export const ECONNREFUSED = 111;
export const EALREADY = 114;
export const EINPROGRESS = 115;

/** errno value → [name, description]. */
const ERRNO: Record<number, readonly [string, string]> = {
  [EPERM]: ["EPERM", "operation not permitted"],
  [ENOENT]: ["ENOENT", "no such entry"],
  [ESRCH]: ["ESRCH", "no such process"],
  [EINTR]: ["EINTR", "interrupted system call"],
  [EIO]: ["EIO", "input/output error"],
  [ENXIO]: ["ENXIO", "no such device or address"],
  [E2BIG]: ["E2BIG", "argument list too long"],
  [EBADF]: ["EBADF", "bad file descriptor"],
  [EAGAIN]: ["EAGAIN", "resource temporarily unavailable"],
  [ENOMEM]: ["ENOMEM", "out of memory"],
  [EACCES]: ["EACCES", "permission denied"],
  [EFAULT]: ["EFAULT", "bad address"],
  [EBUSY]: ["EBUSY", "device or resource busy"],
  [EEXIST]: ["EEXIST", "entry exists"],
  [ENODEV]: ["ENODEV", "no such device"],
  [EINVAL]: ["EINVAL", "invalid argument"],
  [ENFILE]: ["ENFILE", "too many open files in system"],
  [EMFILE]: ["EMFILE", "too many open files"],
  [ENOSPC]: ["ENOSPC", "no space left"],
  [EPIPE]: ["EPIPE", "broken pipe"],
  [ERANGE]: ["ERANGE", "result out of range"],
  [ENOSYS]: ["ENOSYS", "function not implemented"],
  [ENODATA]: ["ENODATA", "no data available"],
  [EPROTO]: ["EPROTO", "protocol error"],
  [EBADMSG]: ["EBADMSG", "bad message"],
  [EOVERFLOW]: ["EOVERFLOW", "value too large"],
  [ENOTSOCK]: ["ENOTSOCK", "not a socket"],
  [EMSGSIZE]: ["EMSGSIZE", "message too long"],
  [EPROTONOSUPPORT]: ["EPROTONOSUPPORT", "protocol not supported"],
  [EOPNOTSUPP]: ["EOPNOTSUPP", "operation not supported"],
  [EAFNOSUPPORT]: ["EAFNOSUPPORT", "address family not supported"],
  [EADDRINUSE]: ["EADDRINUSE", "address in use"],
  [ENOBUFS]: ["ENOBUFS", "no buffer space available: messages were lost"],
  [ETIMEDOUT]: ["ETIMEDOUT", "timed out"],
  [ECONNREFUSED]: ["ECONNREFUSED", "connection refused"],
  [EALREADY]: ["EALREADY", "operation already in progress"],
  [EINPROGRESS]: ["EINPROGRESS", "operation in progress"],
};

/** The errno's name, e.g. `"EPERM"`, or `"E<number>"` for one nfct does not know. */
export function errnoCode(errno: number): string {
  return ERRNO[errno]?.[0] ?? `E${errno}`;
}

/** A short description of the errno, e.g. `"operation not permitted"`. */
export function errnoText(errno: number): string {
  return ERRNO[errno]?.[1] ?? "unknown error";
}

/** What a user can do about an errno (from `syscall`, when known), when there is something. */
export function errnoHint(errno: number, syscall?: string): string {
  if (syscall === "setns") {
    if (errno === EPERM) {
      return "need CAP_SYS_ADMIN over the namespace and in this one: run as root";
    }
    if (errno === EINVAL) return "is it a network namespace (/run/netns/NAME, /proc/PID/ns/net)?";
    if (errno === EBADF) return "the namespace file descriptor is not open";
  }
  if (syscall === "open" || syscall === "readlink") return "";
  if (errno === EPERM || errno === EACCES) {
    return "need CAP_NET_ADMIN: run as root or inside `unshare -rn`";
  }
  if (errno === EPROTONOSUPPORT) {
    return "is the nf_conntrack_netlink module loaded? (modprobe nf_conntrack_netlink)";
  }
  return "";
}

/** libc failed: which call, with which errno. */
export class SyscallError extends Error {
  /** Always `"SyscallError"`. */
  override name = "SyscallError";
  /** The libc function that failed, e.g. `"socket"`. */
  readonly syscall: string;
  /** The numeric errno. */
  readonly errno: number;
  /** The errno's name, e.g. `"EPERM"`. */
  readonly code: string;

  /**
   * `syscall` failed with `errno`; `doing` says what nfct was doing, for the message:
   * `Cannot open socket: socket() failed: EPERM (operation not permitted); need CAP_NET_ADMIN…`.
   */
  constructor(syscall: string, errno: number, doing?: string, options?: ErrorOptions) {
    const code = errnoCode(errno);
    const hint = errnoHint(errno, syscall);
    super(
      `${doing ? doing + ": " : ""}${syscall}() failed: ${code} (${errnoText(errno)})${
        hint ? "; " + hint : ""
      }`,
      options,
    );
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
  }
}
