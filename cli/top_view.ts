/**
 * What `nfct top` shows of one sample: totals by protocol and state, the ranked rows, and the
 * three ways to print them: a full-screen frame cut to the terminal's width and height, plain
 * text, and one JSON line. No I/O.
 * @module
 */
import {
  type Flow,
  FLOW_JSON_VERSION,
  type FlowRate,
  formatEndpoint,
  rankRates,
  type RateOrder,
  type RateSample,
} from "../mod.ts";
import { ORDER_NAMES } from "./top_args.ts";
import { SORT_KEYS } from "./top_keys.ts";
import { formatBytes, formatCount, formatRate, unitsNote } from "./top_units.ts";

/** One sample and how to show it. */
export interface TopFrame {
  /** Every flow of the latest dump with its rates. */
  sample: RateSample;
  /** The sort order. */
  order: RateOrder;
  /** At most this many rows (undefined: as many as fit; plain text: 20). */
  limit?: number;
  /** Seconds between refreshes, as asked for. */
  interval: number;
  /** KiB rather than kB. */
  iec: boolean;
  /** When the dump was taken. */
  time: Date;
  /** A line to show under the header (e.g. that accounting was switched on). */
  note?: string;
}

/** Flows and traffic of one group (a protocol, or all flows). */
export interface GroupTotal {
  /** Flows in the group, with counters or not. */
  flows: number;
  /** Bytes per second, both directions, summed over the group. */
  bytesPerSecond: number;
  /** Packets per second, both directions, summed over the group. */
  packetsPerSecond: number;
}

/** A sample's totals: all flows, by protocol (busiest first), by state (most flows first). */
export interface Totals extends GroupTotal {
  /** Flows that carry counters. */
  counted: number;
  /** By protocol name, busiest (bytes/s) first. */
  protocols: [string, GroupTotal][];
  /** Flow counts by `PROTO STATE` (see {@link stateOf}), most first. */
  states: [string, number][];
}

/**
 * A flow's state as conntrack names it: the TCP/SCTP/DCCP state, else from its status bits
 * `ASSURED`, `SEEN_REPLY` or `UNREPLIED`.
 */
export function stateOf(f: Flow): string {
  const s = f.tcp?.state ?? f.sctp?.state ?? f.dccp?.state;
  if (s !== undefined) return s;
  if (f.status?.includes("ASSURED")) return "ASSURED";
  return f.status?.includes("SEEN_REPLY") ? "SEEN_REPLY" : "UNREPLIED";
}

/** Totals of a sample's flows (counted or not). */
export function totals(rates: readonly FlowRate[]): Totals {
  const t: Totals = {
    flows: 0,
    counted: 0,
    bytesPerSecond: 0,
    packetsPerSecond: 0,
    protocols: [],
    states: [],
  };
  const protos = new Map<string, GroupTotal>(), states = new Map<string, number>();
  for (const r of rates) {
    const p = String(r.flow.proto);
    const g = protos.get(p) ?? { flows: 0, bytesPerSecond: 0, packetsPerSecond: 0 };
    protos.set(p, g);
    for (const x of [t, g]) {
      x.flows++;
      x.bytesPerSecond += r.bytesPerSecond;
      x.packetsPerSecond += r.packetsPerSecond;
    }
    if (r.counted) t.counted++;
    const s = `${p} ${stateOf(r.flow)}`;
    states.set(s, (states.get(s) ?? 0) + 1);
  }
  t.protocols = [...protos].sort((a, b) =>
    b[1].bytesPerSecond - a[1].bytesPerSecond || b[1].flows - a[1].flows
  );
  t.states = [...states].sort((a, b) => b[1] - a[1]);
  return t;
}

/** `udp 10.0.0.1:5000 -> 10.0.0.2:53`, `[::1]:40000 -> [::1]:443`, ICMP type/code/id, zone. */
export function flowText(f: Flow): string {
  const o = f.orig;
  const icmp = o.type !== undefined
    ? ` type=${o.type} code=${o.code}${o.id !== undefined ? ` id=${o.id}` : ""}`
    : "";
  return `${formatEndpoint(o.src, o.sport)} -> ${formatEndpoint(o.dst, o.dport)}${icmp}` +
    (f.zone ? ` zone=${f.zone}` : "");
}

/** The header lines: what, when, totals by protocol and by state. */
function headerLines(fr: TopFrame, t: Totals): string[] {
  const when = fr.time.toTimeString().slice(0, 8);
  const last = fr.sample.seconds > 0
    ? ` (last ${fr.sample.seconds.toFixed(2)} s)`
    : " (first sample: rates next refresh)";
  const protocols = t.protocols
    .map(([p, g]) => `${p} ${g.flows} flows ${formatRate(g.bytesPerSecond, fr.iec)}`).join(", ");
  return [
    `nfct top - ${when} - every ${fr.interval} s${last} - sort: ${ORDER_NAMES[fr.order]} - ` +
    `${t.flows} flows, ${t.counted} with counters`,
    `total ${formatRate(t.bytesPerSecond, fr.iec)} ${formatCount(t.packetsPerSecond)} packets/s` +
    (protocols ? `; ${protocols}` : ""),
    `states: ${t.states.map(([s, n]) => `${s} ${n}`).join(", ") || "-"}`,
  ];
}

const COLS: [RateOrder, string, number][] = [
  ["bytesPerSecond", "bytes/s", 12],
  ["packetsPerSecond", "pkts/s", 8],
  ["bytes", "bytes", 11],
  ["packets", "packets", 9],
];

/**
 * The column header and the rows: rates and totals, protocol, endpoints (padded to the longest
 * of these rows), state last (the first thing a narrow terminal cuts). The sort column's name is
 * marked with `*`.
 */
function table(ranked: readonly FlowRate[], order: RateOrder, iec: boolean): string[] {
  const flows = ranked.map((r) => flowText(r.flow));
  const w = Math.max(4, ...flows.map((f) => f.length));
  const head = COLS.map(([k, name, cw]) => (k === order ? `*${name}` : name).padStart(cw)).join("");
  return [
    `${head}  proto  ${"flow".padEnd(w)}  state`,
    ...ranked.map((r, i) =>
      formatRate(r.bytesPerSecond, iec).padStart(COLS[0][2]) +
      formatCount(r.packetsPerSecond).padStart(COLS[1][2]) +
      formatBytes(r.bytes, iec).padStart(COLS[2][2]) +
      formatCount(r.packets).padStart(COLS[3][2]) +
      `  ${String(r.flow.proto).padEnd(5)}  ${flows[i].padEnd(w)}  ${stateOf(r.flow)}`
    ),
  ];
}

/** What the rows say when there are none. */
function emptyText(t: Totals): string {
  if (t.flows === 0) return "  (no flows)";
  return `  (none of the ${t.flows} flows has counters: only flows created while ` +
    "net.netfilter.nf_conntrack_acct=1 have them)";
}

const KEYS = `keys: ${
  Object.entries(SORT_KEYS).map(([k, o]) => `${k} ${ORDER_NAMES[o]}`).join("  ")
}  q quit`;

/**
 * The full-screen frame: at most `height` lines of at most `width` characters (longer lines
 * are cut; every character is ASCII, one cell wide). As many rows as fit, at most `limit`.
 */
export function renderFrame(fr: TopFrame, width: number, height: number): string[] {
  const t = totals(fr.sample.rates);
  const lines = [
    ...headerLines(fr, t),
    `units: ${unitsNote(fr.iec)}; ${KEYS}`,
    fr.note ?? "",
  ];
  const room = Math.max(0, height - lines.length - 1);
  const ranked = rankRates(fr.sample.rates, fr.order, Math.min(room, fr.limit ?? Infinity));
  lines.push(...table(ranked, fr.order, fr.iec));
  if (ranked.length === 0 && room > 0) lines.push(emptyText(t));
  const w = Math.max(0, width);
  return lines.slice(0, Math.max(0, height)).map((l) => (l.length > w ? l.slice(0, w) : l));
}

/** The frame as terminal output: each line drawn at its row and cleared to its end, and the rest of the screen cleared. */
export function frameOutput(lines: readonly string[], height: number): string {
  let s = "";
  lines.forEach((l, i) => (s += `\x1b[${i + 1};1H\x1b[2K${l}`));
  // Below the last line (when there is room: at the last row, ED would clear that row).
  if (lines.length < height) s += `\x1b[${lines.length + 1};1H\x1b[J`;
  return s;
}

/** The sample as plain text (no width limit): header, units, column header, up to `limit` (20) rows. */
export function renderPlain(fr: TopFrame): string {
  const t = totals(fr.sample.rates);
  const ranked = rankRates(fr.sample.rates, fr.order, fr.limit ?? 20);
  const lines = [...headerLines(fr, t), `units: ${unitsNote(fr.iec)}`];
  if (fr.note) lines.push(fr.note);
  lines.push(...table(ranked, fr.order, fr.iec));
  if (ranked.length === 0) lines.push(emptyText(t));
  return lines.join("\n") + "\n";
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * The sample as one line of JSON: `v` (the schema version), `time`, `seconds` (measured), `sort`, `flows`, `counted`,
 * `bytesPerSecond`, `packetsPerSecond`, `protocols`, `states`, then `top`: up to `limit` (20)
 * flows with `family`, `proto`, `src`, `dst`, `sport`/`dport` (when the protocol has ports),
 * `type`/`code` (ICMP), `zone`, `state`, `id`, `bytesPerSecond`, `packetsPerSecond`, `bytes`,
 * `packets`. Rates in bytes and packets per second (no prefixes), rounded to 0.001.
 */
export function renderJson(fr: TopFrame): string {
  const t = totals(fr.sample.rates);
  const top = rankRates(fr.sample.rates, fr.order, fr.limit ?? 20).map((r) => {
    const o = r.flow.orig;
    return {
      family: r.flow.family,
      proto: r.flow.proto,
      src: o.src,
      dst: o.dst,
      sport: o.sport,
      dport: o.dport,
      type: o.type,
      code: o.code,
      zone: r.flow.zone,
      state: stateOf(r.flow),
      id: r.flow.id,
      bytesPerSecond: round3(r.bytesPerSecond),
      packetsPerSecond: round3(r.packetsPerSecond),
      bytes: r.bytes,
      packets: r.packets,
    };
  });
  return JSON.stringify({
    v: FLOW_JSON_VERSION,
    time: fr.time.toISOString(),
    seconds: round3(fr.sample.seconds),
    sort: ORDER_NAMES[fr.order],
    flows: t.flows,
    counted: t.counted,
    bytesPerSecond: round3(t.bytesPerSecond),
    packetsPerSecond: round3(t.packetsPerSecond),
    protocols: Object.fromEntries(
      t.protocols.map((
        [p, g],
      ) => [p, {
        flows: g.flows,
        bytesPerSecond: round3(g.bytesPerSecond),
        packetsPerSecond: round3(g.packetsPerSecond),
      }]),
    ),
    states: Object.fromEntries(t.states),
    top,
  });
}
