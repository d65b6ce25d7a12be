/**
 * {@link Flow}: one conntrack entry, and its codec (`IPCTNL_MSG_CT_NEW` message bodies).
 *
 * ```
 * nlmsghdr | nfgenmsg { u8 family; u8 version; be16 res_id } | CTA_* attributes
 * ```
 * @module
 */
import {
  AttributeReader,
  type MessageBuilder,
  NLA_F_NET_BYTEORDER,
  NLA_MAX_PAYLOAD,
  NLA_TYPE_MASK,
} from "../netlink/attribute.ts";
import { NLMSG_HDRLEN } from "../netlink/message.ts";
import { type Family, formatAddress, parseAddress } from "./address.ts";
import * as C from "./constants.ts";
import {
  checkArray,
  checkBytes,
  checkInt,
  checkKeys,
  checkName,
  checkU16,
  checkU32,
  checkU64,
  checkU8,
  isObject,
} from "./options.ts";
import { IPS_CONFIRMED, type StatusFlag, statusBits, statusFlags } from "./status.ts";
import {
  decodeTuple,
  encodeTuple,
  invertTuple,
  type MasterTuple,
  type Proto,
  protoName,
  protoNumber,
  type Tuple,
  validateTuple,
} from "./tuple.ts";

/** A TCP state name, as conntrack(8) prints it. */
export type TcpState = typeof C.TCP_STATES[number];
/** An SCTP state name. */
export type SctpState = typeof C.SCTP_STATES[number];
/** A DCCP state name. */
export type DccpState = typeof C.DCCP_STATES[number];

/** TCP flags and mask of one direction (`IP_CT_TCP_FLAG_*`). */
export interface TcpFlags {
  flags: number;
  mask: number;
}

/** `CTA_PROTOINFO_TCP`. */
export interface TcpInfo {
  state?: TcpState;
  wscaleOrig?: number;
  wscaleReply?: number;
  flagsOrig?: TcpFlags;
  flagsReply?: TcpFlags;
}

/** `CTA_PROTOINFO_SCTP`. */
export interface SctpInfo {
  state?: SctpState;
  vtagOrig?: number;
  vtagReply?: number;
}

/** `CTA_PROTOINFO_DCCP`. */
export interface DccpInfo {
  state?: DccpState;
  role?: number;
  handshakeSeq?: bigint;
}

/** Packet and byte counters of one direction (`CTA_COUNTERS_*`); exact below 2^53. */
export interface Counter {
  packets: number;
  bytes: number;
}

/** `CTA_TIMESTAMP`: nanoseconds since the epoch. */
export interface Timestamp {
  start: bigint;
  stop?: bigint;
}

/** A NAT range (`CTA_NAT_SRC` / `CTA_NAT_DST`). */
export interface NatRange {
  minIp?: string;
  maxIp?: string;
  minPort?: number;
  maxPort?: number;
}

/** TCP sequence adjustment of one direction (`CTA_SEQ_ADJ_*`). */
export interface SeqAdj {
  correctionPos: number;
  offsetBefore: number;
  offsetAfter: number;
}

/** `CTA_SYNPROXY`. */
export interface Synproxy {
  isn: number;
  its: number;
  tsoff: number;
}

/** An attribute nfct does not decode, kept as raw bytes so it round-trips. */
export interface RawAttribute {
  type: number;
  data: Uint8Array;
}

/** One conntrack entry. Plain data: safe to copy, compare and serialise (see `flowToJSON`). */
export interface Flow {
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
  tcp?: TcpInfo;
  sctp?: SctpInfo;
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
  seqAdjOrig?: SeqAdj;
  seqAdjReply?: SeqAdj;
  synproxy?: Synproxy;
  /** The master connection of an expected (RELATED) one (`CTA_TUPLE_MASTER`). */
  master?: MasterTuple;
  /** Attributes nfct does not know. */
  unknown?: RawAttribute[];
}

const FAMILY_OF: Record<number, Family> = { [C.AF_INET]: "ipv4", [C.AF_INET6]: "ipv6" };

/** `AF_*` value of a family. */
export function familyNumber(f: Family): number {
  if (f === "ipv4") return C.AF_INET;
  if (f === "ipv6") return C.AF_INET6;
  throw new TypeError(`Invalid family "${String(f)}": expected "ipv4" or "ipv6"`);
}

/**
 * Decodes conntrack messages. Holds scratch readers, so one decoder serves a whole dump
 * without allocating per attribute.
 */
export class FlowDecoder {
  #r = new AttributeReader();
  #a = new AttributeReader();
  #b = new AttributeReader();
  #dv: DataView | undefined;
  #u8: Uint8Array = new Uint8Array(0);
  #tupleOut = { proto: 0, family: undefined as Family | undefined };
  /**
   * Where the last decoded message keeps what identifies its entry, as offsets into the
   * decoded buffer (-1 when absent): the whole `CTA_TUPLE_ORIG` attribute (header included,
   * `origLen` bytes), and the `CTA_ZONE` and `CTA_ID` attributes (8 bytes each). A delete can
   * be built by copying these bytes, with no re-encoding.
   */
  readonly key = { orig: -1, origLen: 0, zone: -1, id: -1 };

  /**
   * Decodes the conntrack message at `offset` (its `nlmsghdr`) of `length` bytes.
   * @throws {RangeError} if the bytes are malformed.
   */
  decode(dv: DataView, offset: number, length: number): Flow {
    if (dv !== this.#dv) {
      this.#dv = dv;
      this.#u8 = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
    }
    if (length < NLMSG_HDRLEN + 4) {
      throw new RangeError(`Cannot read conntrack message: ${length} bytes is too short for nfgenmsg`);
    }
    const u8 = this.#u8;
    const famNum = dv.getUint8(offset + NLMSG_HDRLEN);
    const r = this.#r.reset(dv, offset + NLMSG_HDRLEN + 4, offset + length, "conntrack message");
    const a = this.#a, b = this.#b;
    const to = this.#tupleOut;
    to.proto = 0;
    to.family = undefined;
    const key = this.key;
    key.orig = key.zone = key.id = -1;
    const flow = { family: FAMILY_OF[famNum], proto: 0 as Proto, orig: undefined, reply: undefined } as unknown as Flow;
    let proto = -1;
    while (r.next()) {
      switch (r.type) {
        case C.CTA_TUPLE_ORIG:
          key.orig = r.pos - 4;
          key.origLen = r.len + 4;
          flow.orig = decodeTuple(r, a, b, u8, to);
          proto = to.proto;
          break;
        case C.CTA_TUPLE_REPLY:
          to.proto = proto;
          flow.reply = decodeTuple(r, a, b, u8, to);
          if (proto < 0) proto = to.proto;
          break;
        case C.CTA_STATUS:
          flow.status = statusFlags(r.u32());
          break;
        case C.CTA_TIMEOUT:
          flow.timeout = r.u32();
          break;
        case C.CTA_MARK:
          flow.mark = r.u32();
          break;
        case C.CTA_SECMARK:
          flow.secmark = r.u32();
          break;
        case C.CTA_ZONE:
          key.zone = r.pos - 4;
          flow.zone = r.u16();
          break;
        case C.CTA_ID:
          key.id = r.pos - 4;
          flow.id = r.u32();
          break;
        case C.CTA_USE:
          flow.use = r.u32();
          break;
        case C.CTA_PROTOINFO:
          this.#protoinfo(flow);
          break;
        case C.CTA_COUNTERS_ORIG:
        case C.CTA_COUNTERS_REPLY: {
          const ctr = this.#counter();
          flow.counters ??= { orig: { packets: 0, bytes: 0 }, reply: { packets: 0, bytes: 0 } };
          if (r.type === C.CTA_COUNTERS_ORIG) flow.counters.orig = ctr;
          else flow.counters.reply = ctr;
          break;
        }
        case C.CTA_TIMESTAMP: {
          a.enter(r, "CTA_TIMESTAMP");
          const ts: Timestamp = { start: 0n };
          while (a.next()) {
            if (a.type === C.CTA_TIMESTAMP_START) ts.start = a.u64();
            else if (a.type === C.CTA_TIMESTAMP_STOP) ts.stop = a.u64();
          }
          flow.timestamp = ts;
          break;
        }
        case C.CTA_TIMESTAMP_EVENT:
          flow.eventTime = r.u64();
          break;
        case C.CTA_LABELS:
          flow.labels = decodeLabels(u8, r.pos, r.len);
          break;
        case C.CTA_LABELS_MASK:
          flow.labelsMask = decodeLabels(u8, r.pos, r.len);
          break;
        case C.CTA_HELP:
          a.enter(r, "CTA_HELP");
          while (a.next()) {
            if (a.type === C.CTA_HELP_NAME) flow.helper = a.string();
            else if (a.type === C.CTA_HELP_INFO) flow.helperInfo = a.bytes();
          }
          break;
        case C.CTA_SECCTX:
          a.enter(r, "CTA_SECCTX");
          while (a.next()) if (a.type === C.CTA_SECCTX_NAME) flow.secctx = a.string();
          break;
        case C.CTA_NAT_SRC:
          flow.natSrc = this.#nat(u8);
          break;
        case C.CTA_NAT_DST:
          flow.natDst = this.#nat(u8);
          break;
        case C.CTA_SEQ_ADJ_ORIG:
          flow.seqAdjOrig = this.#seqadj();
          break;
        case C.CTA_SEQ_ADJ_REPLY:
          flow.seqAdjReply = this.#seqadj();
          break;
        case C.CTA_SYNPROXY: {
          a.enter(r, "CTA_SYNPROXY");
          const s: Synproxy = { isn: 0, its: 0, tsoff: 0 };
          while (a.next()) {
            if (a.type === C.CTA_SYNPROXY_ISN) s.isn = a.u32();
            else if (a.type === C.CTA_SYNPROXY_ITS) s.its = a.u32();
            else if (a.type === C.CTA_SYNPROXY_TSOFF) s.tsoff = a.u32();
          }
          flow.synproxy = s;
          break;
        }
        case C.CTA_TUPLE_MASTER: {
          to.proto = 0;
          const t = decodeTuple(r, a, b, u8, to) as MasterTuple;
          t.proto = protoName(to.proto);
          flow.master = t;
          break;
        }
        default:
          (flow.unknown ??= []).push({ type: r.type | (r.nestedFlag ? 0x8000 : 0), data: r.bytes() });
      }
    }
    if (!flow.orig || !flow.reply) {
      throw new RangeError("Cannot read conntrack message: it lacks CTA_TUPLE_ORIG or CTA_TUPLE_REPLY");
    }
    flow.proto = protoName(proto);
    if (!flow.family) flow.family = to.family ?? "ipv4";
    return flow;
  }

  #protoinfo(flow: Flow): void {
    const r = this.#r, a = this.#a, b = this.#b;
    a.enter(r, "CTA_PROTOINFO");
    while (a.next()) {
      b.enter(a, "CTA_PROTOINFO_*");
      if (a.type === C.CTA_PROTOINFO_TCP) {
        const t: TcpInfo = {};
        while (b.next()) {
          switch (b.type) {
            case C.CTA_PROTOINFO_TCP_STATE: {
              const v = b.u8();
              t.state = C.TCP_STATES[v] ?? (`STATE_${v}` as TcpState);
              break;
            }
            case C.CTA_PROTOINFO_TCP_WSCALE_ORIGINAL:
              t.wscaleOrig = b.u8();
              break;
            case C.CTA_PROTOINFO_TCP_WSCALE_REPLY:
              t.wscaleReply = b.u8();
              break;
            case C.CTA_PROTOINFO_TCP_FLAGS_ORIGINAL:
            case C.CTA_PROTOINFO_TCP_FLAGS_REPLY: {
              // struct nf_ct_tcp_flags { __u8 flags; __u8 mask; }
              if (b.len !== 2) throw new RangeError(`Cannot read TCP flags: ${b.len} bytes, not 2`);
              const f = { flags: b.dv.getUint8(b.pos), mask: b.dv.getUint8(b.pos + 1) };
              if (b.type === C.CTA_PROTOINFO_TCP_FLAGS_ORIGINAL) t.flagsOrig = f;
              else t.flagsReply = f;
              break;
            }
          }
        }
        flow.tcp = t;
      } else if (a.type === C.CTA_PROTOINFO_SCTP) {
        const s: SctpInfo = {};
        while (b.next()) {
          if (b.type === C.CTA_PROTOINFO_SCTP_STATE) {
            const v = b.u8();
            s.state = C.SCTP_STATES[v] ?? (`STATE_${v}` as SctpState);
          } else if (b.type === C.CTA_PROTOINFO_SCTP_VTAG_ORIGINAL) s.vtagOrig = b.u32();
          else if (b.type === C.CTA_PROTOINFO_SCTP_VTAG_REPLY) s.vtagReply = b.u32();
        }
        flow.sctp = s;
      } else if (a.type === C.CTA_PROTOINFO_DCCP) {
        const d: DccpInfo = {};
        while (b.next()) {
          if (b.type === C.CTA_PROTOINFO_DCCP_STATE) {
            const v = b.u8();
            d.state = C.DCCP_STATES[v] ?? (`STATE_${v}` as DccpState);
          } else if (b.type === C.CTA_PROTOINFO_DCCP_ROLE) d.role = b.u8();
          else if (b.type === C.CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ) d.handshakeSeq = b.u64();
        }
        flow.dccp = d;
      }
    }
  }

  #counter(): Counter {
    const a = this.#a.enter(this.#r, "CTA_COUNTERS");
    const c: Counter = { packets: 0, bytes: 0 };
    while (a.next()) {
      switch (a.type) {
        case C.CTA_COUNTERS_PACKETS:
          c.packets = a.u64n();
          break;
        case C.CTA_COUNTERS_BYTES:
          c.bytes = a.u64n();
          break;
        case C.CTA_COUNTERS32_PACKETS:
          c.packets = a.u32();
          break;
        case C.CTA_COUNTERS32_BYTES:
          c.bytes = a.u32();
          break;
      }
    }
    return c;
  }

  #nat(u8: Uint8Array): NatRange {
    const a = this.#a.enter(this.#r, "CTA_NAT");
    const n: NatRange = {};
    while (a.next()) {
      switch (a.type) {
        case C.CTA_NAT_V4_MINIP:
        case C.CTA_NAT_V6_MINIP:
          n.minIp = natAddress(u8, a);
          break;
        case C.CTA_NAT_V4_MAXIP:
        case C.CTA_NAT_V6_MAXIP:
          n.maxIp = natAddress(u8, a);
          break;
        case C.CTA_NAT_PROTO: {
          const b = this.#b.enter(a, "CTA_NAT_PROTO");
          while (b.next()) {
            if (b.type === C.CTA_PROTONAT_PORT_MIN) n.minPort = b.u16();
            else if (b.type === C.CTA_PROTONAT_PORT_MAX) n.maxPort = b.u16();
          }
          break;
        }
      }
    }
    return n;
  }

  #seqadj(): SeqAdj {
    const a = this.#a.enter(this.#r, "CTA_SEQ_ADJ");
    const s: SeqAdj = { correctionPos: 0, offsetBefore: 0, offsetAfter: 0 };
    while (a.next()) {
      if (a.type === C.CTA_SEQADJ_CORRECTION_POS) s.correctionPos = a.u32();
      else if (a.type === C.CTA_SEQADJ_OFFSET_BEFORE) s.offsetBefore = a.u32();
      else if (a.type === C.CTA_SEQADJ_OFFSET_AFTER) s.offsetAfter = a.u32();
    }
    return s;
  }
}

/** The address of a `CTA_NAT_V4_*` (exactly 4 bytes) or `CTA_NAT_V6_*` (16) attribute. */
function natAddress(u8: Uint8Array, a: AttributeReader): string {
  const want = a.type === C.CTA_NAT_V4_MINIP || a.type === C.CTA_NAT_V4_MAXIP ? 4 : 16;
  if (a.len !== want) throw new RangeError(`Cannot read CTA_NAT: address attribute ${a.type} has ${a.len} bytes, not ${want}`);
  return formatAddress(u8, a.pos, a.len);
}

/** Label bitmap (host-endian 32-bit words, as the kernel's `unsigned long` bits) → bit numbers. */
function decodeLabels(u8: Uint8Array, pos: number, len: number): number[] {
  const out: number[] = [];
  const dv = new DataView(u8.buffer, u8.byteOffset + pos, len);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (let w = 0; w + 4 <= len; w += 4) {
    let v = dv.getUint32(w, le);
    for (let bit = 0; v !== 0; bit++, v >>>= 1) if (v & 1) out.push(w * 8 + bit);
  }
  return out;
}

/** Bit numbers → label bitmap of 16 bytes (128 bits). @throws {RangeError} on a bad bit. */
export function encodeLabels(bits: readonly number[]): Uint8Array {
  const words = new Uint32Array(4);
  for (const bit of bits) {
    if (!Number.isInteger(bit) || bit < 0 || bit > 127) throw new RangeError(`Invalid label bit ${bit}: must be 0..127`);
    words[bit >>> 5] |= 1 << (bit & 31);
  }
  return new Uint8Array(words.buffer);
}

const defaultDecoder = new FlowDecoder();

/** Decodes one conntrack message (see {@link FlowDecoder.decode}). */
export function decodeFlow(dv: DataView, offset: number, length: number): Flow {
  return defaultDecoder.decode(dv, offset, length);
}

/** Writes the `nfgenmsg` family header. */
export function writeNfgenmsg(b: MessageBuilder, family: number, version = C.NFNETLINK_V0, resId = 0): void {
  b.raw([family, version, resId >> 8, resId & 0xff]);
}

/** What {@link encodeFlow} is writing the flow for. */
export type FlowPurpose = "create" | "update" | "key";

// Kernel limits of what a flow may carry (Linux net/netfilter, include/net/netfilter).
/** `NF_CT_HELPER_NAME_LEN` (16) minus the NUL: `help_nla_policy` CTA_HELP_NAME `.len`. */
export const HELPER_NAME_MAX = 15;
/**
 * `CTA_HELP_INFO` lands in `struct nf_conn_help`'s `char data[32]` (nf_conntrack_helper.h);
 * `nfnl_cthelper_from_nlattr()` copies at most that much, so longer is never meaningful.
 */
export const HELPER_INFO_MAX = 32;
/** `TCP_MAX_WSCALE` (include/net/tcp.h): tcp_nla_policy has `NLA_POLICY_MAX(NLA_U8, TCP_MAX_WSCALE)`. */
export const TCP_MAX_WSCALE = 14;
/** `CT_DCCP_ROLE_MAX` (nf_conntrack_dccp.h): nlattr_to_dccp() refuses a larger role (EINVAL). */
export const DCCP_ROLE_MAX = 1;
/** `CT_DCCP_IGNORE`: nlattr_to_dccp() refuses a state at or above it (EINVAL). */
const DCCP_STATE_LIMIT = 8;
/**
 * `CTA_*` types nfct encodes or decodes itself (CTA_TUPLE_ORIG 1 .. CTA_SYNPROXY 24): an
 * {@link RawAttribute} of one of them would override the flow's own (e.g. the tuple of an
 * update), so `unknown` may not carry them.
 */
const CTA_MODELLED_MAX = C.CTA_SYNPROXY;

const FLOW_KEYS: ReadonlySet<string> = new Set(Object.keys(
  {
    family: 1, proto: 1, orig: 1, reply: 1, status: 1, timeout: 1, mark: 1, secmark: 1, zone: 1,
    id: 1, use: 1, tcp: 1, sctp: 1, dccp: 1, counters: 1, timestamp: 1, eventTime: 1, labels: 1, labelsMask: 1,
    helper: 1, helperInfo: 1, secctx: 1, natSrc: 1, natDst: 1, seqAdjOrig: 1, seqAdjReply: 1,
    synproxy: 1, master: 1, unknown: 1,
  } satisfies Record<keyof Flow, 1>,
));
const keysOf = <T>(o: Record<keyof T, 1>): ReadonlySet<string> => new Set(Object.keys(o));
const TCP_KEYS = keysOf<TcpInfo>({ state: 1, wscaleOrig: 1, wscaleReply: 1, flagsOrig: 1, flagsReply: 1 });
const TCP_FLAGS_KEYS = keysOf<TcpFlags>({ flags: 1, mask: 1 });
const SCTP_KEYS = keysOf<SctpInfo>({ state: 1, vtagOrig: 1, vtagReply: 1 });
const DCCP_KEYS = keysOf<DccpInfo>({ state: 1, role: 1, handshakeSeq: 1 });
const NAT_KEYS = keysOf<NatRange>({ minIp: 1, maxIp: 1, minPort: 1, maxPort: 1 });
const SEQADJ_KEYS = keysOf<SeqAdj>({ correctionPos: 1, offsetBefore: 1, offsetAfter: 1 });
const SYNPROXY_KEYS = keysOf<Synproxy>({ isn: 1, its: 1, tsoff: 1 });
const COUNTERS_KEYS: ReadonlySet<string> = new Set(["orig", "reply"]);
const COUNTER_KEYS = keysOf<Counter>({ packets: 1, bytes: 1 });
const TIMESTAMP_KEYS = keysOf<Timestamp>({ start: 1, stop: 1 });
const RAW_KEYS = keysOf<RawAttribute>({ type: 1, data: 1 });
/** What an update can change: with none of these, an update would do nothing. */
const UPDATABLE = [
  "status", "timeout", "mark", "tcp", "sctp", "dccp", "helper", "labels", "seqAdjOrig", "seqAdjReply",
  "synproxy", "unknown",
] as const;

/** `v` is a plain object whose keys are all in `keys` (no `null` values). */
function sub(v: unknown, keys: ReadonlySet<string>, what: string): Record<string, unknown> {
  if (!isObject(v)) throw new TypeError(`Invalid ${what}: expected an object`);
  checkKeys(v, keys, what);
  return v;
}

/** A conntrack state name: one of `names` (on a key, any string: it is not sent). */
function checkState(v: unknown, names: readonly string[], limit: number, purpose: FlowPurpose, what: string): void {
  if (typeof v !== "string") throw new TypeError(`Invalid ${what}: expected a state name, got ${typeof v}`);
  if (purpose === "key") return;
  const i = names.indexOf(v);
  if (i < 0) throw new TypeError(`Invalid ${what} "${v}": expected one of ${names.slice(0, limit).join(", ")}`);
  if (i >= limit) throw new RangeError(`Invalid ${what} "${v}": the kernel accepts only ${names.slice(0, limit).join(", ")}`);
}

function checkProtoinfo(f: Partial<Flow>, proto: number, purpose: FlowPurpose): void {
  const only = (key: "tcp" | "sctp" | "dccp", p: number) => {
    // The kernel hands protocol info to the flow's own protocol only: other info is ignored.
    if (purpose !== "key" && proto !== p) {
      throw new TypeError(`Invalid flow.${key}: a ${protoName(proto)} flow has no ${key} info`);
    }
  };
  if (f.tcp !== undefined) {
    only("tcp", C.IPPROTO_TCP);
    const t = sub(f.tcp, TCP_KEYS, "flow.tcp");
    if (t.state !== undefined) checkState(t.state, C.TCP_STATES, C.TCP_STATES.length, purpose, "flow.tcp.state");
    for (const k of ["wscaleOrig", "wscaleReply"]) if (t[k] !== undefined) checkInt(t[k], 0, TCP_MAX_WSCALE, `flow.tcp.${k}`);
    for (const k of ["flagsOrig", "flagsReply"]) {
      if (t[k] === undefined) continue;
      // struct nf_ct_tcp_flags { __u8 flags; __u8 mask; }
      const fl = sub(t[k], TCP_FLAGS_KEYS, `flow.tcp.${k}`);
      checkU8(fl.flags, `flow.tcp.${k}.flags`);
      checkU8(fl.mask, `flow.tcp.${k}.mask`);
    }
  }
  if (f.sctp !== undefined) {
    only("sctp", C.IPPROTO_SCTP);
    const s = sub(f.sctp, SCTP_KEYS, "flow.sctp");
    if (s.state !== undefined) checkState(s.state, C.SCTP_STATES, C.SCTP_STATES.length, purpose, "flow.sctp.state");
    // sctp_nla_policy: CTA_PROTOINFO_SCTP_VTAG_* are NLA_U32.
    if (s.vtagOrig !== undefined) checkU32(s.vtagOrig, "flow.sctp.vtagOrig");
    if (s.vtagReply !== undefined) checkU32(s.vtagReply, "flow.sctp.vtagReply");
  }
  if (f.dccp !== undefined) {
    only("dccp", C.IPPROTO_DCCP);
    const d = sub(f.dccp, DCCP_KEYS, "flow.dccp");
    if (d.state !== undefined) checkState(d.state, C.DCCP_STATES, DCCP_STATE_LIMIT, purpose, "flow.dccp.state");
    if (d.role !== undefined) checkInt(d.role, 0, DCCP_ROLE_MAX, "flow.dccp.role");
    if (d.handshakeSeq !== undefined) checkU64(d.handshakeSeq, "flow.dccp.handshakeSeq");
  }
}

function checkNat(v: unknown, family: Family | undefined, what: string): void {
  const n = sub(v, NAT_KEYS, what);
  if (n.minIp !== undefined) parseAddress(n.minIp as string, family, `${what}.minIp`);
  if (n.maxIp !== undefined) parseAddress(n.maxIp as string, family, `${what}.maxIp`);
  if (n.minPort !== undefined) checkU16(n.minPort, `${what}.minPort`);
  if (n.maxPort !== undefined) checkU16(n.maxPort, `${what}.maxPort`);
  if (n.minPort !== undefined && n.maxPort !== undefined && (n.minPort as number) > (n.maxPort as number)) {
    throw new RangeError(`Invalid ${what}: minPort ${n.minPort} is above maxPort ${n.maxPort}`);
  }
  if (n.minIp === undefined && n.maxIp === undefined && n.minPort === undefined && n.maxPort === undefined) {
    throw new TypeError(`Invalid ${what}: an empty NAT range (give minIp/maxIp and/or minPort/maxPort)`);
  }
}

/** All of `keys` present, each a u32 (the kernel refuses a partial nest with EINVAL). */
function checkU32s(v: unknown, keys: ReadonlySet<string>, what: string): void {
  const o = sub(v, keys, what);
  for (const k of keys) {
    if (o[k] === undefined) throw new TypeError(`Invalid ${what}: ${k} is missing (the kernel needs ${[...keys].join(", ")})`);
    checkU32(o[k], `${what}.${k}`);
  }
}

/** Raw attributes kept from a decode: types the decoder does not model, payloads that fit. */
export function checkRawAttributes(v: unknown, modelledMax: number, what: string): void {
  const list = checkArray(v, what);
  list.forEach((a, i) => {
    const w = `${what}[${i}]`;
    const r = sub(a, RAW_KEYS, w);
    // As decoded: the 14-bit type, plus NLA_F_NESTED (0x8000) when it was set.
    const t = checkInt(r.type, 1, 0xffff, `${w}.type`);
    const bare = t & NLA_TYPE_MASK;
    if (t & NLA_F_NET_BYTEORDER || bare === 0) {
      throw new RangeError(`Invalid ${w}.type ${t}: must be 1..${NLA_TYPE_MASK}, optionally | 0x8000 (NLA_F_NESTED)`);
    }
    if (bare <= modelledMax) {
      throw new TypeError(`Invalid ${w}.type ${t}: nfct encodes attribute ${bare} itself (use the field for it)`);
    }
    checkBytes(r.data, NLA_MAX_PAYLOAD, `${w}.data`);
  });
}

/**
 * Checks a flow for `purpose` and returns a copy with the reply tuple filled in by inversion
 * when it was omitted. Throws before anything is sent, on anything the kernel would refuse or
 * nfct would not send as asked:
 * - `TypeError`: not an object, an unknown key (`mrak`), a `null` value, a wrong type, a field
 *   that does not apply (`tcp` info on a UDP flow, `natSrc` on an update, `helperInfo` without
 *   `helper`, `labelsMask` without `labels`), an update that changes nothing;
 * - `RangeError`: a value outside what its attribute holds or the kernel accepts (TCP flags
 *   0..255, `wscale*` 0..{@link TCP_MAX_WSCALE}, u32 fields, DCCP role 0..1, label bits 0..127,
 *   `helper` at most {@link HELPER_NAME_MAX} bytes without NUL, `helperInfo` at most
 *   {@link HELPER_INFO_MAX} bytes, `unknown[].data` at most 65531 bytes).
 *
 * A key whose value is `undefined` counts as absent, as TypeScript's optional properties
 * allow. A flow as dumped is always accepted as a key (and its read-only fields — `use`,
 * `counters`, `timestamp`, `secmark`, `secctx`, `master` on update — are checked for shape and
 * never sent).
 */
export function validateFlow(f: Partial<Flow>, purpose: FlowPurpose): Flow {
  if (!isObject(f)) throw new TypeError("Invalid flow: expected an object");
  checkKeys(f, FLOW_KEYS, "flow");
  if (f.orig === undefined && f.reply === undefined) throw new TypeError("Invalid flow: it needs an orig (or reply) tuple");
  if (f.proto === undefined) throw new TypeError("Invalid flow: proto is missing");
  const proto = protoNumber(f.proto);
  let family = f.family;
  if (family !== undefined && family !== "ipv4" && family !== "ipv6") familyNumber(family);
  if (f.orig !== undefined) family = validateTuple(f.orig, proto, family, "orig");
  if (f.reply !== undefined) family = validateTuple(f.reply, proto, family, "reply");
  const out = { ...f, family, proto: f.proto } as Flow;
  if (purpose !== "key") {
    if (!out.reply) out.reply = invertTuple(out.orig, proto);
    if (!out.orig) out.orig = invertTuple(out.reply, proto);
  }
  if (purpose === "create" && out.timeout === undefined) {
    throw new TypeError("Invalid flow: timeout is required to create a flow (seconds)");
  }
  // ct_nla_policy: CTA_TIMEOUT, CTA_MARK, CTA_ID are NLA_U32 (be32), CTA_ZONE NLA_U16.
  for (const k of ["timeout", "mark", "secmark", "id", "use"] as const) {
    if (f[k] !== undefined) checkU32(f[k], `flow.${k}`);
  }
  if (f.zone !== undefined) checkU16(f.zone, "flow.zone");
  if (f.status !== undefined) statusBits(f.status);
  // CTA_LABELS / CTA_LABELS_MASK: NLA_BINARY of NF_CT_LABELS_MAX_SIZE (16 bytes, 128 bits).
  if (f.labels !== undefined) encodeLabels(checkArray(f.labels, "flow.labels") as number[]);
  if (f.labelsMask !== undefined) encodeLabels(checkArray(f.labelsMask, "flow.labelsMask") as number[]);
  checkProtoinfo(f, proto, purpose);
  if (f.counters !== undefined) {
    const c = sub(f.counters, COUNTERS_KEYS, "flow.counters");
    for (const dir of ["orig", "reply"]) {
      const d = sub(c[dir], COUNTER_KEYS, `flow.counters.${dir}`);
      checkInt(d.packets, 0, Number.MAX_SAFE_INTEGER, `flow.counters.${dir}.packets`);
      checkInt(d.bytes, 0, Number.MAX_SAFE_INTEGER, `flow.counters.${dir}.bytes`);
    }
  }
  if (f.timestamp !== undefined) {
    const t = sub(f.timestamp, TIMESTAMP_KEYS, "flow.timestamp");
    checkU64(t.start, "flow.timestamp.start");
    if (t.stop !== undefined) checkU64(t.stop, "flow.timestamp.stop");
  }
  if (f.helper !== undefined) checkName(f.helper, HELPER_NAME_MAX, "flow.helper");
  if (f.helperInfo !== undefined) checkBytes(f.helperInfo, HELPER_INFO_MAX, "flow.helperInfo");
  if (f.secctx !== undefined && typeof f.secctx !== "string") throw new TypeError("Invalid flow.secctx: expected a string");
  if (f.natSrc !== undefined) checkNat(f.natSrc, family, "flow.natSrc");
  if (f.natDst !== undefined) checkNat(f.natDst, family, "flow.natDst");
  // change_seq_adj() and ctnetlink_change_synproxy() need every field (EINVAL otherwise).
  if (f.seqAdjOrig !== undefined) checkU32s(f.seqAdjOrig, SEQADJ_KEYS, "flow.seqAdjOrig");
  if (f.seqAdjReply !== undefined) checkU32s(f.seqAdjReply, SEQADJ_KEYS, "flow.seqAdjReply");
  if (f.synproxy !== undefined) checkU32s(f.synproxy, SYNPROXY_KEYS, "flow.synproxy");
  if (f.master !== undefined) {
    if (!isObject(f.master)) throw new TypeError("Invalid flow.master: expected a tuple object with proto");
    if (f.master.proto === undefined) throw new TypeError("Invalid flow.master: proto is missing");
    validateTuple(f.master, protoNumber(f.master.proto), family, "flow.master", true);
  }
  if (f.unknown !== undefined) checkRawAttributes(f.unknown, CTA_MODELLED_MAX, "flow.unknown");
  if (purpose !== "key") {
    if (f.helperInfo !== undefined && f.helper === undefined) {
      throw new TypeError("Invalid flow.helperInfo: it is sent only with helper (CTA_HELP)");
    }
    if (f.labelsMask !== undefined && f.labels === undefined) {
      throw new TypeError("Invalid flow.labelsMask: it is sent only with labels (CTA_LABELS)");
    }
  }
  if (purpose === "update") {
    // ctnetlink_change_conntrack(): NAT and the master can only be set up on create (EOPNOTSUPP).
    if (f.natSrc !== undefined || f.natDst !== undefined) {
      throw new TypeError(`Invalid flow.${f.natSrc !== undefined ? "natSrc" : "natDst"}: NAT can only be set on create`);
    }
    if (!UPDATABLE.some((k) => f[k] !== undefined)) {
      throw new TypeError(`Invalid update: it changes nothing (give one of ${UPDATABLE.join(", ")})`);
    }
  }
  return out;
}

function encodeNat(b: MessageBuilder, type: number, n: NatRange): void {
  const nest = b.nest(type);
  const ip = n.minIp ?? n.maxIp;
  if (ip !== undefined) {
    const min = parseAddress(n.minIp ?? ip);
    const max = parseAddress(n.maxIp ?? ip);
    const v4 = min.length === 4;
    b.data(v4 ? C.CTA_NAT_V4_MINIP : C.CTA_NAT_V6_MINIP, min);
    b.data(v4 ? C.CTA_NAT_V4_MAXIP : C.CTA_NAT_V6_MAXIP, max);
  }
  if (n.minPort !== undefined || n.maxPort !== undefined) {
    const p = b.nest(C.CTA_NAT_PROTO);
    b.u16(C.CTA_PROTONAT_PORT_MIN, n.minPort ?? n.maxPort!);
    b.u16(C.CTA_PROTONAT_PORT_MAX, n.maxPort ?? n.minPort!);
    b.endNest(p);
  }
  b.endNest(nest);
}

function encodeSeqAdj(b: MessageBuilder, type: number, s: SeqAdj): void {
  const nest = b.nest(type);
  b.u32(C.CTA_SEQADJ_CORRECTION_POS, s.correctionPos);
  b.u32(C.CTA_SEQADJ_OFFSET_BEFORE, s.offsetBefore);
  b.u32(C.CTA_SEQADJ_OFFSET_AFTER, s.offsetAfter);
  b.endNest(nest);
}

/**
 * Writes a validated flow's attributes (after the nfgenmsg). For `"key"` only what identifies
 * the entry is written: the original tuple (or reply), zone and id.
 */
export function encodeFlow(b: MessageBuilder, f: Flow, purpose: FlowPurpose): void {
  const proto = protoNumber(f.proto);
  if (f.orig) encodeTuple(b, C.CTA_TUPLE_ORIG, f.orig, proto);
  if (purpose === "key") {
    if (!f.orig && f.reply) encodeTuple(b, C.CTA_TUPLE_REPLY, f.reply, proto);
    if (f.zone !== undefined) b.u16(C.CTA_ZONE, f.zone);
    if (f.id !== undefined) b.u32(C.CTA_ID, f.id);
    return;
  }
  if (f.reply) encodeTuple(b, C.CTA_TUPLE_REPLY, f.reply, proto);
  if (f.status !== undefined) {
    // Every entry in the table is confirmed, and the kernel refuses (EBUSY) a CTA_STATUS that would
    // change IPS_CONFIRMED (nf_ct_change_status_common): on create and on update alike, so it is
    // always sent, as conntrack(8) does (it sends the entry's status ORed with the new bits).
    b.u32(C.CTA_STATUS, (statusBits(f.status) | IPS_CONFIRMED) >>> 0);
  }
  if (f.timeout !== undefined) b.u32(C.CTA_TIMEOUT, f.timeout);
  if (f.mark !== undefined) b.u32(C.CTA_MARK, f.mark);
  if (f.zone !== undefined) b.u16(C.CTA_ZONE, f.zone);
  if (purpose === "update" && f.id !== undefined) b.u32(C.CTA_ID, f.id);
  if (f.tcp || f.sctp || f.dccp) {
    const pi = b.nest(C.CTA_PROTOINFO);
    if (f.tcp) {
      const n = b.nest(C.CTA_PROTOINFO_TCP);
      if (f.tcp.state !== undefined) b.u8(C.CTA_PROTOINFO_TCP_STATE, C.TCP_STATES.indexOf(f.tcp.state));
      if (f.tcp.wscaleOrig !== undefined) b.u8(C.CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, f.tcp.wscaleOrig);
      if (f.tcp.wscaleReply !== undefined) b.u8(C.CTA_PROTOINFO_TCP_WSCALE_REPLY, f.tcp.wscaleReply);
      if (f.tcp.flagsOrig) b.data(C.CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, new Uint8Array([f.tcp.flagsOrig.flags, f.tcp.flagsOrig.mask]));
      if (f.tcp.flagsReply) b.data(C.CTA_PROTOINFO_TCP_FLAGS_REPLY, new Uint8Array([f.tcp.flagsReply.flags, f.tcp.flagsReply.mask]));
      b.endNest(n);
    }
    if (f.sctp) {
      // The kernel wants state and both verification tags together (EINVAL otherwise).
      const n = b.nest(C.CTA_PROTOINFO_SCTP);
      b.u8(C.CTA_PROTOINFO_SCTP_STATE, C.SCTP_STATES.indexOf(f.sctp.state ?? "NONE"));
      b.u32(C.CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, f.sctp.vtagOrig ?? 0);
      b.u32(C.CTA_PROTOINFO_SCTP_VTAG_REPLY, f.sctp.vtagReply ?? 0);
      b.endNest(n);
    }
    if (f.dccp) {
      const n = b.nest(C.CTA_PROTOINFO_DCCP);
      if (f.dccp.state !== undefined) b.u8(C.CTA_PROTOINFO_DCCP_STATE, C.DCCP_STATES.indexOf(f.dccp.state));
      if (f.dccp.role !== undefined) b.u8(C.CTA_PROTOINFO_DCCP_ROLE, f.dccp.role);
      if (f.dccp.handshakeSeq !== undefined) b.u64(C.CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ, f.dccp.handshakeSeq);
      b.endNest(n);
    }
    b.endNest(pi);
  }
  if (f.helper !== undefined) {
    const n = b.nest(C.CTA_HELP);
    b.string(C.CTA_HELP_NAME, f.helper);
    if (f.helperInfo) b.data(C.CTA_HELP_INFO, f.helperInfo);
    b.endNest(n);
  }
  if (f.natSrc && purpose === "create") encodeNat(b, C.CTA_NAT_SRC, f.natSrc);
  if (f.natDst && purpose === "create") encodeNat(b, C.CTA_NAT_DST, f.natDst);
  if (f.seqAdjOrig) encodeSeqAdj(b, C.CTA_SEQ_ADJ_ORIG, f.seqAdjOrig);
  if (f.seqAdjReply) encodeSeqAdj(b, C.CTA_SEQ_ADJ_REPLY, f.seqAdjReply);
  if (f.labels !== undefined) {
    b.data(C.CTA_LABELS, encodeLabels(f.labels));
    if (f.labelsMask !== undefined) b.data(C.CTA_LABELS_MASK, encodeLabels(f.labelsMask));
  }
  if (f.synproxy) {
    const n = b.nest(C.CTA_SYNPROXY);
    b.u32(C.CTA_SYNPROXY_ISN, f.synproxy.isn);
    b.u32(C.CTA_SYNPROXY_ITS, f.synproxy.its);
    b.u32(C.CTA_SYNPROXY_TSOFF, f.synproxy.tsoff);
    b.endNest(n);
  }
  if (f.master && purpose === "create") {
    encodeTuple(b, C.CTA_TUPLE_MASTER, f.master, protoNumber(f.master.proto));
  }
  for (const u of f.unknown ?? []) b.data(u.type, u.data);
}
