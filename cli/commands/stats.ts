/**
 * `-C` (the number of entries) and `-S` (per-CPU statistics) of the conntrack table, as
 * conntrack prints them or as JSON lines (`-o json`, nfct's own); the printers serve the expect
 * table's `-C expect` and `-S expect` too.
 * @module
 */
import type { CpuStats } from "../../mod.ts";
import type { Args } from "../command.ts";
import type { CliContext } from "../context.ts";
import { failed } from "../errors.ts";
import { countLine, cpuStatsLine } from "../json.ts";

/**
 * Prints the number `read` returns alone on a line (or its JSON line); a failure is reported as
 * conntrack reports `-C` (of the expect table, with `expect`).
 */
export function printCount(
  ctx: CliContext,
  args: Pick<Args, "output">,
  read: () => number,
  expect = false,
): number {
  let n: number;
  try {
    n = read();
  } catch (e) {
    throw failed(e, "count", expect);
  }
  ctx.out.line(args.output.has("json") ? countLine(n) : String(n));
  ctx.out.flush();
  return 0;
}

/**
 * Prints one line per CPU of what `read` returns: `line.text` as conntrack prints it, or
 * `line.json` with `-o json`; a failure is reported as conntrack reports `-S` (of the expect
 * table, with `expect`).
 */
export function printPerCpu<S>(
  ctx: CliContext,
  args: Pick<Args, "output">,
  read: () => Iterable<S>,
  line: { text(s: S): string; json(s: S): string },
  expect = false,
): number {
  const format = args.output.has("json") ? line.json : line.text;
  try {
    for (const s of read()) ctx.out.line(format(s));
  } catch (e) {
    throw failed(e, "stats", expect);
  }
  ctx.out.flush();
  return 0;
}

/** -C: the number of entries, alone on a line (or its JSON line). */
export function count(ctx: CliContext, args: Pick<Args, "output">): number {
  return printCount(ctx, args, () => ctx.ct().count());
}

/** The line conntrack prints for one CPU with `-S`. */
function cpuStatsText(s: CpuStats): string {
  return `cpu=${String(s.cpu).padEnd(4)}\tfound=${s.found} invalid=${s.invalid} ` +
    `insert=${s.insert} insert_failed=${s.insertFailed} drop=${s.drop} ` +
    `early_drop=${s.earlyDrop} error=${s.error} search_restart=${s.searchRestart} ` +
    `clash_resolve=${s.clashResolve} chaintoolong=${s.chainTooLong} `;
}

/** -S: one line per CPU, as conntrack prints them (or JSON lines). */
export function stats(ctx: CliContext, args: Pick<Args, "output">): number {
  return printPerCpu(ctx, args, () => ctx.ct().stats(), {
    text: cpuStatsText,
    json: cpuStatsLine,
  });
}
