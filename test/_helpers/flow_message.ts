/**
 * A flow as a whole ctnetlink message written by nfct's encoder, the way the kernel sends a
 * flow's event or dump reply: for decoders and filters fed with flows no capture holds.
 * @module
 */
import * as C from "../../conntrack/constants.ts";
import type { Flow } from "../../conntrack/flow.ts";
import { encodeFlow } from "../../conntrack/flow_encode.ts";
import { validateFlow } from "../../conntrack/flow_validate.ts";
import { writeNfgenmsg } from "../../conntrack/nfnl.ts";
import { MessageBuilder } from "../../netlink/attribute.ts";

/** The header fields of {@link flowMessage}'s message, and what it appends after the flow. */
export interface FlowMessageOptions {
  /** `IPCTNL_MSG_CT_*` (default `IPCTNL_MSG_CT_NEW`). */
  type?: number;
  /** `nlmsg_flags` (default 0). */
  flags?: number;
  /** `nlmsg_seq` (default 0). */
  seq?: number;
  /** `nlmsg_pid` (default 0). */
  portId?: number;
  /** Writes attributes after the flow's own (e.g. `CTA_TIMESTAMP_EVENT`). */
  more?: (b: MessageBuilder) => void;
}

/** `flow` validated for `create` and encoded as one ctnetlink message (a copy of its bytes). */
export function flowMessage(
  flow: Partial<Flow> & Pick<Flow, "proto">,
  o: FlowMessageOptions = {},
): Uint8Array {
  const f = validateFlow(flow, "create");
  const b = new MessageBuilder();
  const type = (C.NFNL_SUBSYS_CTNETLINK << 8) | (o.type ?? C.IPCTNL_MSG_CT_NEW);
  const at = b.begin(type, o.flags ?? 0, o.seq ?? 0, o.portId ?? 0);
  writeNfgenmsg(b, f.family === "ipv6" ? C.AF_INET6 : C.AF_INET);
  encodeFlow(b, f, "create");
  o.more?.(b);
  b.end(at);
  return b.bytes().slice();
}
