/**
 * {@link FlowDecoder}: ctnetlink messages (`IPCTNL_MSG_CT_NEW`/`_DELETE` replies and events)
 * into {@link Flow}s, every `CTA_*` attribute checked for its length; attributes it does not
 * model are kept raw in `unknown`.
 * @module
 */
import { AttributeReader, NLA_F_NESTED } from "../netlink/attribute.ts";
import { NLMSG_HDRLEN } from "../netlink/message.ts";
import { type Family, formatAddress } from "./address.ts";
import * as C from "./constants.ts";
import { familyName } from "./family.ts";
import type {
  Counter,
  DccpInfo,
  Flow,
  NatRange,
  RawAttribute,
  SctpInfo,
  SeqAdj,
  Synproxy,
  TcpInfo,
  Timestamp,
} from "./flow.ts";
import { decodeLabels } from "./labels.ts";
import {
  DCCP_STATES,
  type DccpState,
  SCTP_STATES,
  type SctpState,
  TCP_STATES,
  type TcpState,
} from "./protocols.ts";
import { statusFlags } from "./status.ts";
import { decodeTuple, type MasterTuple, type Proto, protoName } from "./tuple.ts";

/**
 * Decodes conntrack messages. Holds scratch readers, so one decoder serves a whole dump
 * without allocating per attribute; each {@link decode} returns a new {@link Flow}.
 *
 * @example Decode the replies of a hand-built dump request
 * ```ts
 * import { FlowDecoder } from "@nfct/nfct";
 * const dec = new FlowDecoder();
 * declare const datagram: Uint8Array; // one IPCTNL_MSG_CT_NEW message, as read from the socket
 * const dv = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
 * const flow = dec.decode(dv, 0, datagram.length);
 * console.log(flow.orig.src, dec.key.id); // the id attribute's offset, or -1
 * ```
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
      throw new RangeError(
        `Cannot read conntrack message: ${length} bytes is too short for nfgenmsg`,
      );
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
    const flow = {
      family: familyName(famNum),
      proto: 0 as Proto,
      orig: undefined,
      reply: undefined,
    } as unknown as Flow;
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
          (flow.unknown ??= []).push(rawAttribute(r));
      }
    }
    if (!flow.orig || !flow.reply) {
      throw new RangeError(
        "Cannot read conntrack message: it lacks CTA_TUPLE_ORIG or CTA_TUPLE_REPLY",
      );
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
              t.state = TCP_STATES[v] ?? (`STATE_${v}` as TcpState);
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
            s.state = SCTP_STATES[v] ?? (`STATE_${v}` as SctpState);
          } else if (b.type === C.CTA_PROTOINFO_SCTP_VTAG_ORIGINAL) s.vtagOrig = b.u32();
          else if (b.type === C.CTA_PROTOINFO_SCTP_VTAG_REPLY) s.vtagReply = b.u32();
        }
        flow.sctp = s;
      } else if (a.type === C.CTA_PROTOINFO_DCCP) {
        const d: DccpInfo = {};
        while (b.next()) {
          if (b.type === C.CTA_PROTOINFO_DCCP_STATE) {
            const v = b.u8();
            d.state = DCCP_STATES[v] ?? (`STATE_${v}` as DccpState);
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
  if (a.len !== want) {
    throw new RangeError(
      `Cannot read CTA_NAT: address attribute ${a.type} has ${a.len} bytes, not ${want}`,
    );
  }
  return formatAddress(u8, a.pos, a.len);
}

/**
 * The attribute `r` is at, kept raw: its type with `NLA_F_NESTED` (0x8000) when the kernel set
 * it, and a copy of its payload (how every decoder keeps what it does not model).
 */
export function rawAttribute(r: AttributeReader): RawAttribute {
  return { type: r.type | (r.nestedFlag ? NLA_F_NESTED : 0), data: r.bytes() };
}

const defaultDecoder = new FlowDecoder();

/**
 * Decodes one conntrack message with a shared decoder (see {@link FlowDecoder.decode}).
 * @throws {RangeError} if the bytes are malformed.
 */
export function decodeFlow(dv: DataView, offset: number, length: number): Flow {
  return defaultDecoder.decode(dv, offset, length);
}
