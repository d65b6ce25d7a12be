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
 * This file holds the kernel's numbers and the types; the codec is in timeout_codec.ts, the
 * `Timeouts` client in timeout_client.ts.
 * @module
 */
import type { Family } from "./address.ts";
import type { RawAttribute } from "./flow.ts";
import { protocolNamed } from "./protocols.ts";

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
const IPPROTO_RAW = 255;

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
/**
 * The name of one of protocol `P`'s states in {@link StateTimeouts}: the first element of each
 * {@link TIMEOUT_STATES} entry (`"established"`, `"unreplied"`, ...).
 */
export type StateKey<P extends TimeoutProto> = (typeof TIMEOUT_STATES)[P][number][0];
/**
 * The per-state timeouts of protocol `P`, in seconds; a state left out keeps the kernel's
 * default.
 *
 * @example
 * ```ts
 * import type { StateTimeouts } from "@nfct/nfct";
 * const tcp: StateTimeouts<"tcp"> = { established: 3600, timeWait: 30 };
 * const udp: StateTimeouts<"udp"> = { unreplied: 10, replied: 60 };
 * console.log(tcp, udp);
 * ```
 */
export type StateTimeouts<P extends TimeoutProto> = { [K in StateKey<P>]?: number };

/**
 * The protocol number each {@link TimeoutProto} travels as (`CTA_TIMEOUT_L4PROTO`): the
 * protocol table's, and 255 (`IPPROTO_RAW`) for `generic`.
 */
export const TIMEOUT_PROTO_NUMBERS: Readonly<Record<TimeoutProto, number>> = Object.fromEntries(
  (Object.keys(TIMEOUT_STATES) as TimeoutProto[]).map((p) => [
    p,
    p === "generic" ? IPPROTO_RAW : protocolNamed(p)!.number,
  ]),
) as Record<TimeoutProto, number>;

/** A policy (or a tracker's defaults) for one protocol, typed by it. */
export type ProtoTimeouts = {
  [P in TimeoutProto]: {
    /** The tracker: `"tcp"`, …, `"generic"` (nfct's `generic`, protocol 255). */
    proto: P;
    /** Per-state timeouts in seconds (nfct's `STATE SECONDS` pairs). */
    timeouts: StateTimeouts<P>;
  };
}[TimeoutProto];

/**
 * A named timeout policy (`nfct add timeout NAME FAMILY PROTO STATE SECONDS ...`).
 *
 * @example Long-lived TCP connections of an application
 * ```ts
 * import type { TimeoutPolicy } from "@nfct/nfct";
 * const policy: TimeoutPolicy = {
 *   name: "long-tcp",
 *   family: "ipv4",
 *   proto: "tcp",
 *   timeouts: { established: 7 * 24 * 3600, closeWait: 60 },
 * };
 * console.log(policy.timeouts.established);
 * ```
 */
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
  /** Layer 3 (nfct's `inet` / `inet6`): each family has its own defaults. */
  family: Family;
  /** Attributes this library does not know, kept as they came (replies only). */
  unknown?: RawAttribute[];
  /** Timeouts of states this library has no name for, by attribute number (replies only). */
  otherStates?: Record<number, number>;
};
