/**
 * conntrack(8)'s command line to a typed {@link Command} (conntrack.c `do_parse()`): getopt
 * with abbreviated long options and protocol options after `-p`, then the checks conntrack
 * makes before it talks to the kernel. Pure: no I/O, no process exit; a refusal is a thrown
 * {@link CliError} with conntrack's exit code and message.
 * @module
 */
import type { LabelMap } from "../mod.ts";
import type { Command, Table } from "./command.ts";
import { CliError, paramError } from "./errors.ts";
import { labelBits, loadsLabelMap } from "./labels.ts";
import { checkOptions, COMMAND_LONG, type CommandName } from "./matrix.ts";
import { LONG, type OptSpec, SHORT } from "./options.ts";
import { applyOption, type ArgsBuilder, newArgs } from "./parse_option.ts";
import type { L4Key, ProtoExt } from "./proto/ext.ts";
import { checkProtoOptions, extensionNamed, extensionOf } from "./proto/extensions.ts";
import { strtoul } from "./values.ts";

/** What parsing may look up outside the command line; both are called only when needed. */
export interface ParseContext {
  /** The connection label names (when the command line uses labels). */
  labelMap(): LabelMap;
  /** `getprotobyname(3)`: the number of a protocol name or alias nfct has no extension for. */
  protoNumber(name: string): number | undefined;
}

/** No label names, no protocol names beyond nfct's own: a context for tests. */
export const EMPTY_CONTEXT: ParseContext = {
  labelMap: () => new Map(),
  protoNumber: () => undefined,
};

/**
 * Parses a conntrack(8) command line (`argv` without the program name). `-R FILE` as the
 * first word is {@link Command} `load`; anything else goes to {@link parseCommandLine}.
 * Throws a {@link CliError} for what conntrack refuses.
 *
 * @example
 * ```ts
 * const cmd = parseArgs(["-L", "-p", "udp", "--dport", "53"]);
 * // { command: "list", table: "conntrack", proto: 17, l4: { dport: 53 }, ... }
 * ```
 */
export function parseArgs(argv: readonly string[], context = EMPTY_CONTEXT): Command {
  if (argv.length > 1 && (argv[0] === "-R" || argv[0] === "--load-file")) {
    return { command: "load", file: argv[1], warnings: [] };
  }
  return parseCommandLine(argv, context);
}

/** One command line, as in a `-R` file (where `-R` itself is an unknown option). */
export function parseCommandLine(argv: readonly string[], context = EMPTY_CONTEXT): Command {
  const p = newArgs();
  try {
    return parseInto(p, argv, context);
  } catch (e) {
    if (e instanceof CliError) e.warnings = p.warnings;
    throw e;
  }
}

/** The table word after a command (`-L expect`): a prefix of a table name, else exit 2. */
function tableOf(command: CommandName, word: string | undefined): Table {
  const t = word ?? "conntrack";
  const table = t === ""
    ? undefined
    : (["expect", "conntrack", "dying", "unconfirmed"] as const).find((n) => n.startsWith(t));
  if (!table) throw paramError(`unknown type \`${t}'`);
  if ((table === "dying" || table === "unconfirmed") && command !== "list") {
    throw paramError("Can't do that command with tables `dying' and `unconfirmed'");
  }
  if (table === "expect" && (command === "update" || command === "add")) {
    throw paramError(`Can't do --${COMMAND_LONG[command]} on expectations`);
  }
  return table;
}

/** A long option: an exact name, else a unique prefix (getopt_long), among `ext`'s too. */
function longOption(word: string, ext: ProtoExt | undefined): OptSpec | L4Key {
  const eq = word.indexOf("=");
  const name = eq === -1 ? word.slice(2) : word.slice(2, eq);
  const all: [string, OptSpec | L4Key][] = [
    ...Object.entries(LONG),
    ...(ext ? Object.entries(ext.opts) : []),
  ];
  const exact = all.find(([n]) => n === name);
  const hits = exact ? [exact] : all.filter(([n]) => n.startsWith(name));
  const what = (s: OptSpec | L4Key) =>
    typeof s === "string" ? `p:${s}` : "command" in s ? `c:${s.command}` : `o:${s.option}`;
  if (hits.length === 0 || new Set(hits.map(([, s]) => what(s))).size > 1) {
    throw paramError(`unknown option \`${word}'`);
  }
  return hits[0][1];
}

function parseInto(p: ArgsBuilder, argv: readonly string[], context: ParseContext): Command {
  let command: CommandName | undefined;
  let table: Table = "conntrack";
  let ext: ProtoExt | undefined;
  const l4Seen = new Set<L4Key>();
  let i = 0;
  while (i < argv.length) {
    const word = argv[i++];
    if (word === "--") break; // getopt: the end of the options (the rest are stray words)
    let spec: OptSpec | L4Key;
    let attached: string | undefined;
    if (word.startsWith("--") && word.length > 2) {
      spec = longOption(word, ext);
      const eq = word.indexOf("=");
      if (eq !== -1) attached = word.slice(eq + 1);
    } else if (word.startsWith("-") && word.length > 1 && word !== "-") {
      spec = SHORT[word[1]];
      if (!spec) throw paramError(`unknown option \`${word}'`);
      if (word.length > 2) attached = word.slice(2);
    } else {
      continue; // getopt permutes stray words to the end; conntrack ignores them
    }
    const required = (): string => {
      const v = attached ?? argv[i++];
      if (v === undefined) throw paramError(`option \`${word}' requires an argument`);
      return v;
    };
    if (typeof spec === "string") {
      ext!.keys[spec]!.parse(p.l4, required(), word);
      l4Seen.add(spec);
      continue;
    }
    let arg: string | undefined;
    if (spec.arg === "required") arg = required();
    else if (spec.arg === "optional") {
      arg = attached;
      if (arg === undefined && i < argv.length && !/^[-!]/.test(argv[i])) arg = argv[i++];
    }
    if ("command" in spec) {
      const t = tableOf(spec.command, arg);
      if (command !== undefined) throw paramError("Invalid commands combination");
      command = spec.command;
      table = t;
      continue;
    }
    if (spec.option !== "protonum") {
      applyOption(p, spec.option, arg, word);
      continue;
    }
    p.given.add("protonum");
    const name = arg!;
    const known = extensionNamed(name);
    if (known) {
      ext = known;
      p.proto = known.num;
    } else {
      const num = context.protoNumber(name) ?? strtoul(name);
      if (num === undefined || num > 255) throw paramError(`\`${name}' unsupported protocol`);
      ext = extensionOf(num) ?? ext;
      p.proto = num;
    }
  }
  if (command === undefined && p.given.size === 0) {
    return { command: "usage", warnings: p.warnings };
  }
  const labels = loadsLabelMap(p.given, p.output);
  // Unknown label names are a parameter problem, found before the option checks.
  const map = labels ? context.labelMap() : undefined;
  const labelFilter = map ? labelBits(p.labelNames, map) : [];
  const labelModify = map ? labelBits(p.labelModifyNames, map) : [];
  if (p.given.has("any-nat") && (p.given.has("src-nat") || p.given.has("dst-nat"))) {
    throw paramError("cannot specify `--src-nat' or `--dst-nat' with `--any-nat'");
  }
  // Options without a command: each is illegal (conntrack exits 2, naming the first one).
  checkOptions(p.given, command, table === "expect", p.output);
  if (command === undefined) throw paramError("no command"); // unreachable: checkOptions threw
  if (ext && command !== "help") checkProtoOptions(ext, l4Seen, command, table === "expect");
  const { labelNames: _n, labelModifyNames: _m, ...rest } = p;
  const args = { ...rest, labels: labelFilter, labelModify };
  switch (command) {
    case "help":
    case "version":
      return { command, warnings: p.warnings };
    case "list":
      return { ...args, command, table };
    case "update":
    case "add":
      if (table !== "conntrack") throw paramError(`unknown type \`${table}'`); // refused above
      return { ...args, command, table };
    default:
      if (table !== "conntrack" && table !== "expect") {
        throw paramError("Can't do that command with tables `dying' and `unconfirmed'"); // refused above
      }
      return { ...args, command, table };
  }
}
