/**
 * Shared by the CLI parsing tests: a fixed label map and parse helpers.
 * @module
 */
import type { Command } from "../../../cli/command.ts";
import { parseArgs, type ParseContext } from "../../../cli/parse.ts";

/** The label map the tests parse with (as a connlabel.conf with `0 foo`, `1 bar`, `200 big`). */
export const LABELS: ReadonlyMap<number, string> = new Map([[0, "foo"], [1, "bar"], [200, "big"]]);

/** A context with {@link LABELS} and no /etc/protocols. */
export const CONTEXT: ParseContext = {
  labelMap: () => LABELS,
  protoNumber: () => undefined,
};

/** A command line split on blanks (no quoting needed by the tests). */
export function words(line: string): string[] {
  return line.split(/\s+/).filter((w) => w !== "");
}

/** parseArgs of `line` with {@link CONTEXT}. */
export function parse(line: string): Command {
  return parseArgs(words(line), CONTEXT);
}
