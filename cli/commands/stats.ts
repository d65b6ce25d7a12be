/**
 * `-C` (the number of entries) and `-S` (per-CPU statistics) of the conntrack table, as
 * conntrack prints them or as JSON lines (`-o json`, nfct's own).
 * @module
 */
import type { Args } from "../command.ts";
import type { CliContext } from "../context.ts";
import { failed } from "../errors.ts";
import { countLine, cpuStatsLine } from "../json.ts";

/** -C: the number of entries, alone on a line (or its JSON line). */
export function count(ctx: CliContext, args: Pick<Args, "output">): number {
  let n: number;
  try {
    n = ctx.ct().count();
  } catch (e) {
    throw failed(e, "count");
  }
  ctx.out.line(args.output.has("json") ? countLine(n) : String(n));
  ctx.out.flush();
  return 0;
}

/** -S: one line per CPU, as conntrack prints them (or JSON lines). */
export function stats(ctx: CliContext, args: Pick<Args, "output">): number {
  const json = args.output.has("json");
  try {
    for (const s of ctx.ct().stats()) {
      if (json) {
        ctx.out.line(cpuStatsLine(s));
        continue;
      }
      ctx.out.line(
        `cpu=${
          String(s.cpu).padEnd(4)
        }\tfound=${s.found} invalid=${s.invalid} insert=${s.insert} ` +
          `insert_failed=${s.insertFailed} drop=${s.drop} early_drop=${s.earlyDrop} ` +
          `error=${s.error} search_restart=${s.searchRestart} ` +
          `clash_resolve=${s.clashResolve} chaintoolong=${s.chainTooLong} `,
      );
    }
  } catch (e) {
    throw failed(e, "stats");
  }
  ctx.out.flush();
  return 0;
}
