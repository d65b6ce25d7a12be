/**
 * The pieces of conntrack(8)'s output that flows and expectations share (libnetfilter_conntrack
 * `src/conntrack/snprintf*.c`, `src/expect/snprintf*.c`): protocol names, a tuple's layer-4
 * part in text and XML, state names, event tags and time stamps.
 * @module
 */
import { AF_INET, AF_INET6 } from "../constants.ts";
import { IPPROTO_GRE, protocolOf } from "../protocols.ts";
import type { Tuple } from "../tuple.ts";
import { textOf, type TextOut } from "./text.ts";

/** `l3proto2str`, and the `AF_*` number conntrack prints beside it: IPv4, IPv6. */
export const L3 = [["ipv4", AF_INET], ["ipv6", AF_INET6]] as const;

/**
 * `proto2str`: the name conntrack prints for protocol number `p`, from the protocol table
 * ("unknown" for a protocol it has no name for: libnetfilter_conntrack names the same eight).
 */
export function l4Name(p: number): string {
  return protocolOf(p)?.name ?? "unknown";
}

/**
 * One direction as conntrack prints it: every field present, so that lines from both paths have
 * one shape (the line builder stays fast when typed and wire lines mix). Ports, ICMP fields and
 * GRE keys the kernel did not send are 0, as conntrack prints them; `zone` is -1 when not sent.
 */
export interface LineTuple {
  src: string;
  dst: string;
  /**
   * Where the wire path found an IPv4 source or destination in `raw` (-1: use the text in
   * `src`/`dst`): written from the bytes, no string made.
   */
  srcAt: number;
  dstAt: number;
  raw: Uint8Array;
  sport: number;
  dport: number;
  type: number;
  code: number;
  id: number;
  srcKey: number;
  dstKey: number;
  zone: number;
}

const NO_BYTES = new Uint8Array(0);

/** `t` as a {@link LineTuple}. */
export function lineTuple(t: Tuple): LineTuple {
  return {
    src: t.src,
    dst: t.dst,
    srcAt: -1,
    dstAt: -1,
    raw: NO_BYTES,
    sport: t.sport ?? 0,
    dport: t.dport ?? 0,
    type: t.type ?? 0,
    code: t.code ?? 0,
    id: t.id ?? 0,
    srcKey: t.srcKey ?? 0,
    dstKey: t.dstKey ?? 0,
    zone: t.zone ?? -1,
  };
}

const PORTS = 1, ICMP = 2, KEYS = 3;
/** What a tuple of each protocol number carries, by the protocol table: ports, ICMP fields, GRE keys, or none (0). */
const L4_FIELDS: Uint8Array = Uint8Array.from({ length: 256 }, (_, p) => {
  const proto = protocolOf(p);
  return proto?.ports ? PORTS : proto?.icmp ? ICMP : p === IPPROTO_GRE ? KEYS : 0;
});

/**
 * `__snprintf_proto()`: writes the layer-4 part of a tuple of protocol `p`, each field preceded
 * by a space (lines are built with a space before each field, so no trailing space has to be
 * cut off).
 */
export function writeL4(out: TextOut, t: LineTuple, p: number): void {
  const f = L4_FIELDS[p];
  if (f === PORTS) {
    out.str(" sport=");
    out.num(t.sport);
    out.str(" dport=");
    out.num(t.dport);
  } else if (f === ICMP) {
    out.str(" type=");
    out.num(t.type);
    out.str(" code=");
    out.num(t.code);
    out.str(" id=");
    out.num(t.id);
  } else if (f === KEYS) {
    out.str(` srckey=0x${t.srcKey.toString(16)} dstkey=0x${t.dstKey.toString(16)}`);
  }
}

/** {@link writeL4}'s text as a string. */
export function l4Text(t: LineTuple, p: number): string {
  return textOf(writeL4, t, p);
}

/** The inside of XML `<layer4>` for a tuple of protocol `p` (no ICMP fields: conntrack prints none). */
export function l4Xml(t: LineTuple, p: number): string {
  const f = L4_FIELDS[p];
  if (f === PORTS) return `<sport>${t.sport}</sport><dport>${t.dport}</dport>`;
  if (f === KEYS) {
    return `<srckey>0x${t.srcKey.toString(16)}</srckey><dstkey>0x${t.dstKey.toString(16)}</dstkey>`;
  }
  return "";
}

/**
 * The kernel value of state name `s` in `names` (a protocol's state names by value; `STATE_12`
 * for a value without a name gives 12): -1 when absent, and `names.length` when the name is
 * not one (then printed as conntrack prints a value it has no name for).
 */
export function stateValue(names: readonly string[], s: string | undefined): number {
  if (s === undefined) return -1;
  const i = names.indexOf(s);
  if (i !== -1) return i;
  const m = /^STATE_(\d+)$/.exec(s);
  return m ? Number(m[1]) : names.length;
}

/** State value `v` by the name `names` gives it, "NONE" when it gives none (as conntrack prints it). */
export function stateName(names: readonly string[], v: number): string {
  return names[v] ?? "NONE";
}

/** {@link stateName} of every u8 value preceded by a space, for the text line. */
export function stateTexts(names: readonly string[]): readonly string[] {
  return Array.from({ length: 256 }, (_, v) => " " + stateName(names, v));
}

/** `[NEW]`-style event tag, right-aligned in 9 columns, then a space. */
export function eventTag(event: string): string {
  const s = `[${event.toUpperCase()}]`;
  return (s.length >= 9 ? s : " ".repeat(9 - s.length) + s) + " ";
}

/**
 * The `-o timestamp` prefix of an event line: `[seconds.micros]\t`, flows zero-padded
 * (`%-.8ld.%-.6ld`: at least 8 and 6 digits), expectations space-padded on the right
 * (`%-8ld.%-6ld`).
 */
export function stampPrefix(now: number | undefined, pad: "zeros" | "spaces"): string {
  const ms = now ?? Date.now();
  const sec = Math.floor(ms / 1000);
  const usec = Math.floor((ms - sec * 1000) * 1000);
  return pad === "zeros"
    ? `[${String(sec).padStart(8, "0")}.${String(usec).padStart(6, "0")}]\t`
    : `[${String(sec).padEnd(8)}.${String(usec).padEnd(6)}]\t`;
}

/** Two digits, zero-padded. */
export const pad2 = (n: number): string => (n < 10 ? "0" : "") + n;

/** The XML `-o timestamp` element of events: `now` (default `Date.now()`) in local time. */
export function whenXml(now: number | undefined): string {
  const d = new Date(now ?? Date.now());
  return `<when><hour>${d.getHours()}</hour><min>${pad2(d.getMinutes())}</min>` +
    `<sec>${pad2(d.getSeconds())}</sec><wday>${d.getDay() + 1}</wday><day>${d.getDate()}</day>` +
    `<month>${d.getMonth() + 1}</month><year>${d.getFullYear()}</year></when>`;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `ctime(3)` without the newline: `Thu Jan  1 00:00:00 1970`, in the process's local time. */
export function ctime(seconds: bigint): string {
  const d = new Date(Number(seconds) * 1000);
  const day = d.getDate();
  return `${WEEKDAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day < 10 ? " " : ""}${day} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${d.getFullYear()}`;
}
