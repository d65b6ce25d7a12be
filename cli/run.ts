/**
 * Runs a parsed {@link Command}: the dispatch from command and table to the command families in
 * `commands/`.
 * @module
 */
import type { Command } from "./command.ts";
import {
  countExpect,
  createExpect,
  deleteExpect,
  flushExpect,
  getExpect,
  listExpect,
  statsExpect,
} from "./commands/expect.ts";
import { create } from "./commands/create.ts";
import { deleteFlows, flush } from "./commands/delete.ts";
import { events } from "./commands/events.ts";
import { get, list } from "./commands/list.ts";
import { restore } from "./commands/restore.ts";
import { count, stats } from "./commands/stats.ts";
import { update } from "./commands/update.ts";
import type { CliContext } from "./context.ts";
import { USAGE } from "./usage.ts";
import { PROG, VERSION } from "./version.ts";

/** Runs `cmd` (its parse warnings first); returns the exit code. */
export function run(ctx: CliContext, cmd: Command): number | Promise<number> {
  for (const w of cmd.warnings) ctx.out.err(w);
  switch (cmd.command) {
    case "usage":
    case "help":
      ctx.out.line(USAGE);
      ctx.out.flush();
      return 0;
    case "version":
      ctx.out.line(`${PROG} v${VERSION} (conntrack-tools compatible)`);
      ctx.out.flush();
      return 0;
    case "load":
      return restore(ctx, cmd.file);
  }
  if (cmd.bufferSize !== undefined && cmd.command !== "event") ctx.bufferSize = cmd.bufferSize;
  if (cmd.command === "event") return events(ctx, cmd, cmd.table === "expect");
  if (cmd.table === "expect") {
    switch (cmd.command) {
      case "list":
        return listExpect(ctx, cmd);
      case "get":
        return getExpect(ctx, cmd);
      case "delete":
        return deleteExpect(ctx, cmd);
      case "create":
        return createExpect(ctx, cmd);
      case "flush":
        return flushExpect(ctx);
      case "count":
        return countExpect(ctx, cmd);
      case "stats":
        return statsExpect(ctx, cmd);
    }
  }
  switch (cmd.command) {
    case "list":
      return list(ctx, cmd, cmd.table);
    case "get":
      return get(ctx, cmd);
    case "create":
    case "add":
      return create(ctx, cmd, cmd.command === "add");
    case "update":
      return update(ctx, cmd);
    case "delete":
      return deleteFlows(ctx, cmd);
    case "flush":
      return flush(ctx, cmd);
    case "count":
      return count(ctx, cmd);
    case "stats":
      return stats(ctx, cmd);
  }
}
