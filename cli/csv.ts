/**
 * `-o csv` of `-L` (flows) and `-L expect`: a header line, then one line per entry. Each column
 * is named after the field of the `-o json` line it holds (a dotted path: `orig.sport`,
 * `counters.reply.bytes`), in a fixed order; an absent field is an empty cell; a list (`status`,
 * `labels`, `flags`) is its items separated by spaces. Cells are quoted as RFC 4180 says (a
 * cell holding `,`, `"`, CR or LF is put in double quotes, its `"` doubled); lines end with LF.
 * docs/output.md lists the columns.
 * @module
 */
import { type Expectation, expectToJSON, type Flow, flowToJSON } from "../mod.ts";

/** The fields of a tuple, as `flowToJSON` writes them (orig, reply, master, expectation tuples). */
const TUPLE = ["src", "dst", "sport", "dport", "type", "code", "id", "srcKey", "dstKey", "zone"];

/** The fields of a master tuple and of an expectation's NAT tuple (a port-based protocol). */
const PORTS = ["src", "dst", "sport", "dport"];

const under = (prefix: string, names: readonly string[]) => names.map((n) => `${prefix}.${n}`);

/** The columns of `-L -o csv`, in order. */
export const FLOW_CSV_COLUMNS: readonly string[] = [
  "family",
  "proto",
  ...under("orig", TUPLE),
  ...under("reply", TUPLE),
  "status",
  "timeout",
  "mark",
  "secmark",
  "zone",
  "id",
  "use",
  "tcp.state",
  "sctp.state",
  "dccp.state",
  "counters.orig.packets",
  "counters.orig.bytes",
  "counters.reply.packets",
  "counters.reply.bytes",
  "timestamp.start",
  "timestamp.stop",
  "labels",
  "helper",
  "secctx",
  "master.proto",
  ...under("master", PORTS),
];

/** The columns of `-L expect -o csv`, in order. */
export const EXPECT_CSV_COLUMNS: readonly string[] = [
  "family",
  "proto",
  "master.proto",
  ...under("master", PORTS),
  ...under("tuple", TUPLE),
  ...under("mask", TUPLE),
  "timeout",
  "id",
  "helper",
  "zone",
  "flags",
  "class",
  "nat.dir",
  ...under("nat.tuple", PORTS),
  "fn",
];

/** One cell, quoted when RFC 4180 asks for it. */
export function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The header line of `columns`. */
export function csvHeader(columns: readonly string[]): string {
  return columns.map(csvCell).join(",");
}

/** The value at a dotted path of a JSON object, as a cell's text ("" when absent). */
function cellOf(o: Record<string, unknown>, path: readonly string[]): string {
  let v: unknown = o;
  for (const k of path) {
    if (v === null || typeof v !== "object") return "";
    v = (v as Record<string, unknown>)[k];
  }
  if (v === undefined || v === null) return "";
  return Array.isArray(v) ? v.join(" ") : String(v);
}

/** The line of a JSON object under `columns`. */
function csvLine(o: Record<string, unknown>, paths: readonly (readonly string[])[]): string {
  let line = "";
  for (let i = 0; i < paths.length; i++) {
    if (i) line += ",";
    line += csvCell(cellOf(o, paths[i]));
  }
  return line;
}

const FLOW_PATHS = FLOW_CSV_COLUMNS.map((c) => c.split("."));
const EXPECT_PATHS = EXPECT_CSV_COLUMNS.map((c) => c.split("."));

/** A flow's line of `-L -o csv` (the cells of its `flowToJSON` object). */
export function flowCsv(f: Flow): string {
  return csvLine(flowToJSON(f), FLOW_PATHS);
}

/** An expectation's line of `-L expect -o csv` (the cells of its `expectToJSON` object). */
export function expectCsv(e: Expectation): string {
  return csvLine(expectToJSON(e), EXPECT_PATHS);
}
