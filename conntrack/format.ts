/**
 * The conntrack(8) output formatters: {@link formatFlow} (a typed flow), {@link formatWire} (a
 * ctnetlink message's bytes, the fast path of big listings), {@link formatExpect} (an
 * expectation), and {@link parseConnlabelConf} for `-o labels`. The code lives in
 * `conntrack/format/`:
 *
 * | file | writes |
 * |---|---|
 * | `line.ts` | the `conntrack -L` text of a `FlowLine`: the one line builder |
 * | `xml.ts` | the `-o xml` element of a `FlowLine` |
 * | `flow.ts` | `formatFlow`: a typed `Flow` gathered into a `FlowLine` |
 * | `wire.ts` | `formatWire`: a message's attributes gathered into a `FlowLine` |
 * | `save.ts` | `-o save` |
 * | `expect.ts` | expectations |
 * | `parts.ts` | what flows and expectations share: names, layer-4 fields, stamps |
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
 * import { Conntrack, formatFlow } from "@nfct/nfct";
 * using ct = Conntrack.open();
 * for (const f of ct.dump()) console.log(formatFlow(f, { extended: true, id: true }));
 * ```
 * @module
 */
export { formatFlow } from "./format/flow.ts";
export { formatWire } from "./format/wire.ts";
export {
  EXPECT_XML_FOOTER,
  EXPECT_XML_HEADER,
  type ExpectFormatOptions,
  formatExpect,
} from "./format/expect.ts";
export { type LabelMap, parseConnlabelConf } from "./format/labels.ts";
export { type FormatOptions, XML_FOOTER, XML_HEADER } from "./format/options.ts";
