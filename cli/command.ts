/**
 * What `parseArgs()` returns: one conntrack(8) command line as a typed command.
 * @module
 */
import type { Family, StatusFlag } from "../mod.ts";
import type { OptName } from "./matrix.ts";
import type { L4Values } from "./proto/ext.ts";
import type { Address, EventMaskType, NatArg, OutputName } from "./values.ts";

/** The tables conntrack's commands work on (`-L dying`, `-D expect`, ...). */
export type Table = "conntrack" | "expect" | "dying" | "unconfirmed";

/** Everything a command line gave besides its command, parsed and checked. */
export interface Args {
  /** The main options given (by long name), for the checks that ask whether one was given. */
  readonly given: ReadonlySet<OptName>;
  /** `-f`, or the family of the addresses given. */
  family?: Family;
  /** `-p`: the IP protocol number. */
  proto?: number;
  /** The protocol options after `-p` (ports, state, ICMP type, ...). */
  l4: L4Values;
  /** `-s`: the original source (the master's with `-I expect`, the expectation's with -G/-D). */
  src?: Address;
  /** `-d`: the original destination. */
  dst?: Address;
  /** `-r`: the reply source. */
  replySrc?: Address;
  /** `-q`: the reply destination. */
  replyDst?: Address;
  /** `--mask-src`, or the mask a CIDR `-s`/`--tuple-src` implies (undefined then). */
  maskSrc?: Address;
  /** `--mask-dst`, or the mask a CIDR `-d`/`--tuple-dst` implies (undefined then). */
  maskDst?: Address;
  /** `--tuple-src`: the expectation's source (-I expect). */
  tupleSrc?: Address;
  /** `--tuple-dst`: the expectation's destination (-I expect). */
  tupleDst?: Address;
  /** `-e`: the event types asked for (undefined: all). */
  eventMask?: ReadonlySet<EventMaskType>;
  /** `-t`, seconds. */
  timeout?: number;
  /** `-u`: the flags to be set, and (`!FLAG`, `UNREPLIED`) those to be unset. */
  status: { readonly set: ReadonlySet<StatusFlag>; readonly unset: ReadonlySet<StatusFlag> };
  /** `-m value[/mask]`. */
  mark?: { value: number; mask: number };
  /** `-c`. */
  secmark?: number;
  /** `-i`. */
  id?: number;
  /** `-w`. */
  zone?: number;
  /** `--orig-zone`. */
  origZone?: number;
  /** `--reply-zone`. */
  replyZone?: number;
  /** `-o` types. */
  output: ReadonlySet<OutputName>;
  /** `-n`. */
  srcNat?: NatArg;
  /** `-g`. */
  dstNat?: NatArg;
  /** `-j`. */
  anyNat?: NatArg;
  /** `-l`: label bits an entry must all have. */
  labels: number[];
  /** `--label-add` / `--label-del`: label bits to add or remove. */
  labelModify: number[];
  /** `--label-del` without a value: remove every label. */
  labelDelAll: boolean;
  /** `-b`, bytes. */
  bufferSize?: number;
}

/** What every command carries: the warning lines conntrack prints while parsing. */
export interface Parsed {
  /** Lines (each ending in a newline) for standard error, before the command runs. */
  readonly warnings: readonly string[];
}

/** The commands of the conntrack table that also exist for the expect table. */
export type BothTables = "get" | "create" | "delete" | "flush" | "event" | "count" | "stats";

/**
 * One conntrack(8) command line: a discriminated union on `command`. `usage` is a command line
 * without a command or options (it prints what `help` prints); `load` is `-R FILE`
 * (`--load-file`).
 */
export type Command =
  | (Parsed & { command: "help" | "usage" | "version" })
  | (Parsed & { command: "load"; file: string })
  | (Parsed & Args & { command: "list"; table: Table })
  | (Parsed & Args & { command: BothTables; table: "conntrack" | "expect" })
  | (Parsed & Args & { command: "update" | "add"; table: "conntrack" });

/** A command that works on a table (every one but `help`, `version` and `load`). */
export type TableCommand = Extract<Command, { table: Table }>;
