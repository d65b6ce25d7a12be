/**
 * A scripted kernel that answers the client's requests with the real datagrams of
 * test/fixtures/real_dump_*.hex (captured by scripts/capture_real_dump.ts in a throwaway netns),
 * their sequence numbers rewritten to the request's.
 * @module
 */
import * as C from "../../conntrack/constants.ts";
import { NLM_F_DUMP } from "../../netlink/message.ts";
import {
  ackMessage,
  doneMessage,
  loadRealDump,
  reseq,
  type ScriptedTransport,
  type SentMessage,
} from "./scripted.ts";

/** The captured replies, read on first use. */
let real: Record<"flows" | "get" | "statsCpu" | "statsGlobal", Uint8Array[]> | undefined;

/**
 * Answers like the kernel did during the capture (use as a transport's `onSend`):
 * - the dying and unconfirmed lists: empty (`NLMSG_DONE`);
 * - `IPCTNL_MSG_CT_GET_STATS_CPU` and `IPCTNL_MSG_CT_GET_STATS`: the real per-CPU and global
 *   statistics (60 entries);
 * - any other dump: the real dump of 60 flows (3 datagrams, then `NLMSG_DONE`);
 * - a `GET` or `GET_CTRZERO` of one entry: the real reply (the TCP flow 10.0.0.1:40000 ->
 *   10.0.0.2:443, mark 0x2a, ESTABLISHED), then its ACK;
 * - anything else: an ACK per message.
 */
export function kernelLike(t: ScriptedTransport, msgs: SentMessage[]): void {
  real ??= {
    flows: loadRealDump("flows"),
    get: loadRealDump("get"),
    statsCpu: loadRealDump("stats_cpu"),
    statsGlobal: loadRealDump("stats_global"),
  };
  const req = msgs[0];
  const seq = req.header.seq;
  const kind = req.header.type & 0xff;
  const answer = (grams: Uint8Array[]) => t.push(...grams.map((d) => reseq(d, seq)));
  if (kind === C.IPCTNL_MSG_CT_GET_DYING || kind === C.IPCTNL_MSG_CT_GET_UNCONFIRMED) {
    t.push(doneMessage(req));
  } else if (kind === C.IPCTNL_MSG_CT_GET_STATS_CPU) answer(real.statsCpu);
  else if (kind === C.IPCTNL_MSG_CT_GET_STATS) answer(real.statsGlobal);
  else if ((req.header.flags & NLM_F_DUMP) === NLM_F_DUMP) answer(real.flows);
  else if (kind === C.IPCTNL_MSG_CT_GET || kind === C.IPCTNL_MSG_CT_GET_CTRZERO) answer(real.get);
  else for (const r of msgs) t.push(ackMessage(r));
}
