/**
 * {@link formatFlow}: a typed {@link Flow} as the line conntrack(8) prints for it. The flow's
 * printed fields are gathered into a {@link FlowLine} and written by the same code as the wire
 * path's (./line.ts, ./xml.ts); `-o save` has its own form (./save.ts).
 * @module
 */
import type { Flow } from "../flow.ts";
import { statusBits } from "../status.ts";
import { DCCP_STATES, SCTP_STATES, TCP_STATES } from "../protocols.ts";
import { protoNumber } from "../tuple.ts";
import { type FlowLine, lineString, writeLine } from "./line.ts";
import type { FormatOptions } from "./options.ts";
import { eventTag, lineTuple, stampPrefix, stateValue } from "./parts.ts";
import { formatSave } from "./save.ts";
import type { TextOut } from "./text.ts";
import { writeXml } from "./xml.ts";

/** The printed fields of `flow` (its counters, timestamp and labels shared, not copied). */
function lineOf(flow: Flow): FlowLine {
  return {
    ipv6: flow.family === "ipv6",
    proto: protoNumber(flow.proto),
    orig: lineTuple(flow.orig),
    reply: lineTuple(flow.reply),
    status: flow.status === undefined ? -1 : statusBits(flow.status),
    timeout: flow.timeout ?? -1,
    tcpState: stateValue(TCP_STATES, flow.tcp?.state),
    sctpState: stateValue(SCTP_STATES, flow.sctp?.state),
    dccpState: stateValue(DCCP_STATES, flow.dccp?.state),
    counters: flow.counters,
    mark: flow.mark ?? -1,
    secmark: flow.secmark ?? -1,
    secctx: flow.secctx,
    zone: flow.zone ?? -1,
    timestamp: flow.timestamp,
    helper: flow.helper,
    use: flow.use ?? -1,
    id: flow.id ?? -1,
    labels: flow.labels,
  };
}

/** {@link formatFlow}'s plain line (no event prefix, `save` or `xml`), written to `out`. */
export function writeFlowLine(out: TextOut, flow: Flow, options: FormatOptions): void {
  writeLine(out, lineOf(flow), options);
}

/**
 * The line `conntrack -L` (or `-E`, `-G`) prints for `flow` with output options `options`
 * (`-o extended,id,ktimestamp,labels`, `-o save`, `-o xml`), without the newline.
 * `delta-time=` (and XML `<deltatime>`) is "now" minus the start timestamp: pass
 * `options.now` to pin it.
 *
 * @example
 * ```ts
 * import { type Flow, formatFlow } from "@nfct/nfct";
 * const flow: Flow = {
 *   family: "ipv4",
 *   proto: "udp",
 *   orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 5353, dport: 53 },
 *   reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 53, dport: 5353 },
 *   timeout: 29,
 * };
 * formatFlow(flow); // "udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=5353 dport=53 src=10.0.0.2 …"
 * formatFlow(flow, { extended: true, id: true }); // "ipv4     2 udp      17 29 …"
 * formatFlow(flow, { save: true }); // "-A -t 29 -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 …"
 * ```
 */
export function formatFlow(flow: Flow, options: FormatOptions = {}): string {
  if (options.save) return formatSave(flow, options.event);
  if (options.xml) return writeXml(lineOf(flow), options);
  let prefix = "";
  if (options.event) {
    if (options.timestamp) prefix += stampPrefix(options.now, "zeros");
    prefix += eventTag(options.event);
  }
  return prefix + lineString(lineOf(flow), options);
}
