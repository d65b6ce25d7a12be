/**
 * `-D` (each deleted entry printed) and `-F` (the whole table, or, nfct extension, what the
 * filters of -D select) on the conntrack table.
 * @module
 */
import type { Flow, FlushOptions } from "../../mod.ts";
import type { Args } from "../command.ts";
import type { CliContext } from "../context.ts";
import { failed, OTHER_PROBLEM } from "../errors.ts";
import { flowPrinter } from "../print.ts";
import { Progress } from "../progress.ts";
import { checkMasks, flowKey, selection, selectsAll } from "../selection.ts";
import { dumped } from "./list.ts";

/**
 * -D: streams the matching entries and deletes them in pipelined batches (the library copies
 * each delete from the dump datagram); an entry is printed once its delete succeeded.
 * "N flow entries have been deleted." (exit 1 when none was); `quiet` inside -R.
 */
export function deleteFlows(ctx: CliContext, args: Args, quiet = false): number {
  checkMasks(args);
  const out = ctx.out;
  const print = flowPrinter(args, "delete", undefined);
  const sel = selection(args, true);
  const whole = selectsAll(sel);
  const progress = new Progress(out, "deleted", whole ? () => ctx.ct().count() : undefined, quiet);
  let seen = 0;
  let deleted: number | undefined;
  try {
    const opts: FlushOptions = {
      via: "dump",
      onDeleted: (f: Flow) => {
        if (!quiet) out.line(print(f));
        progress.tick(++seen);
      },
    };
    if (sel.extra) opts.where = sel.extra;
    const c = ctx.ct();
    deleted =
      (Object.keys(sel.filter).length ? c.flush(sel.filter, opts) : c.flushAll(opts)).deleted;
  } catch (e) {
    progress.done();
    out.flush();
    throw failed(e, "delete");
  }
  progress.done();
  out.flush();
  if (quiet) return 0;
  out.summary(`${deleted} flow entries have been deleted.`);
  return deleted === 0 ? OTHER_PROBLEM : 0;
}

/**
 * -F: the whole table (or one family) in one kernel request ("connection tracking table has
 * been emptied."), or (nfct extension) the entries the filters select, deleted in the kernel
 * when it can apply them, else after a dump ("N flow entries have been deleted.").
 */
export function flush(ctx: CliContext, args: Args, quiet = false): number {
  const sel = selection(args, true);
  const onlyFamily = Object.keys(sel.filter).every((k) => k === "family") && !sel.extra;
  let n: number | undefined;
  try {
    const c = ctx.ct();
    if (onlyFamily && args.family) c.flush({ family: args.family });
    else if (onlyFamily) c.flushAll();
    else if (!sel.extra) n = c.flush(sel.filter).deleted;
    else n = c.deleteMany(Array.from(dumped(ctx, sel), flowKey)).deleted; // collected first: one client
  } catch (e) {
    throw failed(e, "flush");
  }
  if (quiet) return 0;
  ctx.out.summary(
    onlyFamily
      ? "connection tracking table has been emptied."
      : n === undefined
      ? "the flow entries that match have been deleted in the kernel, which does not count them."
      : `${n} flow entries have been deleted.`,
  );
  return 0;
}
