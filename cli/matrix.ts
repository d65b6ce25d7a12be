/**
 * Which options each command takes: conntrack.c's command bits, `CT_OPT_*` bits and its
 * `commands_v_options` matrix (and the one for the `expect` table), with the check that
 * enforces them.
 * @module
 */
import { paramError } from "./errors.ts";

/** The commands, in the order of conntrack.c's command bits (the rows of {@link MATRIX}). */
export const COMMANDS = [
  "list",
  "create",
  "update",
  "delete",
  "get",
  "flush",
  "event",
  "version",
  "help",
  "count",
  "stats",
  "add",
] as const;
/** A command: `list` is `-L`, `create` `-I`, and so on ({@link COMMAND_LETTERS}). */
export type CommandName = typeof COMMANDS[number];

/** The short option of each command. */
export const COMMAND_LETTERS: Readonly<Record<CommandName, string>> = {
  list: "L",
  create: "I",
  update: "U",
  delete: "D",
  get: "G",
  flush: "F",
  event: "E",
  version: "V",
  help: "h",
  count: "C",
  stats: "S",
  add: "A",
};

/** The long option of each command (conntrack's messages name commands by it). */
export const COMMAND_LONG: Readonly<Record<CommandName, string>> = {
  list: "dump",
  create: "create",
  update: "update",
  delete: "delete",
  get: "get",
  flush: "flush",
  event: "event",
  version: "version",
  help: "help",
  count: "counter",
  stats: "stats",
  add: "add",
};

/** The main options, in the order of conntrack.c's `CT_OPT_*` bits (the columns of the matrix). */
export const OPT_NAMES = [
  "src",
  "dst",
  "reply-src",
  "reply-dst",
  "protonum",
  "timeout",
  "status",
  "zero",
  "event-mask",
  "tuple-src",
  "tuple-dst",
  "mask-src",
  "mask-dst",
  "nat-range",
  "mark",
  "id",
  "family",
  "src-nat",
  "dst-nat",
  "output",
  "secmark",
  "buffer-size",
  "any-nat",
  "zone",
  "label",
  "label-add",
  "label-del",
  "orig-zone",
  "reply-zone",
] as const;
/** A main option by its long name (`-s` is `src`). */
export type OptName = typeof OPT_NAMES[number];

/** One cell: 0 illegal, 1 compulsory, 2 optional, 3 coupled (both addresses of a direction). */
export type Legality = 0 | 1 | 2 | 3;
/** One row of a matrix: a legality per option, in {@link OPT_NAMES} order. */
export type Row = readonly Legality[];

/** The row of a command that takes no option. */
const NONE: Row = OPT_NAMES.map(() => 0);

// deno-fmt-ignore
/** -I's row, which -A shares (conntrack.c gives both the same). */
const CREATE: Row =
  //       s  d  r  q  p  t  u  z  e  [  ]  {  }  a  m  i  f  n  g  o  c  b  j  w  l  <  >  (  )
          [3, 3, 3, 3, 1, 1, 2, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 0, 0, 2, 0, 2, 0, 2, 2];

// deno-fmt-ignore
/** conntrack.c `commands_v_options`, one row per command in {@link COMMANDS} order. */
export const MATRIX: Readonly<Record<CommandName, Row>> = {
  //       s  d  r  q  p  t  u  z  e  [  ]  {  }  a  m  i  f  n  g  o  c  b  j  w  l  <  >  (  )
  list:   [2, 2, 2, 2, 2, 0, 2, 2, 0, 0, 0, 2, 2, 0, 2, 0, 2, 2, 2, 2, 2, 0, 2, 2, 2, 0, 0, 2, 2],
  create: CREATE,
  update: [2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 0, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 2, 0, 0],
  delete: [2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 0, 2, 2, 2, 2, 2, 2, 0, 0, 0, 2, 2, 0, 0, 2, 2],
  get:    [3, 3, 3, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0],
  flush:  [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  event:  [2, 2, 2, 2, 2, 0, 0, 0, 2, 0, 0, 2, 2, 0, 2, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 2, 2],
  version: NONE,
  help:   [0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  count:  NONE,
  stats:  NONE,
  add:    CREATE,
};

// deno-fmt-ignore
/**
 * The same for the `expect` table (conntrack.c EXP_LIST … EXP_STATS). With `expect`, -s/-d
 * are the master's addresses for -I and the expectation's own for -D/-G.
 */
const EXP_MATRIX: Readonly<Partial<Record<CommandName, Row>>> = {
  //       s  d  r  q  p  t  u  z  e  [  ]  {  }  a  m  i  f  n  g  o  c  b  j  w  l  <  >  (  )
  list:   [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  create: [1, 1, 2, 2, 1, 1, 2, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  delete: [1, 1, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  get:    [1, 1, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  event:  [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0],
};

/** nfct extension: -F takes the filters -D takes (conntrack allows only -f). */
const FLUSH_EXTENDED: Row = MATRIX.delete.map((v, i) =>
  OPT_NAMES[i] === "output" || OPT_NAMES[i] === "id" || OPT_NAMES[i] === "timeout" ? 0 : v
);

/** Options that make -L/-D compare entries (conntrack.c `CT_COMPARISON`). */
export const COMPARISON: readonly OptName[] = [
  "protonum",
  "src",
  "dst",
  "reply-src",
  "reply-dst",
  "mark",
  "secmark",
  "status",
  "id",
  "zone",
  "label",
  "orig-zone",
  "reply-zone",
];

/** The matrix row that applies: no command (every option illegal), expect table, -F extension. */
function rowOf(command: CommandName | undefined, expect: boolean): Row {
  if (command === undefined) return NONE;
  if (expect) return EXP_MATRIX[command] ?? NONE;
  return command === "flush" ? FLUSH_EXTENDED : MATRIX[command];
}

/**
 * nfct's `-o` extensions: `json` also with -C, -S (both tables) and -G expect, where conntrack
 * takes no -o; `csv` with -L only. The row with its `output` cell changed where they apply.
 */
function withOutputTypes(
  row: Row,
  command: CommandName | undefined,
  expect: boolean,
  output: ReadonlySet<string>,
): Row {
  const json = output.has("json") &&
    (command === "count" || command === "stats" || (expect && command === "get"));
  const csv = output.has("csv");
  if (!json && !csv) return row;
  const legal: Legality = json || command === "list" ? 2 : 0;
  return row.map((v, i) => (OPT_NAMES[i] === "output" ? legal : v));
}

/**
 * conntrack.c `generic_opt_check()`: throws the {@link CliError} conntrack exits 2 with when an
 * option the command needs is missing, one it refuses is given (the first in bit order), or a
 * direction's addresses come without their pair. `output`: the `-o` types (nfct's own extend
 * where -o is legal).
 */
export function checkOptions(
  given: ReadonlySet<OptName>,
  command: CommandName | undefined,
  expect: boolean,
  output: ReadonlySet<string> = new Set(),
): void {
  const row = withOutputTypes(rowOf(command, expect), command, expect, output);
  let coupled = false;
  for (let b = 0; b < OPT_NAMES.length; b++) {
    const has = given.has(OPT_NAMES[b]);
    if (!has && row[b] === 1) {
      throw paramError(`You need to supply the \`--${OPT_NAMES[b]}' option for this command`);
    }
    if (has && row[b] === 0) {
      throw paramError(`Illegal option \`--${OPT_NAMES[b]}' with this command`);
    }
    if (row[b] === 3) coupled = true;
  }
  if (!coupled) return;
  const o = given;
  if ((o.has("src") && o.has("dst")) || (o.has("reply-src") && o.has("reply-dst"))) return;
  if (!o.has("src") && !o.has("dst") && (o.has("reply-src") || o.has("reply-dst"))) {
    throw paramError("you have to specify `--reply-src' and `--reply-dst'");
  }
  throw paramError("you have to specify `--src' and `--dst'");
}
