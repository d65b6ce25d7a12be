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
import { ctime, L3, l4Name, type LineTuple, stateTexts, writeL4 } from "./parts.ts";
import { textOf, type TextOut } from "./text.ts";

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

/** Writes a tuple's address `which` (its text, or the IPv4 bytes it points at). */
function addr(out: TextOut, t: LineTuple, src: boolean): void {
  const at = src ? t.srcAt : t.dstAt;
  if (at >= 0) out.ipv4(t.raw, at);
  else out.str(src ? t.src : t.dst);
}

/** Writes ` src=… dst=…` and the layer-4 part of tuple `t`. */
function tuple(out: TextOut, t: LineTuple, p: number): void {
  out.str(" src=");
  addr(out, t, true);
  out.str(" dst=");
  addr(out, t, false);
  writeL4(out, t, p);
}

/** Writes ` packets=… bytes=…`. */
function counted(out: TextOut, c: { packets: number; bytes: number }): void {
  out.str(" packets=");
  out.num(c.packets);
  out.str(" bytes=");
  out.num(c.bytes);
}

/**
 * Writes the `conntrack -L` text of `l` (`-o extended,id,ktimestamp,labels` through `o`) to
 * `out`, without an event prefix and without the newline. The quirks are conntrack's:
 * `[HW_OFFLOAD]`, `[OFFLOAD]` and `[ASSURED]` exclude one another; a DCCP state is printed with
 * the SCTP names; labels only with a non-empty map, and only the bits it names.
 */
export function writeLine(out: TextOut, l: FlowLine, o: FormatOptions): void {
  // Each field is written with a space before it (none to cut off at the end).
  const p = l.proto;
  if (o.extended) out.str(L3_HEAD[l.ipv6 ? 1 : 0]);
  out.str(L4_HEAD[p]);
  if (l.timeout >= 0) {
    out.str(" ");
    out.num(l.timeout);
  }
  if (l.tcpState >= 0) out.str(TCP_TEXT[l.tcpState] ?? " NONE");
  if (l.sctpState >= 0) out.str(SCTP_TEXT[l.sctpState] ?? " NONE");
  if (l.dccpState >= 0) out.str(DCCP_TEXT[l.dccpState] ?? " NONE");
  const status = l.status;
  tuple(out, l.orig, p);
  if (l.orig.zone >= 0) {
    out.str(" zone-orig=");
    out.num(l.orig.zone);
  }
  const c = l.counters;
  if (c) counted(out, c.orig);
  if (status >= 0 && !(status & S.IPS_SEEN_REPLY)) out.str(" [UNREPLIED]");
  tuple(out, l.reply, p);
  if (l.reply.zone >= 0) {
    out.str(" zone-reply=");
    out.num(l.reply.zone);
  }
  if (c) counted(out, c.reply);
  if (status >= 0) {
    if (status & S.IPS_HW_OFFLOAD) out.str(" [HW_OFFLOAD]");
    else if (status & S.IPS_OFFLOAD) out.str(" [OFFLOAD]");
    else if (status & S.IPS_ASSURED) out.str(" [ASSURED]");
  }
  if (l.mark >= 0) {
    out.str(" mark=");
    out.num(l.mark);
  }
  if (l.secmark >= 0) {
    out.str(" secmark=");
    out.num(l.secmark);
  }
  if (l.secctx !== undefined) out.str(` secctx=${l.secctx}`);
  if (l.zone >= 0) {
    out.str(" zone=");
    out.num(l.zone);
  }
  const ts = l.timestamp;
  if (ts) {
    out.str(` delta-time=${deltaSeconds(ts, o.now)}`);
    if (o.ktimestamp) {
      out.str(` [start=${ctime(ts.start / 1_000_000_000n)}]`);
      if (ts.stop !== undefined) out.str(` [stop=${ctime(ts.stop / 1_000_000_000n)}]`);
    }
  }
  if (l.helper !== undefined) out.str(` helper=${l.helper}`);
  if (l.use >= 0) {
    out.str(" use=");
    out.num(l.use);
  }
  if (o.id && l.id >= 0) {
    out.str(" id=");
    out.num(l.id);
  }
  if (o.labels?.size && l.labels !== undefined) {
    // conntrack writes "labels=" and "name," per named bit, then drops the last character (a
    // comma, or the "=" when no bit has a name).
    const names = labelNames(l.labels, o.labels);
    out.str(names.length ? ` labels=${names.join(",")}` : " labels");
  }
}

/** {@link writeLine}'s text as a string. */
export function lineString(l: FlowLine, o: FormatOptions): string {
  return textOf(writeLine, l, o);
}
