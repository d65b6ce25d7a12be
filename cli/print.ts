/**
 * How each command prints an entry: conntrack's `-o` types through `formatFlow` and
 * `formatExpect`, or nfct's `-o json` (json.ts) and `-o csv` (csv.ts).
 * @module
 */
import {
  type Expectation,
  type Flow,
  formatExpect,
  formatFlow,
  type FormatOptions,
  type LabelMap,
} from "../mod.ts";
import type { Args } from "./command.ts";
import { csvHeader, EXPECT_CSV_COLUMNS, expectCsv, FLOW_CSV_COLUMNS, flowCsv } from "./csv.ts";
import { expectLine, flowLine } from "./json.ts";
import { loadsLabelMap } from "./labels.ts";

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
 * The `-o` types of a listing that `Conntrack.text()` prints (plain lines: default, `extended`,
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
  if (o.has("json")) return flowLine;
  if (o.has("csv")) return flowCsv;
  if (o.has("save")) {
    const event = kind === "delete" ? "destroy" : undefined;
    return (f) => formatFlow(f, { save: true, event });
  }
  const opts: FormatOptions = { xml: o.has("xml"), extended: o.has("extended"), id: o.has("id") };
  if (kind === "dump") opts.ktimestamp = o.has("ktimestamp");
  if (kind !== "delete" && labels) opts.labels = labels;
  return (f) => formatFlow(f, opts);
}

/** How expectations print: conntrack honours only `xml` and `timestamp` for them; or JSON, CSV. */
export function expectPrinter(
  args: Pick<Args, "output">,
): (e: Expectation, event?: "new" | "destroy") => string {
  const o = args.output;
  if (o.has("json")) return expectLine;
  if (o.has("csv")) return expectCsv;
  return (e, event) =>
    formatExpect(e, {
      xml: o.has("xml"),
      timestamp: o.has("timestamp"),
      event,
      now: wallClockMs(),
    });
}

/** The CSV header line a listing (`-L`, `-L expect`) starts with, when the output is CSV. */
export function csvHeaderOf(args: Pick<Args, "output">, expect: boolean): string | undefined {
  if (!args.output.has("csv")) return undefined;
  return csvHeader(expect ? EXPECT_CSV_COLUMNS : FLOW_CSV_COLUMNS);
}
