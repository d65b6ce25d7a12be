/**
 * {@link formatExpect}: an {@link Expectation} as the line conntrack(8) prints for it
 * (`conntrack -L expect`, `-G expect`, `-E expect`).
 *
 * The text follows conntrack-tools 1.4.7 with libnetfilter_conntrack 1.0.9 byte for byte
 * (`__snprintf_expect_default()` in `src/expect/snprintf_default.c`, `__snprintf_expect_xml()`
 * in `src/expect/snprintf_xml.c`, and the `-o timestamp` prefix of `dump_exp_cb()` /
 * `event_exp_cb()` in conntrack-tools' `src/conntrack.c`), checked against the installed
 * `conntrack -L expect` / `-E expect` by the kernel tests:
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
import type { Expectation } from "../expect.ts";
import { protoNumber, type Tuple } from "../tuple.ts";
import { eventTag, L3, l4Name, l4Text, l4Xml, lineTuple, stampPrefix, whenXml } from "./parts.ts";

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

const FLAG_ORDER = ["PERMANENT", "INACTIVE", "USERSPACE"] as const;

function flagNames(e: Expectation): string[] {
  return FLAG_ORDER.filter((f) => e.flags?.includes(f));
}

/**
 * The line `conntrack -L expect` (or `-G expect`, `-E expect`) prints for `exp`, without the
 * newline; `-o xml` and `-o timestamp` through `options`.
 *
 * @example
 * ```ts
 * import { Conntrack, formatExpect } from "@nfct/nfct";
 * using ct = Conntrack.open();
 * for (const e of ct.dumpExpect({ family: "ipv4" })) console.log(formatExpect(e));
 * ```
 */
export function formatExpect(exp: Expectation, options: ExpectFormatOptions = {}): string {
  if (options.xml) return formatExpectXml(exp, options);
  const p = protoNumber(exp.proto);
  const mp = protoNumber(exp.master.proto);
  let s = options.timestamp ? stampPrefix(options.now, "spaces") : "";
  if (options.event) s += eventTag(options.event);
  if (exp.timeout !== undefined) s += `${exp.timeout} `;
  const [tuple, mask, master] = [exp.tuple, exp.mask, exp.master].map(lineTuple);
  s += `proto=${p} src=${tuple.src} dst=${tuple.dst}` + l4Text(tuple, p) + " ";
  s += `mask-src=${mask.src} mask-dst=${mask.dst}` + l4Text(mask, p) + " ";
  s += `master-src=${master.src} master-dst=${master.dst}` + l4Text(master, mp) + " ";
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
  const [l3name, l3num] = L3[exp.family === "ipv6" ? 1 : 0];
  const addrs = (t: Tuple) => `<src>${t.src}</src><dst>${t.dst}</dst>`;
  let s = options.event ? `<flow type="${options.event}">` : "<flow>";
  s += `<layer3 protonum="${l3num}" protoname="${l3name}">` +
    `<expected>${addrs(exp.tuple)}</expected><mask>${addrs(exp.mask)}</mask>` +
    `<master>${addrs(exp.master)}</master></layer3>`;
  s += `<layer4 protonum="${p}" protoname="${l4Name(p)}">` +
    `<expected>${l4Xml(lineTuple(exp.tuple), p)}</expected>` +
    `<mask>${l4Xml(lineTuple(exp.mask), p)}</mask>` +
    `<master>${l4Xml(lineTuple(exp.master), mp)}</master></layer4>`;
  s += "<meta>";
  if (exp.helper !== undefined) s += `<helper-name>${exp.helper}</helper-name>`;
  if (exp.timeout !== undefined) s += `<timeout>${exp.timeout}</timeout>`;
  if (exp.zone !== undefined) s += `<zone>${exp.zone}</zone>`;
  if (exp.class !== undefined) s += `<class>${exp.class}</class>`;
  if (options.timestamp) s += whenXml(options.now);
  for (const f of flagNames(exp)) s += `<${f.toLowerCase()}/>`;
  return s + "</meta></flow>";
}
