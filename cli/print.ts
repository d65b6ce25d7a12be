/**
 * How each command prints an entry: conntrack's `-o` types through `formatFlow` and
 * `formatExpect`, or nfct's `-o json`.
 * @module
 */
import {
  type Expectation,
  type Flow,
  flowToJSON,
  formatExpect,
  formatFlow,
  type FormatOptions,
  type LabelMap,
} from "../mod.ts";
import type { Args } from "./command.ts";
import { loadsLabelMap } from "./labels.ts";

/** `JSON.stringify` replacer: BigInts as decimal strings, byte arrays as hex. */
export function jsonReplacer(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array) {
    return Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return v;
}

/**
 * Wall-clock "now" in milliseconds with a microsecond fraction, for `-E -o timestamp`: conntrack
 * prints gettimeofday()'s microseconds; Date.now() has whole milliseconds only. The fraction comes
 * from the high-resolution clock, kept within Date.now()'s millisecond should the two drift apart.
 */
export function wallClockMs(): number {
  const ms = Date.now();
  const hr = performance.timeOrigin + performance.now();
  return Math.abs(hr - ms) < 1 ? hr : ms + (hr - Math.floor(hr));
}

/**
 * The `-o` types of a listing that `Conntrack.lines()` prints (plain lines: default, `extended`,
 * `id`; no label names), as its format; undefined for any other output.
 */
export function lineFormat(
  args: Pick<Args, "given" | "output">,
): { extended: boolean; id: boolean } | undefined {
  if ([...args.output].some((o) => o !== "extended" && o !== "id")) return undefined;
  if (loadsLabelMap(args.given, args.output)) return undefined;
  return { extended: args.output.has("extended"), id: args.output.has("id") };
}

/**
 * What conntrack's callbacks print for each command: `-L`/`-G` (all flags), `-D`, `-U`.
 * `labels`: the label map, when conntrack loaded it (then entries show their label names).
 */
export function flowPrinter(
  args: Pick<Args, "output">,
  kind: "dump" | "delete" | "update",
  labels: LabelMap | undefined,
): (f: Flow) => string {
  const o = args.output;
  if (o.has("json")) return (f) => JSON.stringify(flowToJSON(f));
  if (o.has("save")) {
    const event = kind === "delete" ? "destroy" : undefined;
    return (f) => formatFlow(f, { save: true, event });
  }
  const opts: FormatOptions = { xml: o.has("xml"), extended: o.has("extended"), id: o.has("id") };
  if (kind === "dump") opts.ktimestamp = o.has("ktimestamp");
  if (kind !== "delete" && labels) opts.labels = labels;
  return (f) => formatFlow(f, opts);
}

/** How expectations print: conntrack honours only `xml` and `timestamp` for them; or JSON. */
export function expectPrinter(
  args: Pick<Args, "output">,
): (e: Expectation, event?: "new" | "destroy") => string {
  const o = args.output;
  if (o.has("json")) return (e) => JSON.stringify(e, jsonReplacer);
  return (e, event) =>
    formatExpect(e, {
      xml: o.has("xml"),
      timestamp: o.has("timestamp"),
      event,
      now: wallClockMs(),
    });
}
