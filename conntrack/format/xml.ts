/**
 * {@link writeXml}: a {@link FlowLine} as the `<flow>` element `conntrack -o xml` prints
 * (libnetfilter_conntrack `src/conntrack/snprintf_xml.c`), quirks included: every protocol's
 * state is named with the TCP state names (an SCTP ESTABLISHED entry reads
 * `<state>FIN_WAIT</state>`), and no ICMP type, code or id is printed.
 * @module
 */
import { TCP_STATES } from "../protocols.ts";
import * as S from "../status.ts";
import { labelNames } from "./labels.ts";
import { deltaSeconds, type FlowLine } from "./line.ts";
import type { FormatOptions } from "./options.ts";
import { L3, l4Name, l4Xml, type LineTuple, stateName, whenXml } from "./parts.ts";

function xmlTuple(l: FlowLine, t: LineTuple, dir: "original" | "reply"): string {
  const [l3name, l3num] = L3[l.ipv6 ? 1 : 0];
  let s = `<meta direction="${dir}"><layer3 protonum="${l3num}" protoname="${l3name}">` +
    `<src>${t.src}</src><dst>${t.dst}</dst></layer3>` +
    `<layer4 protonum="${l.proto}" protoname="${l4Name(l.proto)}">${l4Xml(t, l.proto)}</layer4>`;
  if (t.zone >= 0) s += `<zone>${t.zone}</zone>`;
  if (l.counters) {
    const c = dir === "original" ? l.counters.orig : l.counters.reply;
    s += `<counters><packets>${c.packets}</packets><bytes>${c.bytes}</bytes></counters>`;
  }
  return s + "</meta>";
}

/**
 * The `conntrack -o xml` element of `l`; `o.event` adds `type=`, `o.event` with `o.timestamp`
 * a `<when>`, `o.ktimestamp` the `<timestamp>`, `o.labels` the `<labels>`.
 */
export function writeXml(l: FlowLine, o: FormatOptions): string {
  let s = o.event ? `<flow type="${o.event}">` : "<flow>";
  s += xmlTuple(l, l.orig, "original") + xmlTuple(l, l.reply, "reply");
  const status = l.status;
  const ts = l.timestamp;
  const independent = l.tcpState >= 0 || l.sctpState >= 0 ||
    l.dccpState >= 0 || l.timeout >= 0 || l.mark >= 0 ||
    l.secmark >= 0 || l.zone >= 0 || l.use >= 0 ||
    status >= 0 || l.id >= 0 || l.labels !== undefined || ts !== undefined;
  if (independent) s += '<meta direction="independent">';
  for (const v of [l.tcpState, l.sctpState, l.dccpState]) {
    if (v >= 0) s += `<state>${stateName(TCP_STATES, v)}</state>`;
  }
  if (l.timeout >= 0) s += `<timeout>${l.timeout}</timeout>`;
  if (l.mark >= 0) s += `<mark>${l.mark}</mark>`;
  if (o.labels?.size && l.labels !== undefined) {
    const names = labelNames(l.labels, o.labels);
    s += `<labels>${names.map((n) => `<label>${n}</label>`).join("")}</labels>`;
  }
  if (l.secmark >= 0) s += `<secmark>${l.secmark}</secmark>`;
  if (l.secctx !== undefined) s += `<secctx>${l.secctx}</secctx>`;
  if (l.zone >= 0) s += `<zone>${l.zone}</zone>`;
  if (l.use >= 0) s += `<use>${l.use}</use>`;
  if (l.id >= 0) s += `<id>${l.id}</id>`;
  if (status >= 0 && status & S.IPS_ASSURED) s += "<assured/>";
  if (status >= 0 && !(status & S.IPS_SEEN_REPLY)) s += "<unreplied/>";
  if (o.ktimestamp && ts) {
    s += `<timestamp><start>${ts.start}</start>`;
    if (ts.stop !== undefined) s += `<stop>${ts.stop}</stop>`;
    s += "</timestamp>";
  }
  if (ts) {
    const d = ts.stop !== undefined
      ? (ts.stop - ts.start) / 1_000_000_000n
      : deltaSeconds(ts, o.now);
    s += `<deltatime>${d}</deltatime>`;
  }
  if (independent) s += "</meta>";
  if (o.event && o.timestamp) s += whenXml(o.now);
  if (l.helper !== undefined) s += `<helper>${l.helper}</helper>`;
  return s + "</flow>";
}
