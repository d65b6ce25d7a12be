/**
 * {@link Flow}: one conntrack entry, as plain data, and the types of its parts. Its codec lives
 * beside it: flow_decode.ts (kernel messages → Flow), flow_validate.ts (checks before
 * sending), flow_encode.ts (Flow → attributes); json.ts is its JSON form (`flowToJSON`).
 *
 * ```
 * nlmsghdr | nfgenmsg { u8 family; u8 version; be16 res_id } | CTA_* attributes
 * ```
 * @module
 */
import type { Family } from "./address.ts";
import type { DccpState, SctpState, TcpState } from "./protocols.ts";
import type { StatusFlag } from "./status.ts";
import type { MasterTuple, Proto, Tuple } from "./tuple.ts";

/** TCP flags and mask of one direction (`CTA_PROTOINFO_TCP_FLAGS_*`). */
export interface TcpFlags {
  /**
   * `IP_CT_TCP_FLAG_*` bits (nf_conntrack_tcp.h): 0x01 window scale, 0x02 SACK permitted,
   * 0x04 close initiated, 0x08 be liberal, 0x10 data unacknowledged, 0x20 max ack set.
   */
  flags: number;
  /** Which of {@link flags} a create or update sets; the others are left as they are. */
  mask: number;
}

/** TCP state of an entry (`CTA_PROTOINFO_TCP`). */
export interface TcpInfo {
  /** The tracker's state (`CTA_PROTOINFO_TCP_STATE`), as conntrack's `-L` prints it. */
  state?: TcpState;
  /** Window scale the original direction announced, 0..14 (`..._WSCALE_ORIGINAL`). */
  wscaleOrig?: number;
  /** Window scale the reply direction announced, 0..14 (`..._WSCALE_REPLY`). */
  wscaleReply?: number;
  /** Flags of the original direction (`..._FLAGS_ORIGINAL`). */
  flagsOrig?: TcpFlags;
  /** Flags of the reply direction (`..._FLAGS_REPLY`). */
  flagsReply?: TcpFlags;
}

/** SCTP state of an entry (`CTA_PROTOINFO_SCTP`). */
export interface SctpInfo {
  /** The tracker's state (`CTA_PROTOINFO_SCTP_STATE`). */
  state?: SctpState;
  /** Verification tag of the original direction (`..._VTAG_ORIGINAL`), a u32. */
  vtagOrig?: number;
  /** Verification tag of the reply direction (`..._VTAG_REPLY`), a u32. */
  vtagReply?: number;
}

/** DCCP state of an entry (`CTA_PROTOINFO_DCCP`). */
export interface DccpInfo {
  /** The tracker's state (`CTA_PROTOINFO_DCCP_STATE`). */
  state?: DccpState;
  /** Role of the original direction (`..._ROLE`): 0 client, 1 server. */
  role?: number;
  /** Sequence number of the handshake (`..._HANDSHAKE_SEQ`), a u64. */
  handshakeSeq?: bigint;
}

/** Packet and byte counters of one direction (`CTA_COUNTERS_*`); exact below 2^53. */
export interface Counter {
  /** Packets seen in this direction. */
  packets: number;
  /** Bytes seen in this direction (layer 3, headers included). */
  bytes: number;
}

/** When an entry started and stopped (`CTA_TIMESTAMP`), in nanoseconds since the epoch. */
export interface Timestamp {
  /** When the entry was confirmed (`CTA_TIMESTAMP_START`). */
  start: bigint;
  /** When it died (`CTA_TIMESTAMP_STOP`): on `destroy` events only. */
  stop?: bigint;
}

/**
 * A NAT range (`CTA_NAT_SRC` / `CTA_NAT_DST`), like conntrack's `--src-nat`/`--dst-nat` on
 * create. Give an address, a port, or both; one end of a range alone stands for both ends.
 */
export interface NatRange {
  /** Lowest address (`CTA_NAT_V4_MINIP` / `CTA_NAT_V6_MINIP`). */
  minIp?: string;
  /** Highest address (`CTA_NAT_V4_MAXIP` / `CTA_NAT_V6_MAXIP`). */
  maxIp?: string;
  /** Lowest port (`CTA_PROTONAT_PORT_MIN`). */
  minPort?: number;
  /** Highest port (`CTA_PROTONAT_PORT_MAX`). */
  maxPort?: number;
}

/** TCP sequence adjustment of one direction (`CTA_SEQ_ADJ_*`), as NAT helpers leave it. */
export interface SeqAdj {
  /** Sequence number from which {@link offsetAfter} applies (`CTA_SEQADJ_CORRECTION_POS`). */
  correctionPos: number;
  /** Offset added to sequence numbers before that position (`CTA_SEQADJ_OFFSET_BEFORE`). */
  offsetBefore: number;
  /** Offset added from that position on (`CTA_SEQADJ_OFFSET_AFTER`). */
  offsetAfter: number;
}

/** SYN proxy state (`CTA_SYNPROXY`, the `SYNPROXY` target): u32s. */
export interface Synproxy {
  /** Initial sequence number of the proxied connection (`CTA_SYNPROXY_ISN`). */
  isn: number;
  /** Initial timestamp (`CTA_SYNPROXY_ITS`). */
  its: number;
  /** Timestamp offset (`CTA_SYNPROXY_TSOFF`). */
  tsoff: number;
}

/** An attribute nfct does not decode, kept as raw bytes so it round-trips. */
export interface RawAttribute {
  /** Its 14-bit type, plus `NLA_F_NESTED` (0x8000) when the kernel set it. */
  type: number;
  /** Its payload, without the 4-byte attribute header. */
  data: Uint8Array;
}

/**
 * One conntrack entry. Plain data: safe to copy, compare and serialise (see `flowToJSON`).
 * Read from the kernel by `Conntrack.dump()`/`get()`; given to `create()`, `update()` and
 * `delete()`, where only the fields that identify or change an entry are sent.
 *
 * @example Create a TCP entry as `conntrack -I` would
 * ```ts
 * import { Conntrack, type Flow } from "@nfct/nfct";
 * const flow: Flow = {
 *   family: "ipv4",
 *   proto: "tcp",
 *   orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 80 },
 *   reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 80, dport: 40000 },
 *   status: ["SEEN_REPLY", "ASSURED"],
 *   timeout: 120,
 *   mark: 7,
 *   tcp: { state: "ESTABLISHED" },
 * };
 * using ct = Conntrack.open();
 * ct.create(flow);
 * console.log(ct.get(flow)?.tcp?.state); // "ESTABLISHED"
 * ```
 */
export interface Flow {
  /** Layer 3 (the nfgenmsg family): `"ipv4"` or `"ipv6"`. */
  family: Family;
  /** Layer-4 protocol, by name when nfct knows it. */
  proto: Proto;
  /** The original direction (`CTA_TUPLE_ORIG`). */
  orig: Tuple;
  /** The reply direction (`CTA_TUPLE_REPLY`); computed by inversion on create when omitted. */
  reply: Tuple;
  /** Named status bits (`CTA_STATUS`). */
  status?: StatusFlag[];
  /** Seconds until the entry expires (`CTA_TIMEOUT`). */
  timeout?: number;
  /** Connection mark (`CTA_MARK`). */
  mark?: number;
  /** Security mark (`CTA_SECMARK`). */
  secmark?: number;
  /** Conntrack zone (`CTA_ZONE`). */
  zone?: number;
  /** The entry's id (`CTA_ID`). */
  id?: number;
  /** Reference count (`CTA_USE`). */
  use?: number;
  /** TCP state (`CTA_PROTOINFO_TCP`), on TCP entries. */
  tcp?: TcpInfo;
  /** SCTP state (`CTA_PROTOINFO_SCTP`), on SCTP entries. */
  sctp?: SctpInfo;
  /** DCCP state (`CTA_PROTOINFO_DCCP`), on DCCP entries. */
  dccp?: DccpInfo;
  /** Accounting (`net.netfilter.nf_conntrack_acct=1`). */
  counters?: { orig: Counter; reply: Counter };
  /** Timestamps (`net.netfilter.nf_conntrack_timestamp=1`). */
  timestamp?: Timestamp;
  /**
   * On an event: when the kernel recorded it, ns since the epoch (`CTA_TIMESTAMP_EVENT`; Linux
   * 6.14+ with `net.netfilter.nf_conntrack_timestamp=1`). Never on dumped flows.
   */
  eventTime?: bigint;
  /**
   * Set connlabel bits (`CTA_LABELS`), as bit numbers 0..127. On update without
   * {@link labelsMask} they replace all 128 bits (`[]` clears them).
   */
  labels?: number[];
  /**
   * On update: which label bits to change (`CTA_LABELS_MASK`); each is set to its value in
   * {@link labels}, every other bit is kept. `labels: [1], labelsMask: [1, 5]` sets 1 and
   * clears 5 (`--label-add` / `--label-del`; see `Conntrack.addLabels` / `delLabels`).
   */
  labelsMask?: number[];
  /** Helper name (`CTA_HELP`). */
  helper?: string;
  /** Helper private data (`CTA_HELP_INFO`). */
  helperInfo?: Uint8Array;
  /** Security context (`CTA_SECCTX`). */
  secctx?: string;
  /** Source NAT to set up on create (`CTA_NAT_SRC`). */
  natSrc?: NatRange;
  /** Destination NAT to set up on create (`CTA_NAT_DST`). */
  natDst?: NatRange;
  /** Sequence adjustment of the original direction (`CTA_SEQ_ADJ_ORIG`). */
  seqAdjOrig?: SeqAdj;
  /** Sequence adjustment of the reply direction (`CTA_SEQ_ADJ_REPLY`). */
  seqAdjReply?: SeqAdj;
  /** SYN proxy state (`CTA_SYNPROXY`); all zero on entries that are not proxied. */
  synproxy?: Synproxy;
  /** The master connection of an expected (RELATED) one (`CTA_TUPLE_MASTER`). */
  master?: MasterTuple;
  /** Attributes nfct does not know. */
  unknown?: RawAttribute[];
}

/**
 * What a flow is checked and written for: `"create"` (`IPCTNL_MSG_CT_NEW` with `NLM_F_CREATE`),
 * `"update"` (`IPCTNL_MSG_CT_NEW` without), `"key"` (what identifies an entry: get, delete).
 */
export type FlowPurpose = "create" | "update" | "key";

/**
 * Every field of {@link Flow}, in the order of its declaration: the order `flowToJSON` writes
 * them in, and the keys `validateFlow` accepts.
 */
export const FLOW_FIELDS: readonly (keyof Flow)[] = Object.keys(
  {
    family: 1,
    proto: 1,
    orig: 1,
    reply: 1,
    status: 1,
    timeout: 1,
    mark: 1,
    secmark: 1,
    zone: 1,
    id: 1,
    use: 1,
    tcp: 1,
    sctp: 1,
    dccp: 1,
    counters: 1,
    timestamp: 1,
    eventTime: 1,
    labels: 1,
    labelsMask: 1,
    helper: 1,
    helperInfo: 1,
    secctx: 1,
    natSrc: 1,
    natDst: 1,
    seqAdjOrig: 1,
    seqAdjReply: 1,
    synproxy: 1,
    master: 1,
    unknown: 1,
  } satisfies Record<keyof Flow, 1>,
) as (keyof Flow)[];
