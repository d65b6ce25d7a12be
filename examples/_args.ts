/**
 * The command line every example shares: `-h`/`--help` prints the usage and exits 0 before
 * anything is touched (no socket, no namespace); an unknown option exits 2 with a hint.
 * @module
 */
import { host } from "../mod.ts";

/** An example's options: flags without a value, and options that take one. */
export interface ExampleOptions {
  /** Options without a value, e.g. `["--json"]`. */
  flags?: string[];
  /** Options that take a value (`--port 53` or `--port=53`), e.g. `["--port"]`. */
  values?: string[];
  /** How many other arguments it takes at most (default 0). */
  positional?: number;
}

/** What the command line held. */
export interface ExampleArgs {
  /** The flags given. */
  flags: Set<string>;
  /** The values given, by option (the last one when repeated). */
  values: Map<string, string>;
  /** The other arguments, in order (everything after `--` too). */
  positional: string[];
}

/**
 * Prints `message` (after the example's name) and the synopsis (the usage up to its first blank line) on stderr, then a
 * hint to `--help`; exits 2.
 */
export function usageError(usage: string, message: string): never {
  const synopsis = usage.split("\n\n")[0].trimEnd();
  const name = /^usage: (\S+)/.exec(usage)?.[1] ?? "usage";
  host.writeText(2, `${name}: ${message}\n${synopsis}\n(--help for more)\n`);
  return host.exit(2);
}

/**
 * Parses the example's arguments; on `-h`/`--help` prints `usage` on stdout and exits 0, on an
 * unknown option, a missing value or too many other arguments prints the problem and `usage` on stderr and exits 2.
 * `usage` starts with the synopsis (`usage: NAME.ts ...`), then a blank line and the rest, and
 * ends with a newline.
 */
export function exampleArgs(usage: string, o: ExampleOptions = {}): ExampleArgs {
  const argv = host.args();
  const a: ExampleArgs = { flags: new Set(), values: new Map(), positional: [] };
  if (argv.includes("-h") || argv.includes("--help")) {
    host.writeText(1, usage);
    host.exit(0);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      a.positional.push(...argv.slice(i + 1));
      break;
    }
    // A negative number is a value, not an option (the example says whether it may be one).
    if (!arg.startsWith("-") || /^-\d/.test(arg)) {
      a.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (o.flags?.includes(name) && eq < 0) a.flags.add(name);
    else if (o.values?.includes(name)) {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) usageError(usage, `${name} needs a value`);
      a.values.set(name, v);
    } else usageError(usage, `unknown option ${arg}`);
  }
  const extra = a.positional[o.positional ?? 0];
  if (extra !== undefined) usageError(usage, `unexpected argument ${extra}`);
  return a;
}
