/**
 * {@link encodeFlow}: a validated {@link Flow} into `CTA_*` attributes, as conntrack(8)
 * writes them (test/unit/codec_test.ts compares the bytes with the CLI's).
 * @module
 */
import type { MessageBuilder } from "../netlink/attribute.ts";
import { parseAddress } from "./address.ts";
import * as C from "./constants.ts";
import type { Flow, FlowPurpose, NatRange, SeqAdj } from "./flow.ts";
import { encodeLabels } from "./labels.ts";
import { DCCP_STATES, SCTP_STATES, TCP_STATES } from "./protocols.ts";
import { IPS_CONFIRMED, statusBits } from "./status.ts";
import { encodeTuple, protoNumber } from "./tuple.ts";

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
 * Writes the attributes of a flow checked by {@link validateFlow} for the same `purpose`
 * (after the nfgenmsg): for `"create"` and `"update"` what the flow sets, for `"key"` only
 * what identifies the entry (the original tuple, or the reply one, zone and id).
 * @throws {RangeError} from the builder when the message outgrows what netlink carries.
 *
 * @example A create request built by hand (what `Conntrack.create` sends)
 * ```ts
 * import { encodeFlow, MessageBuilder, validateFlow, writeNfgenmsg } from "@nfct/nfct";
 * const flow = validateFlow({
 *   proto: "udp",
 *   orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 5000, dport: 53 },
 *   timeout: 30,
 * }, "create");
 * const b = new MessageBuilder();
 * // IPCTNL_MSG_CT_NEW of NFNL_SUBSYS_CTNETLINK; NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
 * const at = b.begin(0x100, 0x605, 1);
 * writeNfgenmsg(b, 2); // AF_INET
 * encodeFlow(b, flow, "create");
 * b.end(at);
 * console.log(b.bytes().length);
 * ```
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
      if (f.tcp.state !== undefined) {
        b.u8(C.CTA_PROTOINFO_TCP_STATE, TCP_STATES.indexOf(f.tcp.state));
      }
      if (f.tcp.wscaleOrig !== undefined) {
        b.u8(C.CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, f.tcp.wscaleOrig);
      }
      if (f.tcp.wscaleReply !== undefined) {
        b.u8(C.CTA_PROTOINFO_TCP_WSCALE_REPLY, f.tcp.wscaleReply);
      }
      if (f.tcp.flagsOrig) {
        b.data(
          C.CTA_PROTOINFO_TCP_FLAGS_ORIGINAL,
          new Uint8Array([f.tcp.flagsOrig.flags, f.tcp.flagsOrig.mask]),
        );
      }
      if (f.tcp.flagsReply) {
        b.data(
          C.CTA_PROTOINFO_TCP_FLAGS_REPLY,
          new Uint8Array([f.tcp.flagsReply.flags, f.tcp.flagsReply.mask]),
        );
      }
      b.endNest(n);
    }
    if (f.sctp) {
      // The kernel wants state and both verification tags together (EINVAL otherwise).
      const n = b.nest(C.CTA_PROTOINFO_SCTP);
      b.u8(C.CTA_PROTOINFO_SCTP_STATE, SCTP_STATES.indexOf(f.sctp.state ?? "NONE"));
      b.u32(C.CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, f.sctp.vtagOrig ?? 0);
      b.u32(C.CTA_PROTOINFO_SCTP_VTAG_REPLY, f.sctp.vtagReply ?? 0);
      b.endNest(n);
    }
    if (f.dccp) {
      const n = b.nest(C.CTA_PROTOINFO_DCCP);
      if (f.dccp.state !== undefined) {
        b.u8(C.CTA_PROTOINFO_DCCP_STATE, DCCP_STATES.indexOf(f.dccp.state));
      }
      if (f.dccp.role !== undefined) b.u8(C.CTA_PROTOINFO_DCCP_ROLE, f.dccp.role);
      if (f.dccp.handshakeSeq !== undefined) {
        b.u64(C.CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ, f.dccp.handshakeSeq);
      }
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
