/**
 * Linux errno numbers, their names and short descriptions, and {@link SyscallError}.
 * @module
 */

/** errno value → [name, description] (Linux, all architectures nfct runs on). */
const ERRNO: Record<number, readonly [string, string]> = {
  1: ["EPERM", "operation not permitted"],
  2: ["ENOENT", "no such entry"],
  3: ["ESRCH", "no such process"],
  4: ["EINTR", "interrupted system call"],
  5: ["EIO", "input/output error"],
  6: ["ENXIO", "no such device or address"],
  7: ["E2BIG", "argument list too long"],
  9: ["EBADF", "bad file descriptor"],
  11: ["EAGAIN", "resource temporarily unavailable"],
  12: ["ENOMEM", "out of memory"],
  13: ["EACCES", "permission denied"],
  14: ["EFAULT", "bad address"],
  16: ["EBUSY", "device or resource busy"],
  17: ["EEXIST", "entry exists"],
  19: ["ENODEV", "no such device"],
  22: ["EINVAL", "invalid argument"],
  23: ["ENFILE", "too many open files in system"],
  24: ["EMFILE", "too many open files"],
  28: ["ENOSPC", "no space left"],
  34: ["ERANGE", "result out of range"],
  38: ["ENOSYS", "function not implemented"],
  61: ["ENODATA", "no data available"],
  71: ["EPROTO", "protocol error"],
  74: ["EBADMSG", "bad message"],
  75: ["EOVERFLOW", "value too large"],
  88: ["ENOTSOCK", "not a socket"],
  90: ["EMSGSIZE", "message too long"],
  93: ["EPROTONOSUPPORT", "protocol not supported"],
  95: ["EOPNOTSUPP", "operation not supported"],
  97: ["EAFNOSUPPORT", "address family not supported"],
  98: ["EADDRINUSE", "address in use"],
  105: ["ENOBUFS", "no buffer space available: messages were lost"],
  110: ["ETIMEDOUT", "timed out"],
  111: ["ECONNREFUSED", "connection refused"],
  114: ["EALREADY", "operation already in progress"],
  115: ["EINPROGRESS", "operation in progress"],
};

/** Names some errno values by their code and meaning. */
export const ERRNO_CODES = Object.freeze(
  Object.fromEntries(Object.entries(ERRNO).map(([n, [code]]) => [code, Number(n)])),
) as Readonly<Record<string, number>>;

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
    if (errno === 1) return "need CAP_SYS_ADMIN over the namespace and in this one: run as root";
    if (errno === 22) return "is it a network namespace (/run/netns/NAME, /proc/PID/ns/net)?";
    if (errno === 9) return "the namespace file descriptor is not open";
  }
  if (syscall === "open" || syscall === "readlink") return "";
  if (errno === 1 || errno === 13) return "need CAP_NET_ADMIN: run as root or inside `unshare -rn`";
  if (errno === 93) return "is the nf_conntrack_netlink module loaded? (modprobe nf_conntrack_netlink)";
  return "";
}

/** libc failed: which call, with which errno. */
export class SyscallError extends Error {
  override name = "SyscallError";
  /** The libc function that failed, e.g. `"socket"`. */
  readonly syscall: string;
  /** The numeric errno. */
  readonly errno: number;
  /** The errno's name, e.g. `"EPERM"`. */
  readonly code: string;

  constructor(syscall: string, errno: number, doing?: string, options?: ErrorOptions) {
    const code = errnoCode(errno);
    const hint = errnoHint(errno, syscall);
    super(
      `${doing ? doing + ": " : ""}${syscall}() failed: ${code} (${errnoText(errno)})${hint ? "; " + hint : ""}`,
      options,
    );
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
  }
}
