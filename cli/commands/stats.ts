/**
 * `-C` (the number of entries) and `-S` (per-CPU statistics) of the conntrack table.
 * @module
 */
import type { CliContext } from "../context.ts";
import { failed } from "../errors.ts";

/** -C: the number of entries, alone on a line. */
export function count(ctx: CliContext): number {
  let n: number;
  try {
    n = ctx.ct().count();
  } catch (e) {
    throw failed(e, "count");
  }
  ctx.out.line(String(n));
  ctx.out.flush();
  return 0;
}

/** -S: one line per CPU, as conntrack prints them. */
export function stats(ctx: CliContext): number {
  try {
    for (const s of ctx.ct().stats()) {
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
