/**
 * `-R FILE` (`--load-file`, `-` for standard input): -I/-A/-U/-D/-F command lines (what `-o
 * save` writes), or flows as JSON lines (what `-o json` writes: a snapshot to restore).
 * @module
 */
import { type Flow, flowFromJSON, host } from "../../mod.ts";
import type { Args, Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { failed, paramError } from "../errors.ts";
import { COMMAND_LETTERS } from "../matrix.ts";
import { parseCommandLine, type ParseContext } from "../parse.ts";
import { Progress } from "../progress.ts";
import { create, newFlow } from "./create.ts";
import { deleteFlows, flush } from "./delete.ts";
import { update } from "./update.ts";

/** conntrack.c add_param_to_argv(): words, double quotes, backslash escapes inside quotes. */
export function splitLine(line: string): string[] {
  const words: string[] = [];
  let cur = "", open = false, esc = false, has = false;
  for (const ch of line) {
    if (open) {
      if (esc) {
        cur += ch;
        esc = false;
      } else if (ch === "\\") esc = true;
      else if (ch === '"') open = false;
      else cur += ch;
      continue;
    }
    if (ch === '"') {
      open = true;
      has = true;
    } else if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      if (cur || has) words.push(cur);
      cur = "";
      has = false;
    } else cur += ch;
  }
  if (cur || has) words.push(cur);
  return words;
}

/** A command a `-R` file may hold. */
export type FileCommand = Args & {
  command: "create" | "add" | "update" | "delete" | "flush";
  table: "conntrack";
};

/** `c` as a {@link FileCommand}, else the error conntrack stops the whole file with (exit 2). */
export function fileCommand(c: Command): FileCommand {
  if ("table" in c && c.table === "conntrack") {
    const command = c.command;
    if (
      command === "create" || command === "add" || command === "update" || command === "delete" ||
      command === "flush"
    ) return { ...c, command, table: c.table };
  }
  let text = "unknown";
  if (c.command !== "usage" && c.command !== "load") {
    text = `-${COMMAND_LETTERS[c.command]}${"table" in c && c.table === "expect" ? " expect" : ""}`;
  }
  throw paramError(`Cannot use command \`${text}' with --load-file`);
}

/** One line of a file: a command, or a flow to restore. */
export type FileLine = FileCommand | { json: Flow };

/**
 * Parses every line of a file (a bad line stops everything before any change). `warn` gets
 * each command line's warnings as it is parsed.
 */
export function parseFile(
  text: string,
  context: ParseContext,
  warn: (line: string) => void,
): FileLine[] {
  const parsed: (Command | { json: Flow })[] = [];
  for (const [n, raw] of text.split("\n").entries()) {
    const line = raw.replace(/^[ \t]+/, "");
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("{")) {
      try {
        parsed.push({ json: flowFromJSON(JSON.parse(line)) });
      } catch (e) {
        throw paramError(
          `line ${n + 1}: not a flow: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      continue;
    }
    const c = parseCommandLine(splitLine(line), context);
    for (const w of c.warnings) warn(w);
    parsed.push(c);
  }
  return parsed.map((c) => ("json" in c ? c : fileCommand(c)));
}

/** The first index from `i` on where `lines` stop being of the kind `same` says. */
function runEnd(lines: readonly FileLine[], i: number, same: (l: FileLine) => boolean): number {
  let j = i;
  while (j < lines.length && same(lines[j])) j++;
  return j;
}

const isCreate = (l: FileLine) => !("json" in l) && (l.command === "create" || l.command === "add");

/**
 * -R: parses the whole file, then runs its lines in order without summaries. Consecutive JSON
 * flows are one `restore()`, consecutive -I/-A lines one pipelined `createMany()`.
 */
export function restore(ctx: CliContext, name: string): number {
  const path = name === "-" ? "/dev/stdin" : name;
  let text: string;
  try {
    text = host.readTextFile(path);
  } catch {
    throw paramError(`Failed to open file ${path} for reading`);
  }
  const lines = parseFile(text, ctx, (w) => ctx.out.err(w));
  const progress = new Progress(ctx.out, "loaded", () => lines.length, true);
  let done = 0;
  for (let i = 0; i < lines.length;) {
    const c = lines[i];
    if ("json" in c) {
      const j = runEnd(lines, i, (l) => "json" in l);
      const flows = lines.slice(i, j).flatMap((l) => ("json" in l ? [l.json] : []));
      try {
        const res = ctx.ct().restore(flows);
        if (res.failed.length) throw res.failed[0].error;
      } catch (e) {
        progress.done();
        throw failed(e, "create");
      }
      done += flows.length;
      progress.tick(done);
      i = j;
      continue;
    }
    if (isCreate(c)) {
      const j = runEnd(lines, i, isCreate);
      const group = lines.slice(i, j).flatMap((l) => ("json" in l ? [] : [l]));
      const flows = group.map(newFlow);
      const lineOf = new Map(flows.map((f, k) => [f, group[k]]));
      try {
        for (const f of ctx.ct().createMany(flows).failed) {
          const line = lineOf.get(f.flow)!;
          if (line.command === "add" && f.error.code === "EEXIST") continue; // -A: already there
          throw failed(f.error, line.command);
        }
      } catch (e) {
        progress.done();
        throw failed(e, "create");
      }
      done += group.length;
      progress.tick(done - (done & 1023));
      i = j;
      continue;
    }
    try {
      if (c.command === "update") update(ctx, c, true);
      else if (c.command === "delete") deleteFlows(ctx, c, true);
      else if (c.command === "flush") flush(ctx, c, true);
      else create(ctx, c, c.command === "add", true);
    } catch (e) {
      progress.done();
      throw failed(e, c.command);
    }
    i++;
    progress.tick(++done);
  }
  progress.done();
  return 0;
}
