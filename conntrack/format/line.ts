/**
 * {@link FlowLine}: what conntrack(8) shows of a flow, and {@link writeLine}, the one place
 * that writes a flow's `conntrack -L` text. Both paths feed it: `formatFlow` gathers a line from
 * a typed `Flow` (./flow.ts), `formatWire` straight from a message's bytes (./wire.ts); the XML
 * form is written from the same line (./xml.ts).
 * @module
 */
import type { Flow } from "../flow.ts";
import { DCCP_STATES, SCTP_STATES, TCP_STATES } from "../protocols.ts";
import * as S from "../status.ts";
import { labelNames } from "./labels.ts";
import type { FormatOptions } from "./options.ts";
import { ctime, L3, l4Name, l4Text, type LineTuple, stateTexts } from "./parts.ts";

/**
 * A flow as conntrack prints it: a `Flow`'s printed fields with the status as bits and the
 * protocol states as kernel values. A number field is -1 when the kernel did not send it (the
 * fields stay numbers, which keeps the line builder fast); the others are then `undefined`.
 */
export interface FlowLine {
  /** True for IPv6. */
  ipv6: boolean;
  /** The layer-4 protocol number. */
  proto: number;
  orig: LineTuple;
  reply: LineTuple;
  /** `CTA_STATUS` bits. */
  status: number;
  timeout: number;
  /** TCP, SCTP and DCCP states by kernel value (any value without a name prints as `NONE`). */
  tcpState: number;
  sctpState: number;
  dccpState: number;
  counters: Flow["counters"];
  mark: number;
  secmark: number;
  secctx: string | undefined;
  zone: number;
  timestamp: Flow["timestamp"];
  helper: string | undefined;
  use: number;
  id: number;
  /** Label bit numbers. */
  labels: readonly number[] | undefined;
}

const padEnd = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
/** `-o extended`'s layer-3 head, as conntrack pads it: IPv4, IPv6. */
const L3_HEAD = L3.map(([name, num]) => `${padEnd(name, 8)} ${num} `);
/**
 * `l4proto2str` padded as conntrack prints it, then the number (`"udp      17"`), by protocol
 * number. Every field after it is written with a space before it.
 */
const L4_HEAD: string[] = Array.from({ length: 256 }, (_, p) => `${padEnd(l4Name(p), 8)} ${p}`);

const TCP_TEXT = stateTexts(TCP_STATES);
const SCTP_TEXT = stateTexts(SCTP_STATES);
// libnetfilter_conntrack prints a DCCP state with the SCTP names, as far as DCCP's count goes.
// (Not observable on Linux 6.16+, which no longer tracks DCCP.)
const DCCP_TEXT = stateTexts(SCTP_STATES.slice(0, DCCP_STATES.length));

/** Seconds from the flow's start to its stop, or to `now` (ms since the epoch, default `Date.now()`). */
export function deltaSeconds(ts: NonNullable<Flow["timestamp"]>, now: number | undefined): bigint {
  const stop = ts.stop ? ts.stop / 1_000_000_000n : BigInt(Math.floor((now ?? Date.now()) / 1000));
  return stop - ts.start / 1_000_000_000n;
}

/**
 * The `conntrack -L` text of `l` (`-o extended,id,ktimestamp,labels` through `o`), without an
 * event prefix and without the newline. The quirks are conntrack's: `[HW_OFFLOAD]`, `[OFFLOAD]`
 * and `[ASSURED]` exclude one another; a DCCP state is printed with the SCTP names; labels
 * only with a non-empty map, and only the bits it names.
 */
export function writeLine(l: FlowLine, o: FormatOptions): string {
  // Each field is written with a space before it (none to cut off at the end, which would copy
  // the line once more).
  const p = l.proto;
  let s = o.extended ? L3_HEAD[l.ipv6 ? 1 : 0] : "";
  s += L4_HEAD[p];
  if (l.timeout >= 0) s += ` ${l.timeout}`;
  if (l.tcpState >= 0) s += TCP_TEXT[l.tcpState] ?? " NONE";
  if (l.sctpState >= 0) s += SCTP_TEXT[l.sctpState] ?? " NONE";
  if (l.dccpState >= 0) s += DCCP_TEXT[l.dccpState] ?? " NONE";
  const status = l.status;
  s += ` src=${l.orig.src} dst=${l.orig.dst}` + l4Text(l.orig, p);
  if (l.orig.zone >= 0) s += ` zone-orig=${l.orig.zone}`;
  const c = l.counters;
  if (c) s += ` packets=${c.orig.packets} bytes=${c.orig.bytes}`;
  if (status >= 0 && !(status & S.IPS_SEEN_REPLY)) s += " [UNREPLIED]";
  s += ` src=${l.reply.src} dst=${l.reply.dst}` + l4Text(l.reply, p);
  if (l.reply.zone >= 0) s += ` zone-reply=${l.reply.zone}`;
  if (c) s += ` packets=${c.reply.packets} bytes=${c.reply.bytes}`;
  if (status >= 0) {
    if (status & S.IPS_HW_OFFLOAD) s += " [HW_OFFLOAD]";
    else if (status & S.IPS_OFFLOAD) s += " [OFFLOAD]";
    else if (status & S.IPS_ASSURED) s += " [ASSURED]";
  }
  if (l.mark >= 0) s += ` mark=${l.mark}`;
  if (l.secmark >= 0) s += ` secmark=${l.secmark}`;
  if (l.secctx !== undefined) s += ` secctx=${l.secctx}`;
  if (l.zone >= 0) s += ` zone=${l.zone}`;
  const ts = l.timestamp;
  if (ts) {
    s += ` delta-time=${deltaSeconds(ts, o.now)}`;
    if (o.ktimestamp) {
      s += ` [start=${ctime(ts.start / 1_000_000_000n)}]`;
      if (ts.stop !== undefined) s += ` [stop=${ctime(ts.stop / 1_000_000_000n)}]`;
    }
  }
  if (l.helper !== undefined) s += ` helper=${l.helper}`;
  if (l.use >= 0) s += ` use=${l.use}`;
  if (o.id && l.id >= 0) s += ` id=${l.id}`;
  if (o.labels?.size && l.labels !== undefined) {
    // conntrack writes "labels=" and "name," per named bit, then drops the last character (a
    // comma, or the "=" when no bit has a name).
    const names = labelNames(l.labels, o.labels);
    s += names.length ? ` labels=${names.join(",")}` : " labels";
  }
  return s;
}
