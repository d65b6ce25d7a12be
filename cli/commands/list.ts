/**
 * `-L` (the table, `dying`, `unconfirmed`, `-z`) and `-G` of the conntrack table.
 * @module
 */
import { compileFilter, type Flow, type TextChunk, XML_FOOTER, XML_HEADER } from "../../mod.ts";
import type { Args, Table } from "../command.ts";
import type { CliContext } from "../context.ts";
import { err2str, failed, otherError, paramError } from "../errors.ts";
import { COMPARISON } from "../matrix.ts";
import { csvHeaderOf, flowPrinter, lineFormat } from "../print.ts";
import { Progress } from "../progress.ts";
import { checkMasks, protoOf, type Selection, selection, selectsAll } from "../selection.ts";
import { tuples } from "../tuples.ts";

/**
 * The lines -L prints: `Conntrack.text()` when the output is plain lines and the library can
 * select every entry itself (it then makes them from the kernel's bytes where it can), else
 * each selected flow through conntrack's printer (the dying and unconfirmed lists take no
 * filter: it is applied here, as conntrack's dump callback does). `whole`: every entry of the
 * table is listed (a progress line can then show a total).
 */
function listing(
  ctx: CliContext,
  args: Args,
  table: Table,
): { lines?: Iterable<string>; text?: Iterable<TextChunk>; whole: boolean } {
  const sel = selection(args, true);
  const zero = args.given.has("zero");
  const fmt = lineFormat(args);
  if (table === "conntrack" && fmt) {
    const text = ctx.ct().text(sel.filter, { zero }, fmt);
    return { text, whole: !zero && selectsAll(sel) };
  }
  const print = flowPrinter(args, "dump", ctx.shownLabels(args));
  let flows: Iterable<Flow>;
  if (table === "dying" || table === "unconfirmed") {
    const all = table === "dying" ? ctx.ct().dying() : ctx.ct().unconfirmed();
    const cf = compileFilter(sel.filter);
    flows = cf.empty ? all : filtered(all, (f) => cf.match(f));
  } else if (zero) {
    flows = ctx.ct().dump(sel.filter, { zero });
  } else {
    flows = dumped(ctx, sel);
  }
  return { lines: mapped(flows, print), whole: false };
}

/** The flows of the table `sel` selects (read ahead on a big table, dump()'s default). */
export function dumped(ctx: CliContext, sel: Selection): Iterable<Flow> {
  return ctx.ct().dump(sel.filter);
}

function filtered(
  flows: Iterable<Flow>,
  where: ((f: Flow) => boolean) | undefined,
): Iterable<Flow> {
  if (!where) return flows;
  return (function* () {
    for (const f of flows) if (where(f)) yield f;
  })();
}

function* mapped(flows: Iterable<Flow>, print: (f: Flow) => string): Generator<string> {
  for (const f of flows) yield print(f);
}

/** -L [conntrack|dying|unconfirmed]: prints the entries and "N flow entries have been shown." */
export function list(ctx: CliContext, args: Args, table: Table): number {
  const out = ctx.out;
  if (table === "conntrack") {
    // conntrack checks these for the table only (its dying/unconfirmed dumps return first).
    if (args.given.has("zero") && COMPARISON.some((o) => args.given.has(o))) {
      throw paramError("Can't use -z with filtering parameters");
    }
    checkMasks(args);
  }
  const xml = args.output.has("xml") && !args.output.has("save");
  const header = csvHeaderOf(args, false);
  if (header) out.line(header);
  let progress: Progress | undefined;
  let n = 0;
  try {
    const { lines, text, whole } = listing(ctx, args, table);
    progress = new Progress(out, "listed", whole ? () => ctx.ct().count() : undefined);
    for (const chunk of text ?? []) {
      out.text(chunk.bytes);
      progress.tick(n += chunk.lines);
    }
    for (const line of lines ?? []) {
      if (xml && n === 0) out.line(XML_HEADER);
      out.line(line);
      progress.tick(++n);
    }
  } catch (e) {
    progress?.done();
    out.flush();
    throw failed(e, "list");
  }
  progress?.done();
  if (xml && n > 0) out.line(XML_FOOTER);
  out.flush();
  out.summary(`${n} flow entries have been shown.`);
  return 0;
}

/** -G: the entry the tuple names, printed as -L prints it. */
export function get(ctx: CliContext, args: Args): number {
  const { orig, reply } = tuples(args);
  let f: Flow | undefined;
  try {
    f = ctx.ct().get({
      family: args.family,
      proto: protoOf(args),
      orig,
      reply: orig ? undefined : reply,
      zone: args.zone,
      id: args.id,
    });
  } catch (e) {
    throw failed(e, "get");
  }
  if (!f) throw otherError(`Operation failed: ${err2str("ENOENT", "get")}`);
  const o = args.output;
  // conntrack prints no footer after -G
  if (o.has("xml") && !o.has("save") && !o.has("json")) ctx.out.line(XML_HEADER);
  ctx.out.line(flowPrinter(args, "dump", ctx.shownLabels(args))(f));
  ctx.out.flush();
  ctx.out.summary("1 flow entries have been shown.");
  return 0;
}
