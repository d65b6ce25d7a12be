/**
 * The layer-4 protocols conntrack tracks: one table of names, IP protocol numbers, state names and
 * what their tuples carry. The codecs, the filters, the formatters and the command line all read
 * this table; nothing else lists protocols.
 *
 * State names are indexed by the kernel's value (`linux/netfilter/nf_conntrack_{tcp,sctp,dccp}.h`),
 * spelled as conntrack(8) spells them.
 * @module
 */

// netinet/in.h
/** `IPPROTO_ICMP`. */
export const IPPROTO_ICMP = 1;
/** `IPPROTO_TCP`. */
export const IPPROTO_TCP = 6;
/** `IPPROTO_UDP`. */
export const IPPROTO_UDP = 17;
/** `IPPROTO_DCCP`. */
export const IPPROTO_DCCP = 33;
/** `IPPROTO_GRE`. */
export const IPPROTO_GRE = 47;
/** `IPPROTO_ICMPV6`. */
export const IPPROTO_ICMPV6 = 58;
/** `IPPROTO_SCTP`. */
export const IPPROTO_SCTP = 132;
/** `IPPROTO_UDPLITE`. */
export const IPPROTO_UDPLITE = 136;

/** TCP conntrack states by kernel value (`enum tcp_conntrack`). */
export const TCP_STATES = [
  "NONE",
  "SYN_SENT",
  "SYN_RECV",
  "ESTABLISHED",
  "FIN_WAIT",
  "CLOSE_WAIT",
  "LAST_ACK",
  "TIME_WAIT",
  "CLOSE",
  "SYN_SENT2",
] as const;
/** SCTP conntrack states by kernel value (`enum sctp_conntrack`). */
export const SCTP_STATES = [
  "NONE",
  "CLOSED",
  "COOKIE_WAIT",
  "COOKIE_ECHOED",
  "ESTABLISHED",
  "SHUTDOWN_SENT",
  "SHUTDOWN_RECD",
  "SHUTDOWN_ACK_SENT",
  "HEARTBEAT_SENT",
  "HEARTBEAT_ACKED",
] as const;
/** DCCP conntrack states by kernel value (`enum ct_dccp_states`). */
export const DCCP_STATES = [
  "NONE",
  "REQUEST",
  "RESPOND",
  "PARTOPEN",
  "OPEN",
  "CLOSEREQ",
  "CLOSING",
  "TIMEWAIT",
  "IGNORE",
  "INVALID",
] as const;

/** A TCP state name. */
export type TcpState = typeof TCP_STATES[number];
/** An SCTP state name. */
export type SctpState = typeof SCTP_STATES[number];
/** A DCCP state name. */
export type DccpState = typeof DCCP_STATES[number];

/** What the table says about one protocol. */
export interface Protocol {
  /** The name nfct and conntrack(8) use (`-p tcp`). */
  readonly name: string;
  /** The IP protocol number (`netinet/in.h`). */
  readonly number: number;
  /** True when its tuples carry ports (`CTA_PROTO_SRC_PORT`, `CTA_PROTO_DST_PORT`). */
  readonly ports: boolean;
  /** True when its tuples carry ICMP type, code and id instead. */
  readonly icmp: boolean;
  /** Its state names by kernel value, for the protocols with a state machine in conntrack. */
  readonly states?: readonly string[];
}

/** Every protocol nfct knows by name, in the order error messages list them. */
export const PROTOCOLS = [
  { name: "icmp", number: IPPROTO_ICMP, ports: false, icmp: true },
  { name: "tcp", number: IPPROTO_TCP, ports: true, icmp: false, states: TCP_STATES },
  { name: "udp", number: IPPROTO_UDP, ports: true, icmp: false },
  { name: "dccp", number: IPPROTO_DCCP, ports: true, icmp: false, states: DCCP_STATES },
  { name: "gre", number: IPPROTO_GRE, ports: false, icmp: false },
  { name: "icmpv6", number: IPPROTO_ICMPV6, ports: false, icmp: true },
  { name: "sctp", number: IPPROTO_SCTP, ports: true, icmp: false, states: SCTP_STATES },
  { name: "udplite", number: IPPROTO_UDPLITE, ports: true, icmp: false },
] as const satisfies readonly Protocol[];

/** Layer-4 protocol names nfct knows; any other protocol is its number. */
export type ProtoName = typeof PROTOCOLS[number]["name"];

const BY_NUMBER: (Protocol | undefined)[] = Array.from(
  { length: 256 },
  (_, n) => PROTOCOLS.find((p) => p.number === n),
);
const BY_NAME: ReadonlyMap<string, Protocol> = new Map(PROTOCOLS.map((p) => [p.name, p]));

/** The table's entry for IP protocol number `n`, or `undefined` for a protocol nfct has no name for. */
export function protocolOf(n: number): Protocol | undefined {
  return BY_NUMBER[n];
}

/** The table's entry named `name` (`"tcp"`), or `undefined`. */
export function protocolNamed(name: string): Protocol | undefined {
  return BY_NAME.get(name);
}

/** True for protocols whose tuples carry ports (TCP, UDP, UDP-Lite, SCTP, DCCP). */
export function hasPorts(n: number): boolean {
  return BY_NUMBER[n]?.ports === true;
}

/** Every state name of every protocol with states (for validating a state filter). */
export const ALL_STATES: ReadonlySet<string> = new Set(
  PROTOCOLS.flatMap((p) => "states" in p ? [...p.states] : []),
);
