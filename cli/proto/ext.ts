/**
 * What a protocol extension declares (conntrack-tools `extensions/libct_proto_*.c`): its long
 * options, the field each sets, how each value is parsed, and which commands take, need or
 * refuse it. The values land in one typed {@link L4Values}.
 * @module
 */
import {
  type DccpState,
  protocolNamed,
  type ProtoName,
  type SctpState,
  type TcpState,
} from "../../mod.ts";
import type { CommandName, Legality } from "../matrix.ts";
import { paramError } from "../errors.ts";
import { value } from "../values.ts";

/** The protocol options of a command line, by what they set. */
export interface L4Values {
  /** `--sport` (`--orig-port-src`; GRE: `--srckey`). */
  sport?: number;
  /** `--dport` (`--orig-port-dst`; GRE: `--dstkey`). */
  dport?: number;
  /** `--reply-port-src` (GRE: `--reply-key-src`). */
  replySport?: number;
  /** `--reply-port-dst` (GRE: `--reply-key-dst`). */
  replyDport?: number;
  /** `--tuple-port-src`: the expectation's source port (-I expect). */
  tupleSport?: number;
  /** `--tuple-port-dst`: the expectation's destination port (-I expect). */
  tupleDport?: number;
  /** `--mask-port-src`: the expectation's source port mask (-I expect). */
  maskSport?: number;
  /** `--mask-port-dst`: the expectation's destination port mask (-I expect). */
  maskDport?: number;
  /** TCP `--state`. */
  tcpState?: TcpState;
  /** SCTP `--state`. */
  sctpState?: SctpState;
  /** DCCP `--state`. */
  dccpState?: DccpState;
  /** SCTP `--orig-vtag`. */
  vtag?: number;
  /** SCTP `--reply-vtag`. */
  replyVtag?: number;
  /** DCCP `--role`: 0 client, 1 server. */
  role?: number;
  /** `--icmp-type` / `--icmpv6-type`. */
  icmpType?: number;
  /** `--icmp-code` / `--icmpv6-code`. */
  icmpCode?: number;
  /** `--icmp-id` / `--icmpv6-id`. */
  icmpId?: number;
}
/** A field of {@link L4Values}. */
export type L4Key = keyof L4Values;

/** The name conntrack's messages give each field's option (`You need to supply the `--sport' ...`). */
export const L4_LABEL: Readonly<Record<L4Key, string>> = {
  sport: "sport",
  dport: "dport",
  replySport: "reply-port-src",
  replyDport: "reply-port-dst",
  tupleSport: "tuple-port-src",
  tupleDport: "tuple-port-dst",
  maskSport: "mask-port-src",
  maskDport: "mask-port-dst",
  tcpState: "state",
  sctpState: "state",
  dccpState: "state",
  vtag: "orig-vtag",
  replyVtag: "reply-vtag",
  role: "role",
  icmpType: "icmp-type",
  icmpCode: "icmp-code",
  icmpId: "icmp-id",
};

/** Legality of an option per command, in `COMMANDS` order (`-L -I -U -D -G -F -E -V -h -C -S -A`). */
export type CommandRow = readonly Legality[];

/** One field a protocol sets: how its value is parsed and where it is legal. */
export interface KeyRule {
  /** With the conntrack table, per command. */
  readonly legal: CommandRow;
  /** With the expect table, per command; a command not named refuses it. */
  readonly exp?: Readonly<Partial<Record<CommandName, Legality>>>;
  /** Parses `value` (given as option `shown`) into its field of `l4`, or throws a `CliError`. */
  parse(l4: L4Values, value: string, shown: string): void;
}

/** A protocol's options (conntrack-tools `struct ctproto_handler`). */
export interface ProtoExt {
  /** `-p` name. */
  readonly name: string;
  /** IP protocol number. */
  readonly num: number;
  /** Long option name → the field it sets (several names may set one field). */
  readonly opts: Readonly<Record<string, L4Key>>;
  /** The rule of each field the options set. */
  readonly keys: Readonly<Partial<Record<L4Key, KeyRule>>>;
  /** The names messages give the fields where they differ from {@link L4_LABEL} (GRE, ICMPv6). */
  readonly labels?: Readonly<Partial<Record<L4Key, string>>>;
  /** Pairs that -I/-G need one of (legality 3), with the message when none is complete. */
  readonly coupled?: readonly (readonly [readonly L4Key[], string])[];
}

//                                  L  I  U  D  G  F  E  V  h  C  S  A
/** A port: filter of -L/-U/-D/-E, pairs for -I/-G/-A. */
export const P_PORT: CommandRow = [2, 3, 2, 2, 3, 0, 2, 0, 0, 0, 0, 3];
/** A state: filter, and needed to create. */
export const P_STATE: CommandRow = [2, 1, 2, 2, 2, 0, 2, 0, 0, 0, 0, 1];
/** A value only set on an entry (-I, -U, -A). */
export const P_SET: CommandRow = [0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 2];
/** ICMP type and code: needed to create and get. */
export const P_ICMP_TC: CommandRow = [2, 1, 2, 2, 1, 0, 2, 0, 0, 0, 0, 1];
/** ICMP id: optional everywhere it applies. */
export const P_ICMP_ID: CommandRow = [2, 2, 2, 2, 2, 0, 2, 0, 0, 0, 0, 2];
/** Only with the expect table. */
export const P_NEVER: CommandRow = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/** Keys whose values are numbers. */
export type NumericKey = Exclude<L4Key, "tcpState" | "sctpState" | "dccpState">;

/** The parser of a numeric field: `strtoul` up to `max`, else exit 1 "unexpected value". */
export function numeric(key: NumericKey, max: number): KeyRule["parse"] {
  return (l4, v, shown) => {
    l4[key] = value(v, max, shown);
  };
}

/**
 * The parser of a `--state` option: one of `states` (or an alias of one) handed to `set`, else
 * exit 2 with `unknown` and the value (conntrack spells it `unknown TCP state`, `Unknown DCCP
 * state`).
 */
export function stateParser<S extends string>(
  unknown: string,
  states: readonly S[],
  set: (l4: L4Values, state: S) => void,
  aliases: Readonly<Record<string, S>> = {},
): KeyRule["parse"] {
  return (l4, v) => {
    const state = Object.hasOwn(aliases, v) ? aliases[v] : states.find((s) => s === v);
    if (state === undefined) throw paramError(`${unknown} \`${v}'`);
    set(l4, state);
  };
}

/** The `-p` name and the number of protocol `name`, from the library's protocol table. */
export function fromTable(name: ProtoName): { name: ProtoName; num: number } {
  const p = protocolNamed(name);
  // Cannot happen: ProtoName is the table's own list of names.
  if (!p) throw new RangeError(`${name} is not in the protocol table`);
  return { name, num: p.number };
}
