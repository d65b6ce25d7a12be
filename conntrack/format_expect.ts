/**
 * {@link formatExpect}: an {@link Expectation} as the line conntrack(8) prints for it
 * (`conntrack -L expect`, `-G expect`, `-E expect`).
 *
 * The text follows conntrack-tools 1.4.7 with libnetfilter_conntrack 1.0.9 byte for byte
 * (`__snprintf_expect_default()` in `src/expect/snprintf_default.c`, `__snprintf_expect_xml()`
 * in `src/expect/snprintf_xml.c`, and the `-o timestamp` prefix of `dump_exp_cb()` /
 * `event_exp_cb()` in conntrack-tools' `src/conntrack.c`), checked against the installed
 * `conntrack -L expect` / `-E expect` in `test/kernel/cli_expect_test.ts`:
 *
 * ```
 * 299 proto=6 src=10.40.1.1 dst=10.40.0.1 sport=0 dport=50001 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.40.0.1 master-dst=10.40.1.1 sport=40001 dport=21 PERMANENT class=0 helper=ftp
 *     [NEW] 300 proto=6 src=…
 * ```
 *
 * - the ports of the mask are printed with the expected tuple's protocol, those of the master
 *   with the master's (a UDP expectation of a TCP master prints both kinds);
 * - flags are `PERMANENT`, `INACTIVE`, `USERSPACE`, comma-separated, before `class=`;
 * - NAT (`CTA_EXPECT_NAT`) and the expect function (`CTA_EXPECT_FN`) are not printed;
 * - `-o timestamp` prefixes `[seconds.micros]\t` padded with spaces on the right
 *   (`%-8ld.%-6ld`, unlike flow events' zero-padded `%-.8ld.%-.6ld`), or in XML a `<when>`
 *   element; every other `-o` type is ignored for expectations.
 * @module
 */
import type { Expectation } from "./expect.ts";
import { protoNumber, type Tuple } from "./tuple.ts";

/** Which conntrack(8) output options to mirror for an expectation. */
export interface ExpectFormatOptions {
  /** `-o xml`: one `<flow>` element (wrap lines in {@link EXPECT_XML_HEADER} / {@link EXPECT_XML_FOOTER}). */
  xml?: boolean;
  /** `-o timestamp`: a `[seconds.micros]\t` prefix, or with `xml` a `<when>` element. */
  timestamp?: boolean;
  /** Format as an event (`conntrack -E expect`): `[NEW]` / `[DESTROY]` prefix, XML `type=`. */
  event?: "new" | "update" | "destroy";
  /** "Now" in milliseconds since the epoch for the timestamp (default `Date.now()`). */
  now?: number;
}

/** The lines conntrack prints before XML expectations (only when there is at least one). */
export const EXPECT_XML_HEADER = '<?xml version="1.0" encoding="utf-8"?>\n<expect>';
/** The line conntrack prints after XML expectations. */
export const EXPECT_XML_FOOTER = "</expect>";

// libnetfilter_conntrack __proto2str(): everything else is "unknown".
const L4_NAMES: Record<number, string> = {
  6: "tcp", 17: "udp", 136: "udplite", 1: "icmp", 58: "icmpv6", 132: "sctp", 47: "gre", 33: "dccp",
};
const PORT_PROTOS = new Set([6, 17, 136, 132, 33]);
const FLAG_ORDER = ["PERMANENT", "INACTIVE", "USERSPACE"] as const;

const pad2 = (n: number) => (n < 10 ? "0" : "") + n;

/** `__snprintf_proto()`: the layer-4 part of a tuple, by protocol number. */
function l4(t: Tuple, p: number): string {
  if (PORT_PROTOS.has(p)) return `sport=${t.sport ?? 0} dport=${t.dport ?? 0} `;
  if (p === 47) return `srckey=0x${(t.srcKey ?? 0).toString(16)} dstkey=0x${(t.dstKey ?? 0).toString(16)} `;
  if (p === 1 || p === 58) return `type=${t.type ?? 0} code=${t.code ?? 0} id=${t.id ?? 0} `;
  return "";
}

function l4Xml(t: Tuple, p: number): string {
  if (PORT_PROTOS.has(p)) return `<sport>${t.sport ?? 0}</sport><dport>${t.dport ?? 0}</dport>`;
  if (p === 47) return `<srckey>0x${(t.srcKey ?? 0).toString(16)}</srckey><dstkey>0x${(t.dstKey ?? 0).toString(16)}</dstkey>`;
  return "";
}

/** printf("[%-8ld.%-6ld]\t"): seconds and microseconds, each left-justified in spaces. */
function stamp(now: number | undefined): string {
  const ms = now ?? Date.now();
  const sec = Math.floor(ms / 1000);
  const usec = Math.floor((ms - sec * 1000) * 1000);
  return `[${String(sec).padEnd(8)}.${String(usec).padEnd(6)}]\t`;
}

function flagNames(e: Expectation): string[] {
  return FLAG_ORDER.filter((f) => e.flags?.includes(f));
}

/**
 * The line `conntrack -L expect` (or `-G expect`, `-E expect`) prints for `exp`, without the
 * newline; `-o xml` and `-o timestamp` through `options`.
 *
 * @example
 * ```ts
 * import { Conntrack, formatExpect } from "./mod.ts";
 * using ct = Conntrack.open();
 * for (const e of ct.dumpExpect({ family: "ipv4" })) console.log(formatExpect(e));
 * ```
 */
export function formatExpect(exp: Expectation, options: ExpectFormatOptions = {}): string {
  if (options.xml) return formatExpectXml(exp, options);
  const p = protoNumber(exp.proto);
  const mp = protoNumber(exp.master.proto);
  let s = options.timestamp ? stamp(options.now) : "";
  if (options.event) s += `[${options.event.toUpperCase()}]`.padStart(9) + " ";
  if (exp.timeout !== undefined) s += `${exp.timeout} `;
  s += `proto=${p} src=${exp.tuple.src} dst=${exp.tuple.dst} ` + l4(exp.tuple, p);
  s += `mask-src=${exp.mask.src} mask-dst=${exp.mask.dst} ` + l4(exp.mask, p);
  s += `master-src=${exp.master.src} master-dst=${exp.master.dst} ` + l4(exp.master, mp);
  if (exp.zone !== undefined) s += `zone=${exp.zone} `;
  const flags = flagNames(exp);
  if (flags.length) s += flags.join(",") + " ";
  if (exp.class !== undefined) s += `class=${exp.class} `;
  if (exp.helper !== undefined) s += `helper=${exp.helper} `;
  return s.endsWith(" ") ? s.slice(0, -1) : s;
}

function formatExpectXml(exp: Expectation, options: ExpectFormatOptions): string {
  const p = protoNumber(exp.proto);
  const mp = protoNumber(exp.master.proto);
  const [l3name, l3num] = exp.family === "ipv6" ? ["ipv6", 10] : ["ipv4", 2];
  const addrs = (t: Tuple) => `<src>${t.src}</src><dst>${t.dst}</dst>`;
  let s = options.event ? `<flow type="${options.event}">` : "<flow>";
  s += `<layer3 protonum="${l3num}" protoname="${l3name}">` +
    `<expected>${addrs(exp.tuple)}</expected><mask>${addrs(exp.mask)}</mask><master>${addrs(exp.master)}</master></layer3>`;
  s += `<layer4 protonum="${p}" protoname="${L4_NAMES[p] ?? "unknown"}">` +
    `<expected>${l4Xml(exp.tuple, p)}</expected><mask>${l4Xml(exp.mask, p)}</mask><master>${l4Xml(exp.master, mp)}</master></layer4>`;
  s += "<meta>";
  if (exp.helper !== undefined) s += `<helper-name>${exp.helper}</helper-name>`;
  if (exp.timeout !== undefined) s += `<timeout>${exp.timeout}</timeout>`;
  if (exp.zone !== undefined) s += `<zone>${exp.zone}</zone>`;
  if (exp.class !== undefined) s += `<class>${exp.class}</class>`;
  if (options.timestamp) {
    const d = new Date(options.now ?? Date.now());
    s += `<when><hour>${d.getHours()}</hour><min>${pad2(d.getMinutes())}</min><sec>${pad2(d.getSeconds())}</sec>` +
      `<wday>${d.getDay() + 1}</wday><day>${d.getDate()}</day><month>${d.getMonth() + 1}</month>` +
      `<year>${d.getFullYear()}</year></when>`;
  }
  for (const f of flagNames(exp)) s += `<${f.toLowerCase()}/>`;
  return s + "</meta></flow>";
}
