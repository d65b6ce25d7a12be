/**
 * A {@link NetlinkSocket} over a scripted transport (./scripted.ts), and the ctnetlink requests
 * the netlink socket tests send on it.
 */
import * as C from "../../conntrack/constants.ts";
import { writeNfgenmsg } from "../../conntrack/nfnl.ts";
import { MessageBuilder } from "../../netlink/attribute.ts";
import { NLM_F_ACK, NLM_F_REQUEST } from "../../netlink/message.ts";
import { NetlinkSocket } from "../../netlink/socket.ts";
import { reseq, scriptedFactory, type ScriptedTransport } from "./scripted.ts";

export const CT_NEW = (C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_NEW;
export const CT_GET = (C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_GET;

/** Sends one ctnetlink request (IPv4) on `sock`; returns its sequence number. */
export function request(sock: NetlinkSocket, type = CT_GET, flags = NLM_F_ACK): number {
  const b = new MessageBuilder();
  const seq = sock.nextSeq();
  const at = b.begin(type, NLM_F_REQUEST | flags, seq);
  writeNfgenmsg(b, C.AF_INET);
  b.end(at);
  sock.send(b.bytes());
  return seq;
}

/** A socket over one scripted transport; `script` queues its replies. */
export function scriptedSocket(
  script: (t: ScriptedTransport, index: number) => void = () => {},
): { sock: NetlinkSocket; t: ScriptedTransport; opened: ScriptedTransport[] } {
  const f = scriptedFactory(script);
  const sock = new NetlinkSocket(f.factory);
  return { sock, t: f.opened[0], opened: f.opened };
}

/** A real datagram answering the last request sent on `t`. */
export const real = (d: Uint8Array) => (t: ScriptedTransport): Uint8Array =>
  reseq(d, t.lastRequest().header.seq);
