/**
 * How `nfct timeout|helper` fail: nfct(8) prints its message and exits 1. The subcommands
 * throw {@link Fail} after printing, through the two reporters main hands them.
 * @module
 */

/** Thrown once the message is printed: main exits 1. */
export class Fail extends Error {
  /** A failure already reported on stderr. */
  constructor() {
    super("nfct failed");
    this.name = "Fail";
  }
}

/** Prints `nfct vX: MSG` and throws {@link Fail}. */
export type Perror = (msg: string) => never;
/**
 * Prints a kernel or system call error as `nfct vX: netlink error: STRERROR` and throws
 * {@link Fail}; a `TypeError`/`RangeError` (the library refused a value) goes to {@link Perror};
 * anything else is rethrown.
 */
export type Netlink = (e: unknown) => never;

/** What a subcommand gets: its words, the reporters, and the output it appends to. */
export interface Subcommand {
  /** `["nfct", ...argv]`, as nfct(8)'s argv. */
  a: string[];
  /** Prints a message and fails. */
  perror: Perror;
  /** Prints a kernel error and fails. */
  netlink: Netlink;
  /** Standard output, written once the subcommand returns (or fails). */
  out: string[];
  /** nfct's version, for messages printed directly. */
  version: string;
}

/** nfct(8)'s layer-3 protocol argument: `inet` or `inet6`. */
export function family(arg: string, perror: Perror): "ipv4" | "ipv6" {
  if (arg === "inet") return "ipv4";
  if (arg === "inet6") return "ipv6";
  return perror("unknown layer 3 protocol");
}
