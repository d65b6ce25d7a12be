/**
 * The `nfct` command: `nfct metrics ...`, `nfct top ...`, nfct(8)'s `nfct timeout|helper ...`, and otherwise
 * conntrack(8)'s command line. Everything a run holds is created here, per call.
 * @module
 */
import { CliContext } from "./context.ts";
import { CliError, failed, PARAMETER_PROBLEM } from "./errors.ts";
import { parseArgs } from "./parse.ts";
import { run } from "./run.ts";
import { PREFIX, PROG, VERSION } from "./version.ts";

/** Prints `e` as conntrack does (after the warnings parsing gave); returns its exit code. */
function report(ctx: CliContext, e: unknown): number {
  ctx.out.flush();
  const x = e instanceof CliError ? e : failed(e);
  for (const w of x.warnings) ctx.out.err(w);
  ctx.out.err(PREFIX + x.message + "\n");
  if (x.code === PARAMETER_PROBLEM) {
    ctx.out.err(`Try \`${PROG} -h' or '${PROG} --help' for more information.\n`);
  }
  return x.code;
}

/**
 * Runs one command line (`argv` without the program name) and returns the exit code; output
 * goes to the process's stdout and stderr. `-E` and `nfct metrics --listen` run until a signal.
 */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "metrics") return (await import("./metrics.ts")).main(argv.slice(1), VERSION);
  if (argv[0] === "top") return (await import("./top.ts")).top(argv.slice(1));
  if (argv[0] !== undefined && !argv[0].startsWith("-")) {
    const nfct = await import("./nfct/main.ts");
    if (nfct.isNfctCommandLine(argv)) return nfct.main(argv, VERSION);
  }
  const ctx = new CliContext();
  try {
    return await run(ctx, parseArgs(argv, ctx));
  } catch (e) {
    return report(ctx, e);
  } finally {
    ctx.close();
  }
}
