/** A ctnetlink dump request as raw bytes, for tests that read a dump without a client. */
import * as C from "../../conntrack/constants.ts";
import { HOST_LE, NLM_F_DUMP, NLM_F_REQUEST } from "../../netlink/message.ts";

/** The bytes of an `IPCTNL_MSG_CT_GET` dump of `family`'s table (default IPv4), numbered `seq`. */
export function rawDumpRequest(seq: number, family: number = C.AF_INET): Uint8Array {
  const req = new Uint8Array(20);
  const dv = new DataView(req.buffer);
  dv.setUint32(0, 20, HOST_LE);
  dv.setUint16(4, (C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_GET, HOST_LE);
  dv.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, HOST_LE);
  dv.setUint32(8, seq, HOST_LE);
  req[16] = family;
  return req;
}
