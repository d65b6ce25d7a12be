/**
 * One nfnetlink request on a socket of its own client (cttimeout, cthelper): build the message
 * (nlmsghdr, nfgenmsg for `AF_UNSPEC`, attributes), send it, read its replies to the ACK or
 * `NLMSG_DONE`. The conntrack client has the same in conntrack/session.ts.
 * @module
 */
import type { MessageBuilder } from "../netlink/attribute.ts";
import { NLM_F_DUMP, NLM_F_REQUEST } from "../netlink/message.ts";
import type { NetlinkSocket } from "../netlink/socket.ts";
import * as C from "./constants.ts";

/**
 * Sends nfnetlink message `type` with `flags` (attributes written by `body` into `b`) on
 * `sock`, and returns its data replies decoded by `each`.
 */
export function nfnlRequest<T>(
  sock: NetlinkSocket,
  b: MessageBuilder,
  type: number,
  flags: number,
  op: string,
  body: (b: MessageBuilder) => void,
  each: (dv: DataView, offset: number, length: number) => T,
): T[] {
  b.reset();
  const seq = sock.nextSeq();
  const at = b.begin(type, NLM_F_REQUEST | flags, seq);
  b.raw([C.AF_UNSPEC, C.NFNETLINK_V0, 0, 0]);
  body(b);
  b.end(at);
  sock.send(b.bytes());
  const out: T[] = [];
  for (const r of sock.replies(seq, op, (flags & NLM_F_DUMP) === NLM_F_DUMP)) {
    out.push(each(r.dv, r.offset, r.length));
  }
  return out;
}
