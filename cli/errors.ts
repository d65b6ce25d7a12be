/**
 * How the command line fails: {@link CliError} carries conntrack's exit code and message, and the
 * texts conntrack-tools prints for kernel errors (`err2str()`, `strerror()`).
 * @module
 */
import { NetlinkError, SyscallError } from "../mod.ts";
import type { CommandName } from "./matrix.ts";

/** conntrack's `OTHER_PROBLEM`: exit 1 (also -D/-U/-G that affected nothing). */
export const OTHER_PROBLEM = 1;
/** conntrack's `PARAMETER_PROBLEM`: exit 2, and a hint to try `-h` after the message. */
export const PARAMETER_PROBLEM = 2;

/**
 * A reason to stop: the exit code and the message conntrack prints after its prefix.
 * `warnings` are the lines (each ending in a newline) the parser would have printed on standard
 * error before it stopped (conntrack prints them as it parses).
 */
export class CliError extends Error {
  /** The process exit code: {@link OTHER_PROBLEM} or {@link PARAMETER_PROBLEM}. */
  readonly code: typeof OTHER_PROBLEM | typeof PARAMETER_PROBLEM;
  /** Warnings printed before the error. */
  warnings: string[] = [];

  /** An error with exit `code` and `message` (without the program prefix). */
  constructor(code: typeof OTHER_PROBLEM | typeof PARAMETER_PROBLEM, message: string) {
    super(message);
    this.name = "CliError";
    this.code = code;
  }
}

/** A bad or conflicting parameter: exit 2. */
export function paramError(message: string): CliError {
  return new CliError(PARAMETER_PROBLEM, message);
}

/** Anything else that stops the command: exit 1. */
export function otherError(message: string): CliError {
  return new CliError(OTHER_PROBLEM, message);
}

/** glibc's `strerror()` texts, by errno name. */
export const STRERROR: Readonly<Record<string, string>> = {
  EPERM: "Operation not permitted",
  ENOENT: "No such file or directory",
  EINTR: "Interrupted system call",
  EIO: "Input/output error",
  E2BIG: "Argument list too long",
  EAGAIN: "Resource temporarily unavailable",
  ENOMEM: "Cannot allocate memory",
  EACCES: "Permission denied",
  EBUSY: "Device or resource busy",
  EEXIST: "File exists",
  EINVAL: "Invalid argument",
  ENOSPC: "No space left on device",
  ERANGE: "Numerical result out of range",
  ETIME: "Timer expired",
  EPROTONOSUPPORT: "Protocol not supported",
  EOPNOTSUPP: "Operation not supported",
  EAFNOSUPPORT: "Address family not supported by protocol",
  ENOBUFS: "No buffer space available",
  ENOTSUPP: "function not implemented",
};

/**
 * conntrack.c `err2str()`: its own texts for some (command, errno) pairs, else `strerror()`.
 * `command` undefined: no command (opening the socket).
 */
export function err2str(code: string, command?: CommandName, expect = false): string {
  const c = command === "add" ? "create" : command;
  if (code === "EINVAL") return "invalid parameters";
  const eperm = "sorry, you must be root or get CAP_NET_ADMIN capability to do this";
  if (expect) {
    if (code === "ENOENT" && c === "create") return "master conntrack not found";
    if (code === "EPERM") return eperm;
    return STRERROR[code] ?? code;
  }
  if (code === "EEXIST" && c === "create") return "Such conntrack exists, try -U to update";
  if (code === "ENOENT" && (c === "create" || c === "get" || c === "delete")) {
    return "such conntrack doesn't exist";
  }
  if (code === "ENOMEM" && (c === "create" || c === "get")) return "not enough memory";
  if (code === "EAFNOSUPPORT" && c === "get") return "protocol not supported";
  if (code === "ETIME" && c === "create") return "conntrack has expired";
  if (code === "EPERM") return eperm;
  return STRERROR[code] ?? code;
}

/**
 * `e` as the {@link CliError} conntrack would stop with after `command` failed: kernel and
 * system call errors become "Operation failed: ..." (exit 1), as do the library's refusals
 * (`TypeError`, `RangeError`). Anything else is a bug and is rethrown.
 */
export function failed(e: unknown, command?: CommandName, expect = false): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof NetlinkError || e instanceof SyscallError) {
    const msg = `Operation failed: ${err2str(e.code, command, expect)}`;
    return otherError(
      e instanceof NetlinkError && e.kernelMessage ? `${msg} (kernel: ${e.kernelMessage})` : msg,
    );
  }
  if (e instanceof TypeError || e instanceof RangeError) {
    return otherError(`Operation failed: ${e.message}`);
  }
  throw e;
}
