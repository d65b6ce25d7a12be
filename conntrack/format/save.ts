/**
 * {@link formatSave}: a flow as `conntrack -o save` prints it, the replayable `-A …` form that
 * `conntrack -R` reads back (conntrack-tools `ct_save_snprintf()` in `src/conntrack.c` and the
 * `print_opts` of `extensions/libct_proto_*.c`). Quirks kept: `-A` (conntrack's "add"), not
 * `-I`; no mark or labels; SCTP vtags byte-swapped (conntrack converts them from network order
 * twice).
 * @module
 */
import type { Flow } from "../flow.ts";
import * as S from "../status.ts";
import {
  IPPROTO_DCCP,
  IPPROTO_GRE,
  IPPROTO_ICMP,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  protocolOf,
  SCTP_STATES,
  TCP_STATES,
} from "../protocols.ts";
import { protoNumber } from "../tuple.ts";
import type { FormatOptions } from "./options.ts";
import { stateValue } from "./parts.ts";

const PORT_OPTIONS = ["--sport", "--dport", "--reply-port-src", "--reply-port-dst"];
const KEY_OPTIONS = ["--srckey", "--dstkey", "--reply-key-src", "--reply-key-dst"];
// conntrack.c conntrack_status_map: the only status bits `-o save` names (by bit order).
const SAVE_STATUS: [number, string][] = [
  [S.IPS_EXPECTED, "EXPECTED"],
  [S.IPS_SEEN_REPLY, "SEEN_REPLY"],
  [S.IPS_ASSURED, "ASSURED"],
  [S.IPS_FIXED_TIMEOUT, "FIXED_TIMEOUT"],
];

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** conntrack's name for state `s` in its table `names` (printf of NULL gives "(null)"). */
function saveState(names: readonly string[], s: string): string {
  return names[stateValue(names, s)] ?? "(null)";
}

/** The `-o save` line of `flow`; `event` makes it `-U` (update) or `-D` (destroy). */
export function formatSave(flow: Flow, event: FormatOptions["event"]): string {
  const p = protoNumber(flow.proto);
  const parts: string[] = [];
  if (event === "update") parts.push("-U");
  else if (event === "destroy") parts.push("-D");
  else parts.push("-A");
  if (flow.timeout !== undefined) parts.push("-t", String(flow.timeout));
  const status = flow.status === undefined ? 0 : S.statusBits(flow.status);
  if (flow.status !== undefined) {
    const names = SAVE_STATUS.filter(([bit]) => status & bit).map(([, n]) => n);
    parts.push("-u", names.length ? names.join(",") : "UNSET");
  }
  if (flow.secmark !== undefined) parts.push("-c", String(flow.secmark));
  if (flow.zone !== undefined) parts.push("-w", String(flow.zone));
  if (flow.orig.zone !== undefined) parts.push("--orig-zone", String(flow.orig.zone));
  if (flow.reply.zone !== undefined) parts.push("--reply-zone", String(flow.reply.zone));
  // libnetfilter_conntrack's NFCT_GOPT_IS_DNAT/IS_SNAT (IPv4 and, since 1.0.9, IPv6): the NAT
  // bit is set and the reply address differs from the original one (decoded addresses are canonical).
  const dnat = (status & S.IPS_DST_NAT_DONE) !== 0 && flow.reply.src !== flow.orig.dst;
  const snat = (status & S.IPS_SRC_NAT_DONE) !== 0 && flow.reply.dst !== flow.orig.src;
  parts.push("-s", flow.orig.src, "-d", flow.orig.dst);
  parts.push(dnat ? "-g" : "-r", flow.reply.src, snat ? "-n" : "-q", flow.reply.dst);
  const proto = protocolOf(p);
  if (!proto) {
    parts.push("-p", String(p));
    return parts.join(" ");
  }
  parts.push("-p", proto.name);
  const o = flow.orig, r = flow.reply;
  if (proto.ports) {
    [o.sport, o.dport, r.sport, r.dport].forEach((v, i) => {
      if (v !== undefined) parts.push(PORT_OPTIONS[i], String(v));
    });
    if (p === IPPROTO_TCP && flow.tcp?.state !== undefined) {
      parts.push("--state", saveState(TCP_STATES, flow.tcp.state));
    }
    if (p === IPPROTO_SCTP && flow.sctp) {
      // conntrack's own SCTP table stops at SHUTDOWN_ACK_SENT, so it prints HEARTBEAT_SENT and
      // HEARTBEAT_ACKED as "(null)" (and segfaults parsing their names). Deliberate difference:
      // nfct writes the name, so that its save output parses back (`nfct -R`).
      const { state, vtagOrig, vtagReply } = flow.sctp;
      if (state !== undefined) parts.push("--state", saveState(SCTP_STATES, state));
      // conntrack prints the (already host-order) vtags through ntohl() once more: byte-swapped.
      if (vtagOrig !== undefined) parts.push("--orig-vtag", String(bswap32(vtagOrig)));
      if (vtagReply !== undefined) parts.push("--reply-vtag", String(bswap32(vtagReply)));
    }
    if (p === IPPROTO_DCCP && flow.dccp) {
      if (flow.dccp.state !== undefined) parts.push("--state", flow.dccp.state);
      if (flow.dccp.role !== undefined) {
        parts.push("--role", flow.dccp.role === 0 ? "client" : "server");
      }
    }
  } else if (p === IPPROTO_GRE) {
    [o.srcKey, o.dstKey, r.srcKey, r.dstKey].forEach((v, i) => {
      if (v !== undefined) parts.push(KEY_OPTIONS[i], String(v));
    });
  } else {
    // ICMP attributes are the original direction's, set when either direction carried them.
    const pre = p === IPPROTO_ICMP ? "--icmp" : "--icmpv6";
    const type = o.type ?? (r.type !== undefined ? 0 : undefined);
    const code = o.code ?? (r.code !== undefined ? 0 : undefined);
    const id = o.id ?? (r.id !== undefined ? 0 : undefined);
    if (type !== undefined) parts.push(`${pre}-type`, String(type));
    if (code !== undefined) parts.push(`${pre}-code`, String(code));
    if (id !== undefined) parts.push(`${pre}-id`, String(id));
  }
  return parts.join(" ");
}
