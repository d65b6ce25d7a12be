/**
 * Timeout policies (`nfnetlink_cttimeout`, what conntrack-tools' `nfct timeout` manages): named
 * sets of per-state timeouts that a rule attaches to the flows it matches (`iptables -t raw -j CT
 * --timeout NAME`, or the same rule made by iptables-nft), and the per-namespace default
 * timeouts of each protocol tracker (`nfct default-set|default-get timeout`).
 *
 * ```
 * nfgenmsg (family AF_UNSPEC, version 0), then:
 *   CTA_TIMEOUT_NAME     string, at most CTNL_TIMEOUT_NAME_MAX - 1 bytes plus NUL
 *   CTA_TIMEOUT_L3PROTO  __be16 (AF_INET, AF_INET6)
 *   CTA_TIMEOUT_L4PROTO  u8 (IPPROTO_*, 255 for the generic tracker)
 *   CTA_TIMEOUT_DATA     nested: one __be32 per state, seconds, numbered as TIMEOUT_STATES
 *   CTA_TIMEOUT_USE      __be32 (replies only): how many rules and flows hold the policy
 * ```
 * Linux 3.4+ (policies), 3.13+ (defaults); `CONFIG_NF_CT_NETLINK_TIMEOUT`.
 * @module
 */
import { AttributeReader, MessageBuilder } from "../netlink/attribute.ts";
import { NetlinkError } from "../netlink/errors.ts";
import {
  NETLINK_NETFILTER,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLMSG_HDRLEN,
} from "../netlink/message.ts";
import type { Netns } from "../netlink/netns.ts";
import {
  NetlinkSocket,
  type TransportFactory,
} from "../netlink/socket.ts";
import type { Family } from "./address.ts";
import * as C from "./constants.ts";
import { nfnlRequest } from "./nfnl.ts";
import type { RawAttribute } from "./flow.ts";

// linux/netfilter/nfnetlink.h
/** The cttimeout subsystem's number in the nfnetlink message type's high byte. */
export const NFNL_SUBSYS_CTNETLINK_TIMEOUT = 8;

// linux/netfilter/nfnetlink_cttimeout.h: enum ctnl_timeout_msg_types
export const IPCTNL_MSG_TIMEOUT_NEW = 0;
export const IPCTNL_MSG_TIMEOUT_GET = 1;
export const IPCTNL_MSG_TIMEOUT_DELETE = 2;
export const IPCTNL_MSG_TIMEOUT_DEFAULT_SET = 3;
export const IPCTNL_MSG_TIMEOUT_DEFAULT_GET = 4;

// enum ctattr_timeout
export const CTA_TIMEOUT_NAME = 1;
export const CTA_TIMEOUT_L3PROTO = 2;
export const CTA_TIMEOUT_L4PROTO = 3;
export const CTA_TIMEOUT_DATA = 4;
export const CTA_TIMEOUT_USE = 5;

/** Size of the kernel's name buffer, NUL included: names are at most 31 bytes. */
export const CTNL_TIMEOUT_NAME_MAX = 32;
/** The protocol number nfct(8) and the kernel use for the generic tracker (`IPPROTO_RAW`). */
export const IPPROTO_RAW = 255;

/**
 * Largest timeout accepted, in seconds. The kernel multiplies each value by `HZ` into an
 * `unsigned int` of jiffies without checking; with `HZ` up to 1000 anything above this wraps
 * to a short timeout.
 */
export const TIMEOUT_MAX_SECONDS: number = Math.floor(0xffffffff / 1000);

/**
 * The states of each tracker's policy, in kernel order: the state at index `i` travels as
 * attribute `i + 1` of `CTA_TIMEOUT_DATA` (`enum ctattr_timeout_tcp`, `_udp`, ... in
 * linux/netfilter/nfnetlink_cttimeout.h). Each entry is `[key, KERNEL_NAME]`; nfct(8) takes the
 * kernel name in any case on its command line.
 */
export const TIMEOUT_STATES = {
  // CTA_TIMEOUT_TCP_*
  tcp: [
    ["synSent", "SYN_SENT"],
    ["synRecv", "SYN_RECV"],
    ["established", "ESTABLISHED"],
    ["finWait", "FIN_WAIT"],
    ["closeWait", "CLOSE_WAIT"],
    ["lastAck", "LAST_ACK"],
    ["timeWait", "TIME_WAIT"],
    ["close", "CLOSE"],
    ["synSent2", "SYN_SENT2"],
    ["retrans", "RETRANS"],
    ["unacknowledged", "UNACKNOWLEDGED"],
  ],
  // CTA_TIMEOUT_UDP_*
  udp: [["unreplied", "UNREPLIED"], ["replied", "REPLIED"]],
  // CTA_TIMEOUT_UDPLITE_*
  udplite: [["unreplied", "UNREPLIED"], ["replied", "REPLIED"]],
  // CTA_TIMEOUT_ICMP_TIMEOUT
  icmp: [["timeout", "TIMEOUT"]],
  // CTA_TIMEOUT_ICMPV6_TIMEOUT
  icmpv6: [["timeout", "TIMEOUT"]],
  // CTA_TIMEOUT_SCTP_* (HEARTBEAT_ACKED is no longer used by the tracker since Linux 6.2)
  sctp: [
    ["closed", "CLOSED"],
    ["cookieWait", "COOKIE_WAIT"],
    ["cookieEchoed", "COOKIE_ECHOED"],
    ["established", "ESTABLISHED"],
    ["shutdownSent", "SHUTDOWN_SENT"],
    ["shutdownRecd", "SHUTDOWN_RECD"],
    ["shutdownAckSent", "SHUTDOWN_ACK_SENT"],
    ["heartbeatSent", "HEARTBEAT_SENT"],
    ["heartbeatAcked", "HEARTBEAT_ACKED"],
  ],
  // CTA_TIMEOUT_DCCP_* (the DCCP tracker was removed in Linux 6.16: EOPNOTSUPP there)
  dccp: [
    ["request", "REQUEST"],
    ["respond", "RESPOND"],
    ["partopen", "PARTOPEN"],
    ["open", "OPEN"],
    ["closereq", "CLOSEREQ"],
    ["closing", "CLOSING"],
    ["timewait", "TIMEWAIT"],
  ],
  // CTA_TIMEOUT_GRE_*
  gre: [["unreplied", "UNREPLIED"], ["replied", "REPLIED"]],
  // CTA_TIMEOUT_GENERIC_TIMEOUT: the generic tracker, and any protocol without a tracker
  generic: [["timeout", "TIMEOUT"]],
} as const;

/** A protocol with a timeout policy of its own; `generic` is the generic tracker (255). */
export type TimeoutProto = keyof typeof TIMEOUT_STATES;
type StateKey<P extends TimeoutProto> = (typeof TIMEOUT_STATES)[P][number][0];
/** The per-state timeouts of protocol `P`, in seconds; a state left out keeps the kernel's default. */
export type StateTimeouts<P extends TimeoutProto> = { [K in StateKey<P>]?: number };

export type TcpTimeouts = StateTimeouts<"tcp">;
export type UdpTimeouts = StateTimeouts<"udp">;
export type SctpTimeouts = StateTimeouts<"sctp">;
export type DccpTimeouts = StateTimeouts<"dccp">;
export type GenericTimeouts = StateTimeouts<"generic">;

/** The protocol number each {@link TimeoutProto} travels as (`CTA_TIMEOUT_L4PROTO`). */
export const TIMEOUT_PROTO_NUMBERS: Readonly<Record<TimeoutProto, number>> = {
  tcp: C.IPPROTO_TCP,
  udp: C.IPPROTO_UDP,
  udplite: C.IPPROTO_UDPLITE,
  icmp: C.IPPROTO_ICMP,
  icmpv6: C.IPPROTO_ICMPV6,
  sctp: C.IPPROTO_SCTP,
  dccp: C.IPPROTO_DCCP,
  gre: C.IPPROTO_GRE,
  generic: IPPROTO_RAW,
};

const PROTO_BY_NUMBER = new Map<number, TimeoutProto>(
  Object.entries(TIMEOUT_PROTO_NUMBERS).map(([k, v]) => [v, k as TimeoutProto]),
);

/** A policy (or a tracker's defaults) for one protocol, typed by it. */
export type ProtoTimeouts = {
  [P in TimeoutProto]: {
    /** The tracker: `"tcp"`, …, `"generic"` (nfct's `generic`, protocol 255). */
    proto: P;
    /** Per-state timeouts in seconds (nfct's `STATE SECONDS` pairs). */
    timeouts: StateTimeouts<P>;
  };
}[TimeoutProto];

/** A named timeout policy (`nfct add timeout NAME FAMILY PROTO STATE SECONDS ...`). */
export type TimeoutPolicy = ProtoTimeouts & {
  /** The policy's name, at most 31 bytes (`CTNL_TIMEOUT_NAME_MAX` - 1), what rules refer to. */
  name: string;
  /** Layer 3 (nfct's `inet` / `inet6`): a rule for the other family cannot use the policy. */
  family: Family;
  /**
   * Reference count the kernel reports (`CTA_TIMEOUT_USE`, replies only): 1 for the policy
   * itself plus one per rule and flow holding it; a held policy cannot be deleted (`EBUSY`).
   */
  use?: number;
  /** Attributes this library does not know, kept as they came (replies only). */
  unknown?: RawAttribute[];
  /**
   * Timeouts of states a newer kernel reports that this library has no name for, by their
   * `CTA_TIMEOUT_DATA` attribute number (replies only).
   */
  otherStates?: Record<number, number>;
};

/** A tracker's default timeouts in one namespace (`nfct default-get timeout FAMILY PROTO`). */
export type DefaultTimeouts = ProtoTimeouts & {
  family: Family;
  unknown?: RawAttribute[];
  otherStates?: Record<number, number>;
};

/** Options of {@link Timeouts.open}. */
export interface TimeoutsOpenOptions {
  /** Network namespace whose policies to manage (see {@link Netns}); default: the caller's. */
  netns?: Netns;
  /** Replaces the kernel socket (tests use a scripted transport). */
  transport?: TransportFactory;
}

/** Options of {@link Timeouts.add}. */
export interface AddTimeoutOptions {
  /**
   * Change the timeouts of an existing policy of the same name, family and protocol in place
   * (`NLM_F_REPLACE`; flows holding it see the new values). Without it an existing name fails
   * with `EBUSY`, as `nfct add timeout` does.
   */
  replace?: boolean;
  /** Fail with `EEXIST` if the name exists (`NLM_F_EXCL`), even with `replace`. */
  exclusive?: boolean;
}

const KNOWN_POLICY_KEYS = new Set([
  "name",
  "family",
  "proto",
  "timeouts",
  "use",
  "unknown",
  "otherStates",
]);
const KNOWN_DEFAULT_KEYS = new Set(["family", "proto", "timeouts", "unknown", "otherStates"]);
const utf8 = new TextEncoder();

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}

function checkFamily(v: unknown, what: string): number {
  if (v === "ipv4") return C.AF_INET;
  if (v === "ipv6") return C.AF_INET6;
  throw new TypeError(`Invalid ${what} family: expected "ipv4" or "ipv6", got ${kind(v)}`);
}

function checkProto(v: unknown, what: string): TimeoutProto {
  if (typeof v === "string" && Object.hasOwn(TIMEOUT_STATES, v)) return v as TimeoutProto;
  throw new TypeError(
    `Invalid ${what} proto: expected one of ${Object.keys(TIMEOUT_STATES).join(", ")}, got ${
      kind(v)
    }`,
  );
}

/** Checks a policy name: a string of 1..31 bytes without NUL (`CTNL_TIMEOUT_NAME_MAX`). */
export function checkTimeoutName(v: unknown, what = "timeout policy name"): string {
  if (typeof v !== "string") {
    throw new TypeError(`Invalid ${what}: expected a string, got ${kind(v)}`);
  }
  if (v.includes("\0")) throw new RangeError(`Invalid ${what}: it holds a NUL byte`);
  const n = utf8.encode(v).length;
  if (n === 0) throw new RangeError(`Invalid ${what}: it is empty`);
  if (n > CTNL_TIMEOUT_NAME_MAX - 1) {
    throw new RangeError(
      `Invalid ${what}: ${n} bytes, at most ${
        CTNL_TIMEOUT_NAME_MAX - 1
      } allowed (CTNL_TIMEOUT_NAME_MAX)`,
    );
  }
  return v;
}

/** Checks the per-state timeouts of `proto`; returns `[attribute, seconds]` pairs in kernel order. */
function checkTimeouts(
  proto: TimeoutProto,
  v: unknown,
  what: string,
  needOne: boolean,
): [number, number][] {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new TypeError(
      `Invalid ${what} timeouts: expected an object of state: seconds, got ${kind(v)}`,
    );
  }
  const states = TIMEOUT_STATES[proto] as readonly (readonly [string, string])[];
  const keys = new Set(states.map((s) => s[0]));
  for (const k of Object.keys(v)) {
    if (!keys.has(k)) {
      throw new TypeError(
        `Invalid ${what} timeouts: ${proto} has no state "${k}" (states: ${[...keys].join(", ")})`,
      );
    }
  }
  const out: [number, number][] = [];
  states.forEach(([k], i) => {
    const s = (v as Record<string, unknown>)[k];
    if (s === undefined) return;
    if (typeof s !== "number" || !Number.isInteger(s)) {
      throw new TypeError(
        `Invalid ${what} timeouts: ${k} must be an integer number of seconds, got ${kind(s)}`,
      );
    }
    if (s < 0 || s > TIMEOUT_MAX_SECONDS) {
      throw new RangeError(
        `Invalid ${what} timeouts: ${k} is ${s}, allowed 0..${TIMEOUT_MAX_SECONDS} seconds`,
      );
    }
    out.push([i + 1, s]);
  });
  if (needOne && out.length === 0) {
    throw new TypeError(
      `Invalid ${what} timeouts: give at least one state (the kernel refuses a policy without CTA_TIMEOUT_DATA)`,
    );
  }
  return out;
}

function checkKeys(v: object, known: Set<string>, what: string): void {
  for (const k of Object.keys(v)) {
    if (!known.has(k)) throw new TypeError(`Invalid ${what}: unknown field "${k}"`);
  }
}

function checkObject(v: unknown, what: string): void {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new TypeError(`Invalid ${what}: expected an object, got ${kind(v)}`);
  }
}

/**
 * Checks a policy as {@link Timeouts.add} would send it: known fields only, a valid name,
 * family and protocol, integer timeouts 0..{@link TIMEOUT_MAX_SECONDS} for states the protocol
 * has, at least one of them. Throws `TypeError` (wrong shape) or `RangeError` (out of range).
 */
export function validateTimeoutPolicy(value: unknown): TimeoutPolicy {
  checkObject(value, "timeout policy");
  const policy = value as Record<string, unknown>;
  checkKeys(policy, KNOWN_POLICY_KEYS, "timeout policy");
  checkTimeoutName(policy.name);
  checkFamily(policy.family, "timeout policy");
  const proto = checkProto(policy.proto, "timeout policy");
  checkTimeouts(proto, policy.timeouts, "timeout policy", true);
  return policy as unknown as TimeoutPolicy;
}

/** Writes a policy's attributes (name first when given). The policy must be valid. */
export function encodeTimeoutPolicy(
  b: MessageBuilder,
  p: { name?: string; family: Family; proto: TimeoutProto; timeouts?: object },
): void {
  if (p.name !== undefined) b.string(CTA_TIMEOUT_NAME, p.name);
  b.u16(CTA_TIMEOUT_L3PROTO, checkFamily(p.family, "timeout policy"));
  b.u8(CTA_TIMEOUT_L4PROTO, TIMEOUT_PROTO_NUMBERS[p.proto]);
  if (p.timeouts !== undefined) {
    const pairs = checkTimeouts(p.proto, p.timeouts, "timeout policy", false);
    if (pairs.length > 0) {
      const n = b.nest(CTA_TIMEOUT_DATA);
      for (const [attr, s] of pairs) b.u32(attr, s);
      b.endNest(n);
    }
  }
}

/**
 * Decodes one cttimeout message (a policy, or a tracker's defaults: then without `name`).
 * A protocol without a tracker of its own is reported as `"generic"` with its number in
 * `l4proto`; timeouts of states this library does not know land in `unknown`.
 */
export function decodeTimeoutPolicy(
  dv: DataView,
  offset: number,
  length: number,
): TimeoutPolicy & { l4proto: number } {
  if (length < NLMSG_HDRLEN + 4) {
    throw new RangeError(`Cannot read timeout policy: ${length} bytes is too short`);
  }
  const r = new AttributeReader().reset(
    dv,
    offset + NLMSG_HDRLEN + 4,
    offset + length,
    "timeout policy",
  );
  let name = "";
  let l3 = 0;
  let l4 = -1;
  let use: number | undefined;
  const unknown: RawAttribute[] = [];
  let dataPos = -1;
  let dataLen = 0;
  let otherStates: Record<number, number> | undefined;
  while (r.next()) {
    switch (r.type) {
      case CTA_TIMEOUT_NAME:
        name = r.string();
        break;
      case CTA_TIMEOUT_L3PROTO:
        l3 = r.u16();
        break;
      case CTA_TIMEOUT_L4PROTO:
        l4 = r.u8();
        break;
      case CTA_TIMEOUT_DATA:
        dataPos = r.pos;
        dataLen = r.len;
        break;
      case CTA_TIMEOUT_USE:
        use = r.u32();
        break;
      default:
        unknown.push({ type: r.type, data: r.bytes() });
    }
  }
  if (l4 < 0) throw new RangeError("Cannot read timeout policy: no CTA_TIMEOUT_L4PROTO");
  const proto = PROTO_BY_NUMBER.get(l4) ?? "generic";
  const family: Family = l3 === C.AF_INET6 ? "ipv6" : "ipv4";
  const states = TIMEOUT_STATES[proto] as readonly (readonly [string, string])[];
  const timeouts: Record<string, number> = {};
  if (dataPos >= 0) {
    const d = new AttributeReader().reset(dv, dataPos, dataPos + dataLen, "timeout policy data");
    while (d.next()) {
      const st = states[d.type - 1];
      if (st) timeouts[st[0]] = d.u32();
      else if (d.len === 4) (otherStates ??= {})[d.type] = d.u32();
    }
  }
  const out = { name, family, proto, timeouts, l4proto: l4 } as TimeoutPolicy & { l4proto: number };
  if (use !== undefined) out.use = use;
  if (unknown.length) out.unknown = unknown;
  if (otherStates) out.otherStates = otherStates;
  return out;
}

const msgType = (m: number) => (NFNL_SUBSYS_CTNETLINK_TIMEOUT << 8) | m;

/**
 * A client for timeout policies on one netlink socket: `nfct timeout` as a library.
 *
 * @example Shorten established TCP flows matched by a rule to 100 s
 * ```ts
 * import { Timeouts } from "./mod.ts";
 * using t = Timeouts.open();
 * t.add({ name: "short-tcp", family: "ipv4", proto: "tcp", timeouts: { established: 100, close: 10 } });
 * // iptables -t raw -A PREROUTING -p tcp -j CT --timeout short-tcp
 * console.log(t.get("short-tcp")?.timeouts.established); // 100
 * ```
 */
export class Timeouts {
  #sock: NetlinkSocket;
  #b = new MessageBuilder(4096);

  /** Use {@link Timeouts.open}. */
  constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /** Opens a netfilter netlink socket in the caller's namespace, or `options.netns`. */
  static open(options: TimeoutsOpenOptions = {}): Timeouts {
    checkObject(options, "Timeouts.open options");
    checkKeys(options, new Set(["netns", "transport"]), "Timeouts.open options");
    if (options.transport) {
      if (options.netns !== undefined) {
        throw new TypeError("Cannot open: the netns and transport options exclude each other");
      }
      return new Timeouts(new NetlinkSocket(options.transport));
    }
    return new Timeouts(NetlinkSocket.open(NETLINK_NETFILTER, { netns: options.netns }));
  }

  #request(
    msg: number,
    flags: number,
    op: string,
    body: (b: MessageBuilder) => void,
  ): TimeoutPolicy[] {
    return nfnlRequest(this.#sock, this.#b, msgType(msg), flags, op, body, (dv, off, len) => {
      const p = decodeTimeoutPolicy(dv, off, len);
      delete (p as { l4proto?: number }).l4proto;
      return p;
    });
  }

  /**
   * Creates a policy (`nfct add timeout NAME FAMILY PROTO STATE SECONDS ...`). States left out
   * take the tracker's current defaults. Throws {@link NetlinkError} `EBUSY` if the name
   * exists (unless `options.replace`), `EINVAL` when replacing one of another protocol.
   */
  add(policy: TimeoutPolicy, options: AddTimeoutOptions = {}): void {
    validateTimeoutPolicy(policy);
    checkObject(options, "add options");
    checkKeys(options, new Set(["replace", "exclusive"]), "add options");
    const flags = NLM_F_ACK | NLM_F_CREATE | (options.replace ? NLM_F_REPLACE : 0) |
      (options.exclusive ? NLM_F_EXCL : 0);
    this.#request(
      IPCTNL_MSG_TIMEOUT_NEW,
      flags,
      `Cannot add timeout policy ${policy.name}`,
      (b) => encodeTimeoutPolicy(b, policy),
    );
  }

  /** Every policy of the namespace (`nfct list timeout`), each with all its states. */
  list(): TimeoutPolicy[] {
    return this.#request(
      IPCTNL_MSG_TIMEOUT_GET,
      NLM_F_DUMP,
      "Cannot list timeout policies",
      () => {},
    );
  }

  /** One policy by name (`nfct get timeout NAME`); `undefined` when there is none. */
  get(name: string): TimeoutPolicy | undefined {
    checkTimeoutName(name);
    try {
      return this.#request(
        IPCTNL_MSG_TIMEOUT_GET,
        NLM_F_ACK,
        `Cannot get timeout policy ${name}`,
        (b) => b.string(CTA_TIMEOUT_NAME, name),
      )[0];
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === 2) return undefined;
      throw e;
    }
  }

  /**
   * Deletes a policy (`nfct delete timeout NAME`). Throws {@link NetlinkError} `ENOENT` if there
   * is none, `EBUSY` while a rule or a flow holds it.
   */
  delete(name: string): void {
    checkTimeoutName(name);
    this.#request(
      IPCTNL_MSG_TIMEOUT_DELETE,
      NLM_F_ACK,
      `Cannot delete timeout policy ${name}`,
      (b) => b.string(CTA_TIMEOUT_NAME, name),
    );
  }

  /**
   * Deletes every policy no rule or flow holds (`nfct flush timeout`); held ones stay, without
   * an error (the kernel skips them).
   */
  flush(): void {
    this.#request(IPCTNL_MSG_TIMEOUT_DELETE, NLM_F_ACK, "Cannot flush timeout policies", () => {});
  }

  /**
   * A tracker's default timeouts in this namespace (`nfct default-get timeout FAMILY PROTO`,
   * Linux 3.13+): what `net.netfilter.nf_conntrack_*_timeout*` hold, every state.
   */
  defaultGet(family: Family, proto: TimeoutProto): DefaultTimeouts {
    checkFamily(family, "default timeouts");
    checkProto(proto, "default timeouts");
    const r = this.#request(
      IPCTNL_MSG_TIMEOUT_DEFAULT_GET,
      NLM_F_ACK,
      `Cannot get default ${proto} timeouts`,
      (b) => {
        encodeTimeoutPolicy(b, { family, proto });
      },
    )[0];
    if (!r) throw new RangeError(`Cannot get default ${proto} timeouts: the kernel sent no reply`);
    const { name: _n, use: _u, ...d } = r;
    return d as DefaultTimeouts;
  }

  /**
   * Sets some of a tracker's default timeouts in this namespace (`nfct default-set timeout
   * FAMILY PROTO STATE SECONDS ...`): new flows of every rule without a policy use them, as
   * after writing the matching `nf_conntrack_*_timeout*` sysctls.
   */
  defaultSet(defaults: DefaultTimeouts): void {
    checkObject(defaults, "default timeouts");
    checkKeys(defaults, KNOWN_DEFAULT_KEYS, "default timeouts");
    checkFamily(defaults.family, "default timeouts");
    const proto = checkProto(defaults.proto, "default timeouts");
    checkTimeouts(proto, defaults.timeouts, "default timeouts", true);
    this.#request(
      IPCTNL_MSG_TIMEOUT_DEFAULT_SET,
      NLM_F_ACK,
      `Cannot set default ${proto} timeouts`,
      (b) => encodeTimeoutPolicy(b, defaults),
    );
  }

  /** Closes the socket; idempotent. */
  close(): void {
    this.#sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
