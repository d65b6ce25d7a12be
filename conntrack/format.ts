/**
 * {@link formatFlow}: a {@link Flow} as the line conntrack(8) prints for it.
 *
 * The text follows conntrack-tools 1.4.7 and libnetfilter_conntrack 1.0.9 byte for byte
 * (`nfct_snprintf_labels()` in `src/conntrack/snprintf_default.c` and `snprintf_xml.c`, and
 * `ct_save_snprintf()` in conntrack-tools' `src/conntrack.c`), including their quirks:
 *
 * - an attribute is printed when the kernel sent it, so a protocol whose ports the kernel
 *   did not send (DCCP on a kernel without DCCP tracking) prints `sport=0 dport=0`;
 * - `[HW_OFFLOAD]`, `[OFFLOAD]` and `[ASSURED]` exclude one another, in that order;
 * - labels are printed only with a label map (`-o labels` reads `/etc/xtables/connlabel.conf`),
 *   and only the bits the map names; bits without a name are left out;
 * - `-o save` prints `-A` (conntrack's "add"), not `-I`, no mark or labels, and SCTP vtags
 *   byte-swapped (conntrack converts them from network order twice);
 * - XML prints every protocol state with the TCP state names (an SCTP ESTABLISHED entry
 *   reads `<state>FIN_WAIT</state>`), and no ICMP type, code or id.
 *
 * `delta-time=` (and XML `<deltatime>`) is "now" minus the start timestamp, so it depends on
 * when the line is made: pass `now` to pin it.
 *
 * @example
 * ```ts
 * import { Conntrack, formatFlow } from "./mod.ts";
 * using ct = Conntrack.open();
 * for (const f of ct.dump()) console.log(formatFlow(f, { extended: true, id: true }));
 * ```
 * @module
 */
import { HOST_LE } from "../netlink/message.ts";
import { formatIPv4, formatIPv6 } from "./address.ts";
import * as C from "./constants.ts";
import type { Flow } from "./flow.ts";
import * as S from "./status.ts";
import { protoNumber, type Tuple } from "./tuple.ts";

/** Names of connlabel bits, as `/etc/xtables/connlabel.conf` gives them (see {@link parseConnlabelConf}). */
export type LabelMap = ReadonlyMap<number, string>;

/** Which conntrack(8) output `-o` options to mirror. */
export interface FormatOptions {
  /** `-o extended`: lead with the layer-3 protocol (`ipv4     2 `). */
  extended?: boolean;
  /** `-o id`: append `id=`. */
  id?: boolean;
  /** `-o ktimestamp`: append `[start=…] [stop=…]` (local time, like `ctime(3)`). XML: `<timestamp>`. */
  ktimestamp?: boolean;
  /**
   * `-o labels`: the label names to print. Without a map (or with an empty one, as when
   * `connlabel.conf` names nothing) conntrack prints no labels at all.
   */
  labels?: LabelMap;
  /** `-o save`: the replayable `-A …` form (`conntrack -R` reads it back). Excludes the others. */
  save?: boolean;
  /** `-o xml`: one `<flow>` element (wrap the lines in {@link XML_HEADER} and {@link XML_FOOTER}). */
  xml?: boolean;
  /**
   * `-o timestamp`: conntrack only honours it for events (`-E`): a `[seconds.micros]\t` prefix,
   * or with `xml` a `<when>` element. Ignored without `event`, as `conntrack -L` ignores it.
   */
  timestamp?: boolean;
  /** Format as an event of this kind (`conntrack -E`): `[NEW]`-style prefix, `-U`/`-D` in save form. */
  event?: "new" | "update" | "destroy";
  /** "Now" in milliseconds since the epoch, for `delta-time=` and event stamps (default `Date.now()`). */
  now?: number;
}

/** The first lines conntrack prints before XML flows (only when there is at least one flow). */
export const XML_HEADER = '<?xml version="1.0" encoding="utf-8"?>\n<conntrack>';
/** The line conntrack prints after XML flows. */
export const XML_FOOTER = "</conntrack>";

// libnetfilter_conntrack src/conntrack/snprintf.c: the state names it prints, by value.
const TCP_NAMES = [
  "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK",
  "TIME_WAIT", "CLOSE", "SYN_SENT2",
] as const;
const SCTP_NAMES = [
  "NONE", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED", "SHUTDOWN_SENT",
  "SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT", "HEARTBEAT_ACKED",
] as const;
const DCCP_NAMES = [
  "NONE", "REQUEST", "RESPOND", "PARTOPEN", "OPEN", "CLOSEREQ", "CLOSING", "TIMEWAIT", "IGNORE", "INVALID",
] as const;

// l3proto2str / proto2str: everything else is "unknown".
const L4_NAMES: Record<number, string> = {
  6: "tcp", 17: "udp", 136: "udplite", 1: "icmp", 58: "icmpv6", 132: "sctp", 47: "gre", 33: "dccp",
};
const PORT_PROTOS = new Set([6, 17, 136, 132, 33]);

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const pad2 = (n: number) => (n < 10 ? "0" : "") + n;
const padEnd = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
/** `-o extended`'s layer-3 head, as conntrack pads it: IPv4, IPv6. */
const L3_HEAD = [`${padEnd("ipv4", 8)} 2 `, `${padEnd("ipv6", 8)} 10 `] as const;
/** `l4proto2str` padded as conntrack prints it, then the number: `"udp      17 "`, by protocol number. */
const L4_HEAD: string[] = Array.from({ length: 256 }, (_, p) => `${padEnd(L4_NAMES[p] ?? "unknown", 8)} ${p} `);

/** `ctime(3)` without the newline: `Thu Jan  1 00:00:00 1970`, in the process's local time. */
function ctime(seconds: bigint): string {
  const d = new Date(Number(seconds) * 1000);
  const day = d.getDate();
  return `${WEEKDAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day < 10 ? " " : ""}${day} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${d.getFullYear()}`;
}

/** Index of a decoded state name in the kernel's enum; `-1` when it is not one (e.g. `STATE_12`). */
function stateIndex(names: readonly string[], s: string | undefined): number {
  if (s === undefined) return -1;
  const i = names.indexOf(s);
  if (i !== -1) return i;
  const m = /^STATE_(\d+)$/.exec(s);
  return m ? Number(m[1]) : -1;
}

function l3(flow: Flow): [string, number] {
  return flow.family === "ipv6" ? ["ipv6", 10] : ["ipv4", 2];
}

function addresses(t: Tuple): string {
  return `src=${t.src} dst=${t.dst} `;
}

function l4(t: Tuple, p: number): string {
  if (PORT_PROTOS.has(p)) return `sport=${t.sport ?? 0} dport=${t.dport ?? 0} `;
  if (p === 47) return `srckey=0x${(t.srcKey ?? 0).toString(16)} dstkey=0x${(t.dstKey ?? 0).toString(16)} `;
  if (p === 1 || p === 58) return `type=${t.type ?? 0} code=${t.code ?? 0} id=${t.id ?? 0} `;
  return "";
}

function labelNames(flow: Flow, map: LabelMap): string[] {
  const out: string[] = [];
  for (const bit of [...(flow.labels ?? [])].sort((a, b) => a - b)) {
    const name = map.get(bit);
    if (name) out.push(name);
  }
  return out;
}

function deltaSeconds(flow: Flow, now: number | undefined): bigint {
  const ts = flow.timestamp!;
  const stop = ts.stop ? ts.stop / 1_000_000_000n : BigInt(Math.floor((now ?? Date.now()) / 1000));
  return stop - ts.start / 1_000_000_000n;
}

function eventStamp(now: number | undefined): string {
  // printf("[%-.8ld.%-.6ld]\t", tv_sec, tv_usec): at least 8 and 6 digits, zero-padded.
  const ms = now ?? Date.now();
  const sec = Math.floor(ms / 1000);
  const usec = Math.floor((ms - sec * 1000) * 1000);
  return `[${String(sec).padStart(8, "0")}.${String(usec).padStart(6, "0")}]\t`;
}

/**
 * The line `conntrack -L` (or `-E`, `-G`) prints for `flow` with output options `options`
 * (`-o extended,id,ktimestamp,labels`, `-o save`, `-o xml`), without the newline.
 *
 * @example
 * ```ts
 * formatFlow(flow); // "udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=5353 dport=53 [UNREPLIED] …"
 * formatFlow(flow, { extended: true, id: true });
 * formatFlow(flow, { save: true }); // "-A -t 29 -u UNSET -s 10.0.0.1 …"
 * ```
 */
export function formatFlow(flow: Flow, options: FormatOptions = {}): string {
  if (options.save) return formatSave(flow, options.event);
  if (options.xml) return formatXml(flow, options);
  const p = protoNumber(flow.proto);
  const status = flow.status === undefined ? undefined : S.statusBits(flow.status);
  let s = "";
  if (options.event) {
    if (options.timestamp) s += eventStamp(options.now);
    s += padStart9(`[${options.event.toUpperCase()}]`) + " ";
  }
  if (options.extended) s += L3_HEAD[flow.family === "ipv6" ? 1 : 0];
  s += L4_HEAD[p] ?? `${padEnd("unknown", 8)} ${p} `;
  if (flow.timeout !== undefined) s += `${flow.timeout} `;
  if (flow.tcp?.state !== undefined) {
    const i = stateIndex(TCP_NAMES, flow.tcp.state);
    s += `${TCP_NAMES[i] ?? "NONE"} `;
  }
  if (flow.sctp?.state !== undefined) {
    const i = stateIndex(SCTP_NAMES, flow.sctp.state);
    s += `${SCTP_NAMES[i] ?? "NONE"} `;
  }
  if (flow.dccp?.state !== undefined) {
    // libnetfilter_conntrack prints a DCCP state with the SCTP names (bounded by DCCP's count).
    // (Not observable on Linux 6.16+, which no longer tracks DCCP.)
    const i = stateIndex(DCCP_NAMES, flow.dccp.state);
    s += `${(i >= 0 && i < DCCP_NAMES.length ? SCTP_NAMES[i] : undefined) ?? "NONE"} `;
  }
  s += addresses(flow.orig) + l4(flow.orig, p);
  if (flow.orig.zone !== undefined) s += `zone-orig=${flow.orig.zone} `;
  if (flow.counters) s += `packets=${flow.counters.orig.packets} bytes=${flow.counters.orig.bytes} `;
  if (status !== undefined && !(status & S.IPS_SEEN_REPLY)) s += "[UNREPLIED] ";
  s += addresses(flow.reply) + l4(flow.reply, p);
  if (flow.reply.zone !== undefined) s += `zone-reply=${flow.reply.zone} `;
  if (flow.counters) s += `packets=${flow.counters.reply.packets} bytes=${flow.counters.reply.bytes} `;
  if (status !== undefined) {
    if (status & S.IPS_HW_OFFLOAD) s += "[HW_OFFLOAD] ";
    else if (status & S.IPS_OFFLOAD) s += "[OFFLOAD] ";
    else if (status & S.IPS_ASSURED) s += "[ASSURED] ";
  }
  if (flow.mark !== undefined) s += `mark=${flow.mark} `;
  if (flow.secmark !== undefined) s += `secmark=${flow.secmark} `;
  if (flow.secctx !== undefined) s += `secctx=${flow.secctx} `;
  if (flow.zone !== undefined) s += `zone=${flow.zone} `;
  if (flow.timestamp) {
    s += `delta-time=${deltaSeconds(flow, options.now)} `;
    if (options.ktimestamp) {
      s += `[start=${ctime(flow.timestamp.start / 1_000_000_000n)}] `;
      if (flow.timestamp.stop !== undefined) s += `[stop=${ctime(flow.timestamp.stop / 1_000_000_000n)}] `;
    }
  }
  if (flow.helper !== undefined) s += `helper=${flow.helper} `;
  if (flow.use !== undefined) s += `use=${flow.use} `;
  if (options.id && flow.id !== undefined) s += `id=${flow.id} `;
  if (options.labels?.size && flow.labels !== undefined) {
    // "labels=" + "name," per named bit, then the last character (a comma, or "=") is dropped.
    s += `labels=${labelNames(flow, options.labels).map((n) => n + ",").join("")}`.slice(0, -1) + " ";
  }
  return s.slice(0, -1);
}

/** The tuple fields {@link formatWire} prints (one per direction, reused). */
interface WireTuple {
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
  type: number;
  code: number;
  id: number;
  zone: number;
}
const wireOrig: WireTuple = { src: "", dst: "", proto: -1, sport: 0, dport: 0, type: 0, code: 0, id: 0, zone: -1 };
const wireReply: WireTuple = { ...wireOrig };
/** The byte view of the last buffer {@link formatWire} read (a dump reuses one buffer). */
let wireDv: DataView | undefined;
let wireU8: Uint8Array = new Uint8Array(0);
/** Protocols {@link formatWire} prints itself; the rest (GRE keys, SCTP/DCCP states, …) go through formatFlow. */
const WIRE_PROTOS = new Set([C.IPPROTO_TCP, C.IPPROTO_UDP, C.IPPROTO_UDPLITE, C.IPPROTO_ICMP, C.IPPROTO_ICMPV6]);
const TYPE_MASK = 0x3fff; // NLA_F_NESTED and NLA_F_NET_BYTEORDER off

/** The length of the attribute at `p` when its header and payload fit before `end`, else 0 (check it before {@link nlaType}). */
function nla(dv: DataView, p: number, end: number): number {
  if (end - p < 4) return 0;
  const len = dv.getUint16(p, HOST_LE);
  return len < 4 || len > end - p ? 0 : len;
}
const nlaType = (dv: DataView, p: number) => dv.getUint16(p + 2, HOST_LE) & TYPE_MASK;

/** Reads a tuple's payload `[p, end)` into `t`; false on anything malformed. */
function wireTuple(u8: Uint8Array, dv: DataView, p: number, end: number, t: WireTuple): boolean {
  t.src = t.dst = "";
  t.proto = t.zone = -1;
  t.sport = t.dport = t.type = t.code = t.id = 0;
  while (p < end) {
    const len = nla(dv, p, end);
    if (len === 0) return false;
    const type = nlaType(dv, p), e = p + len;
    if (type === C.CTA_TUPLE_IP || type === C.CTA_TUPLE_PROTO) {
      for (let a = p + 4; a < e;) {
        const l = nla(dv, a, e);
        if (l === 0) return false;
        const at = nlaType(dv, a), v = a + 4;
        if (type === C.CTA_TUPLE_IP) {
          if (at === C.CTA_IP_V4_SRC || at === C.CTA_IP_V4_DST) {
            if (l !== 8) return false;
            if (at === C.CTA_IP_V4_SRC) t.src = formatIPv4(u8, v);
            else t.dst = formatIPv4(u8, v);
          } else if (at === C.CTA_IP_V6_SRC || at === C.CTA_IP_V6_DST) {
            if (l !== 20) return false;
            if (at === C.CTA_IP_V6_SRC) t.src = formatIPv6(u8, v);
            else t.dst = formatIPv6(u8, v);
          }
        } else if (at === C.CTA_PROTO_NUM || at === C.CTA_PROTO_ICMP_TYPE || at === C.CTA_PROTO_ICMP_CODE ||
          at === C.CTA_PROTO_ICMPV6_TYPE || at === C.CTA_PROTO_ICMPV6_CODE) {
          if (l !== 5) return false;
          if (at === C.CTA_PROTO_NUM) t.proto = u8[v];
          else if (at === C.CTA_PROTO_ICMP_TYPE || at === C.CTA_PROTO_ICMPV6_TYPE) t.type = u8[v];
          else t.code = u8[v];
        } else if (at === C.CTA_PROTO_SRC_PORT || at === C.CTA_PROTO_DST_PORT || at === C.CTA_PROTO_ICMP_ID || at === C.CTA_PROTO_ICMPV6_ID) {
          if (l !== 6) return false;
          const n = dv.getUint16(v, false);
          if (at === C.CTA_PROTO_SRC_PORT) t.sport = n;
          else if (at === C.CTA_PROTO_DST_PORT) t.dport = n;
          else t.id = n;
        }
        a += (l + 3) & ~3;
      }
    } else if (type === C.CTA_TUPLE_ZONE) {
      if (len !== 6) return false;
      t.zone = dv.getUint16(p + 4, false);
    }
    p += (len + 3) & ~3;
  }
  return true;
}

function wireL4(t: WireTuple, p: number): string {
  return p === C.IPPROTO_ICMP || p === C.IPPROTO_ICMPV6 ? `type=${t.type} code=${t.code} id=${t.id} ` : `sport=${t.sport} dport=${t.dport} `;
}

/**
 * The line {@link formatFlow} gives for the flow in the ctnetlink message at `offset` of `dv`
 * (its `nlmsghdr`, `length` bytes) with `options` (only `extended` and `id` are read), made
 * straight from the bytes without decoding a {@link Flow} (about a third faster on a big
 * listing, in a fresh process). `undefined` when the message needs the full path: a protocol
 * other than TCP, UDP, UDP-Lite, ICMP and ICMPv6, an attribute that adds to the line beyond
 * the common ones (timestamps, helper, security context, other protocol info), or any
 * malformed bytes (then decoding reports them). Attributes the line never shows (NAT, sequence
 * adjustment, synproxy, labels, unknown ones) are skipped unread.
 */
export function formatWire(dv: DataView, offset: number, length: number, options: FormatOptions = {}): string | undefined {
  const end = offset + length;
  if (length < 20 || end > dv.byteLength) return undefined;
  if (dv !== wireDv) {
    wireDv = dv;
    wireU8 = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
  }
  const u8 = wireU8;
  const fam = u8[offset + 16];
  if (fam !== C.AF_INET && fam !== C.AF_INET6) return undefined;
  let status = -1, timeout = -1, mark = -1, secmark = -1, zone = -1, use = -1, id = -1, tcpState = -1;
  let haveOrig = false, haveReply = false, counters = false;
  let oPackets = 0, oBytes = 0, rPackets = 0, rBytes = 0;
  for (let p = offset + 20; p < end;) {
    const len = nla(dv, p, end);
    if (len === 0) return undefined;
    const type = nlaType(dv, p), v = p + 4;
    switch (type) {
      case C.CTA_TUPLE_ORIG:
        if (!wireTuple(u8, dv, v, p + len, wireOrig)) return undefined;
        haveOrig = true;
        break;
      case C.CTA_TUPLE_REPLY:
        if (!wireTuple(u8, dv, v, p + len, wireReply)) return undefined;
        haveReply = true;
        break;
      case C.CTA_STATUS:
      case C.CTA_TIMEOUT:
      case C.CTA_MARK:
      case C.CTA_SECMARK:
      case C.CTA_USE:
      case C.CTA_ID: {
        if (len !== 8) return undefined;
        const n = dv.getUint32(v, false);
        if (type === C.CTA_STATUS) status = n;
        else if (type === C.CTA_TIMEOUT) timeout = n;
        else if (type === C.CTA_MARK) mark = n;
        else if (type === C.CTA_SECMARK) secmark = n;
        else if (type === C.CTA_USE) use = n;
        else id = n;
        break;
      }
      case C.CTA_ZONE:
        if (len !== 6) return undefined;
        zone = dv.getUint16(v, false);
        break;
      case C.CTA_PROTOINFO: {
        // Only CTA_PROTOINFO_TCP with its state is printed; anything else goes the full way.
        for (let a = v; a < p + len;) {
          const l = nla(dv, a, p + len);
          if (l === 0 || nlaType(dv, a) !== C.CTA_PROTOINFO_TCP) return undefined;
          for (let b = a + 4; b < a + l;) {
            const bl = nla(dv, b, a + l);
            if (bl === 0) return undefined;
            if (nlaType(dv, b) === C.CTA_PROTOINFO_TCP_STATE) {
              if (bl !== 5) return undefined;
              tcpState = u8[b + 4];
            }
            b += (bl + 3) & ~3;
          }
          a += (l + 3) & ~3;
        }
        break;
      }
      case C.CTA_COUNTERS_ORIG:
      case C.CTA_COUNTERS_REPLY: {
        let packets = 0, bytes = 0;
        for (let a = v; a < p + len;) {
          const l = nla(dv, a, p + len);
          if (l === 0) return undefined;
          const at = nlaType(dv, a);
          if (at === C.CTA_COUNTERS_PACKETS || at === C.CTA_COUNTERS_BYTES) {
            if (l !== 12) return undefined;
            const n = dv.getUint32(a + 4, false) * 0x100000000 + dv.getUint32(a + 8, false);
            if (at === C.CTA_COUNTERS_PACKETS) packets = n;
            else bytes = n;
          } else if (at === C.CTA_COUNTERS32_PACKETS || at === C.CTA_COUNTERS32_BYTES) {
            if (l !== 8) return undefined;
            if (at === C.CTA_COUNTERS32_PACKETS) packets = dv.getUint32(a + 4, false);
            else bytes = dv.getUint32(a + 4, false);
          }
          a += (l + 3) & ~3;
        }
        counters = true;
        if (type === C.CTA_COUNTERS_ORIG) {
          oPackets = packets;
          oBytes = bytes;
        } else {
          rPackets = packets;
          rBytes = bytes;
        }
        break;
      }
      case C.CTA_HELP:
      case C.CTA_SECCTX:
      case C.CTA_TIMESTAMP:
        return undefined; // printed: the full path
    }
    p += (len + 3) & ~3;
  }
  const pr = wireOrig.proto;
  if (!haveOrig || !haveReply || !WIRE_PROTOS.has(pr)) return undefined;
  let s = options.extended ? L3_HEAD[fam === C.AF_INET6 ? 1 : 0] : "";
  s += L4_HEAD[pr];
  if (timeout >= 0) s += `${timeout} `;
  if (tcpState >= 0) s += `${WIRE_TCP_STATE[tcpState]} `;
  s += `src=${wireOrig.src} dst=${wireOrig.dst} ` + wireL4(wireOrig, pr);
  if (wireOrig.zone >= 0) s += `zone-orig=${wireOrig.zone} `;
  if (counters) s += `packets=${oPackets} bytes=${oBytes} `;
  if (status >= 0 && !(status & S.IPS_SEEN_REPLY)) s += "[UNREPLIED] ";
  s += `src=${wireReply.src} dst=${wireReply.dst} ` + wireL4(wireReply, pr);
  if (wireReply.zone >= 0) s += `zone-reply=${wireReply.zone} `;
  if (counters) s += `packets=${rPackets} bytes=${rBytes} `;
  if (status >= 0) {
    if (status & S.IPS_HW_OFFLOAD) s += "[HW_OFFLOAD] ";
    else if (status & S.IPS_OFFLOAD) s += "[OFFLOAD] ";
    else if (status & S.IPS_ASSURED) s += "[ASSURED] ";
  }
  if (mark >= 0) s += `mark=${mark} `;
  if (secmark >= 0) s += `secmark=${secmark} `;
  if (zone >= 0) s += `zone=${zone} `;
  if (use >= 0) s += `use=${use} `;
  if (options.id && id >= 0) s += `id=${id} `;
  return s.slice(0, -1);
}

/** The TCP state name formatFlow prints for each kernel value (as the decoder names it). */
const WIRE_TCP_STATE: string[] = Array.from({ length: 256 }, (_, v) => {
  const i = stateIndex(TCP_NAMES, C.TCP_STATES[v] ?? `STATE_${v}`);
  return TCP_NAMES[i] ?? "NONE";
});

function padStart9(s: string): string {
  return s.length >= 9 ? s : " ".repeat(9 - s.length) + s;
}

// conntrack-tools extensions/libct_proto_*.c print_opts: the per-protocol part of `-o save`.
const SAVE_PORTS = ["--sport", "--dport", "--reply-port-src", "--reply-port-dst"];
const SAVE_NAMES: Record<number, string> = {
  6: "tcp", 17: "udp", 136: "udplite", 132: "sctp", 33: "dccp", 1: "icmp", 58: "icmpv6", 47: "gre",
};
// conntrack.c conntrack_status_map: the only status bits `-o save` names (by bit order).
const SAVE_STATUS: [number, string][] = [
  [S.IPS_EXPECTED, "EXPECTED"],
  [S.IPS_SEEN_REPLY, "SEEN_REPLY"],
  [S.IPS_ASSURED, "ASSURED"],
  [S.IPS_FIXED_TIMEOUT, "FIXED_TIMEOUT"],
];

function formatSave(flow: Flow, event: FormatOptions["event"]): string {
  const p = protoNumber(flow.proto);
  const parts: string[] = [];
  if (event === "update") parts.push("-U");
  else if (event === "destroy") parts.push("-D");
  else parts.push("-A");
  if (flow.timeout !== undefined) parts.push("-t", String(flow.timeout));
  if (flow.status !== undefined) {
    const v = S.statusBits(flow.status);
    const names = SAVE_STATUS.filter(([bit]) => v & bit).map(([, n]) => n);
    parts.push("-u", names.length ? names.join(",") : "UNSET");
  }
  if (flow.secmark !== undefined) parts.push("-c", String(flow.secmark));
  if (flow.zone !== undefined) parts.push("-w", String(flow.zone));
  if (flow.orig.zone !== undefined) parts.push("--orig-zone", String(flow.orig.zone));
  if (flow.reply.zone !== undefined) parts.push("--reply-zone", String(flow.reply.zone));
  // libnetfilter_conntrack's NFCT_GOPT_IS_DNAT/IS_SNAT (IPv4 and, since 1.0.9, IPv6): the NAT
  // bit is set and the reply address differs from the original one (decoded addresses are canonical).
  const status = flow.status === undefined ? 0 : S.statusBits(flow.status);
  const dnat = (status & S.IPS_DST_NAT_DONE) !== 0 && flow.reply.src !== flow.orig.dst;
  const snat = (status & S.IPS_SRC_NAT_DONE) !== 0 && flow.reply.dst !== flow.orig.src;
  parts.push("-s", flow.orig.src, "-d", flow.orig.dst);
  parts.push(dnat ? "-g" : "-r", flow.reply.src, snat ? "-n" : "-q", flow.reply.dst);
  const name = SAVE_NAMES[p];
  if (name === undefined) {
    parts.push("-p", String(p));
    return parts.join(" ");
  }
  parts.push("-p", name);
  const o = flow.orig, r = flow.reply;
  if (PORT_PROTOS.has(p)) {
    [o.sport, o.dport, r.sport, r.dport].forEach((v, i) => {
      if (v !== undefined) parts.push(SAVE_PORTS[i], String(v));
    });
    if (p === 6 && flow.tcp?.state !== undefined) parts.push("--state", saveState(TCP_NAMES, TCP_NAMES, flow.tcp.state));
    if (p === 132 && flow.sctp) {
      // conntrack's own SCTP table stops at SHUTDOWN_ACK_SENT, so it prints HEARTBEAT_SENT and
      // HEARTBEAT_ACKED as "(null)" (and segfaults parsing their names). Deliberate difference:
      // nfct writes the name, so that its save output parses back (`nfct -R`).
      if (flow.sctp.state !== undefined) parts.push("--state", saveState(SCTP_NAMES, SCTP_NAMES, flow.sctp.state));
      // conntrack prints the (already host-order) vtags through ntohl() once more: byte-swapped.
      if (flow.sctp.vtagOrig !== undefined) parts.push("--orig-vtag", String(bswap32(flow.sctp.vtagOrig)));
      if (flow.sctp.vtagReply !== undefined) parts.push("--reply-vtag", String(bswap32(flow.sctp.vtagReply)));
    }
    if (p === 33 && flow.dccp) {
      if (flow.dccp.state !== undefined) parts.push("--state", flow.dccp.state);
      if (flow.dccp.role !== undefined) parts.push("--role", flow.dccp.role === 0 ? "client" : "server");
    }
  } else if (p === 47) {
    const keys = [o.srcKey, o.dstKey, r.srcKey, r.dstKey];
    ["--srckey", "--dstkey", "--reply-key-src", "--reply-key-dst"].forEach((opt, i) => {
      if (keys[i] !== undefined) parts.push(opt, String(keys[i]));
    });
  } else {
    // ICMP attributes are the original direction's, set when either direction carried them.
    const pre = p === 1 ? "--icmp" : "--icmpv6";
    const type = o.type ?? (r.type !== undefined ? 0 : undefined);
    const code = o.code ?? (r.code !== undefined ? 0 : undefined);
    const id = o.id ?? (r.id !== undefined ? 0 : undefined);
    if (type !== undefined) parts.push(`${pre}-type`, String(type));
    if (code !== undefined) parts.push(`${pre}-code`, String(code));
    if (id !== undefined) parts.push(`${pre}-id`, String(id));
  }
  return parts.join(" ");
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** conntrack's name for state `s` in its own table `cli` (printf of NULL gives "(null)"). */
function saveState(cli: readonly string[], kernel: readonly string[], s: string): string {
  return cli[stateIndex(kernel, s)] ?? "(null)";
}

function xmlTuple(flow: Flow, t: Tuple, dir: "original" | "reply", p: number): string {
  const [l3name, l3num] = l3(flow);
  let s = `<meta direction="${dir}"><layer3 protonum="${l3num}" protoname="${l3name}">` +
    `<src>${t.src}</src><dst>${t.dst}</dst></layer3>` +
    `<layer4 protonum="${p}" protoname="${L4_NAMES[p] ?? "unknown"}">`;
  if (PORT_PROTOS.has(p)) s += `<sport>${t.sport ?? 0}</sport><dport>${t.dport ?? 0}</dport>`;
  else if (p === 47) s += `<srckey>0x${(t.srcKey ?? 0).toString(16)}</srckey><dstkey>0x${(t.dstKey ?? 0).toString(16)}</dstkey>`;
  s += "</layer4>";
  if (t.zone !== undefined) s += `<zone>${t.zone}</zone>`;
  if (flow.counters) {
    const c = dir === "original" ? flow.counters.orig : flow.counters.reply;
    s += `<counters><packets>${c.packets}</packets><bytes>${c.bytes}</bytes></counters>`;
  }
  return s + "</meta>";
}

function formatXml(flow: Flow, options: FormatOptions): string {
  const p = protoNumber(flow.proto);
  let s = options.event ? `<flow type="${options.event}">` : "<flow>";
  s += xmlTuple(flow, flow.orig, "original", p) + xmlTuple(flow, flow.reply, "reply", p);
  const status = flow.status === undefined ? undefined : S.statusBits(flow.status);
  const ts = flow.timestamp;
  const independent = flow.tcp?.state !== undefined || flow.sctp?.state !== undefined ||
    flow.dccp?.state !== undefined || flow.timeout !== undefined || flow.mark !== undefined ||
    flow.secmark !== undefined || flow.zone !== undefined || flow.use !== undefined ||
    status !== undefined || flow.id !== undefined || flow.labels !== undefined || ts !== undefined;
  if (independent) s += '<meta direction="independent">';
  // snprintf_xml.c names every protocol's state with the TCP table.
  const states: [string | undefined, readonly string[]][] = [
    [flow.tcp?.state, TCP_NAMES],
    [flow.sctp?.state, SCTP_NAMES],
    [flow.dccp?.state, DCCP_NAMES],
  ];
  for (const [st, names] of states) {
    if (st !== undefined) s += `<state>${TCP_NAMES[stateIndex(names, st)] ?? "NONE"}</state>`;
  }
  if (flow.timeout !== undefined) s += `<timeout>${flow.timeout}</timeout>`;
  if (flow.mark !== undefined) s += `<mark>${flow.mark}</mark>`;
  if (options.labels?.size && flow.labels !== undefined) {
    s += `<labels>${labelNames(flow, options.labels).map((n) => `<label>${n}</label>`).join("")}</labels>`;
  }
  if (flow.secmark !== undefined) s += `<secmark>${flow.secmark}</secmark>`;
  if (flow.secctx !== undefined) s += `<secctx>${flow.secctx}</secctx>`;
  if (flow.zone !== undefined) s += `<zone>${flow.zone}</zone>`;
  if (flow.use !== undefined) s += `<use>${flow.use}</use>`;
  if (flow.id !== undefined) s += `<id>${flow.id}</id>`;
  if (status !== undefined && status & S.IPS_ASSURED) s += "<assured/>";
  if (status !== undefined && !(status & S.IPS_SEEN_REPLY)) s += "<unreplied/>";
  if (options.ktimestamp && ts) {
    s += `<timestamp><start>${ts.start}</start>`;
    if (ts.stop !== undefined) s += `<stop>${ts.stop}</stop>`;
    s += "</timestamp>";
  }
  if (ts) {
    const d = ts.stop !== undefined ? (ts.stop - ts.start) / 1_000_000_000n : deltaSeconds(flow, options.now);
    s += `<deltatime>${d}</deltatime>`;
  }
  if (independent) s += "</meta>";
  if (options.event && options.timestamp) {
    const d = new Date(options.now ?? Date.now());
    s += `<when><hour>${d.getHours()}</hour><min>${pad2(d.getMinutes())}</min><sec>${pad2(d.getSeconds())}</sec>` +
      `<wday>${d.getDay() + 1}</wday><day>${d.getDate()}</day><month>${d.getMonth() + 1}</month>` +
      `<year>${d.getFullYear()}</year></when>`;
  }
  if (flow.helper !== undefined) s += `<helper>${flow.helper}</helper>`;
  return s + "</flow>";
}

/**
 * Parses `connlabel.conf` text (`/etc/xtables/connlabel.conf`: `bit name` per line) the way
 * libnetfilter_conntrack does: `#` comments, bit numbers in C notation below 1024, names of
 * letters, digits, spaces and dashes; the first line for a bit or a name wins.
 */
export function parseConnlabelConf(text: string): Map<number, string> {
  const map = new Map<number, string>();
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    // strtoul(s, &end, 0): optional leading whitespace, then 0x…, 0…, or decimal.
    const m = /^[ \t\f\r\v]*(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(line);
    if (!m) continue;
    const tok = m[1];
    const bit = /^0[xX]/.test(tok) ? parseInt(tok.slice(2), 16) : tok.length > 1 && tok[0] === "0" ? parseInt(tok, 8) : Number(tok);
    if (bit >= 1024 || map.has(bit)) continue;
    const name = line.slice(m[0].length).replace(/^[ \f\r\t\v]+/, "").replace(/[ \f\r\t\v]+$/, "");
    if (!name || !/^[a-zA-Z0-9 -]+$/.test(name) || names.has(name)) continue;
    map.set(bit, name);
    names.add(name);
  }
  return map;
}
