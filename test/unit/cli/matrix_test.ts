/**
 * The option/command matrix (cli/matrix.ts) through parseArgs(): each main option with each
 * command of both tables. The expected verdicts were captured from conntrack 1.4.7: for every
 * (command, option) pair, `conntrack CMD [expect] BASE --OPTION VALUE` was run in a throwaway
 * namespace (BASE: the options the command needs) and its answer recorded as `-` (exit 2
 * "Illegal option `--OPTION' with this command"), `+` (past the option check) or `b` (in BASE).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CliError } from "../../../cli/errors.ts";
import { OPT_NAMES } from "../../../cli/matrix.ts";
import { parseArgs } from "../../../cli/parse.ts";
import { CONTEXT, words } from "./_parse.ts";

/** The value each option was given (`-i 1`: conntrack 1.4.7 crashes on `--id 1`). */
const FLAG: Record<string, string[]> = {
  src: ["--src", "1.1.1.1"],
  dst: ["--dst", "2.2.2.2"],
  "reply-src": ["--reply-src", "2.2.2.2"],
  "reply-dst": ["--reply-dst", "1.1.1.1"],
  protonum: ["--protonum", "99"],
  timeout: ["--timeout", "10"],
  status: ["--status", "ASSURED"],
  zero: ["--zero"],
  "event-mask": ["--event-mask", "NEW"],
  "tuple-src": ["--tuple-src", "1.1.1.1"],
  "tuple-dst": ["--tuple-dst", "2.2.2.2"],
  "mask-src": ["--mask-src", "255.255.255.255"],
  "mask-dst": ["--mask-dst", "255.255.255.255"],
  "nat-range": ["--nat-range", "1.1.1.1"],
  mark: ["--mark", "1"],
  id: ["-i", "1"],
  family: ["--family", "ipv4"],
  "src-nat": ["--src-nat", "1.1.1.1"],
  "dst-nat": ["--dst-nat", "1.1.1.1"],
  output: ["--output", "xml"],
  secmark: ["--secmark", "1"],
  "buffer-size": ["--buffer-size", "100000"],
  "any-nat": ["--any-nat", "1.1.1.1"],
  zone: ["--zone", "1"],
  label: ["--label", "foo"],
  "label-add": ["--label-add", "foo"],
  "label-del": ["--label-del", "foo"],
  "orig-zone": ["--orig-zone", "1"],
  "reply-zone": ["--reply-zone", "1"],
};

const CREATE = "--src 1.1.1.1 --dst 2.2.2.2 --protonum 99 --timeout 10";
const GET = "--src 1.1.1.1 --dst 2.2.2.2 --protonum 99";
const EXP_CREATE = `${CREATE} --tuple-src 1.1.1.1 --tuple-dst 2.2.2.2 ` +
  "--mask-src 255.255.255.255 --mask-dst 255.255.255.255";

/** [command and table, BASE, conntrack 1.4.7's verdicts in OPT_NAMES order]. */
const MATRIX: [string, string, string][] = [
  //                                      sdrqptuze[]{}amifngocbjwl<>()
  ["-L", "", /*                        */ "+++++-++---++++-+++++-+++--++"],
  ["-U", "", /*                        */ "+++++++----+++++++++----+++--"],
  ["-D", "", /*                        */ "+++++++----+++++++++---++--++"],
  ["-E", "", /*                        */ "+++++---+--++++-+++++++++--++"],
  ["-C", "", /*                        */ "-------------+---------------"],
  ["-S", "", /*                        */ "-------------+---------------"],
  ["-V", "", /*                        */ "-------------+---------------"],
  ["-h", "", /*                        */ "----+--------+---------------"],
  ["-I", CREATE, /*                    */ "bb++bb+------++--++----+-+-++"],
  ["-A", CREATE, /*                    */ "bb++bb+------++--++----+-+-++"],
  ["-G", GET, /*                       */ "bb++b--------+-+---+----+----"],
  ["-L expect", "", /*                 */ "-------------+--+--+---------"],
  ["-E expect", "", /*                 */ "-------------+-----+---------"],
  ["-F expect", "", /*                 */ "-------------+---------------"],
  ["-C expect", "", /*                 */ "-------------+---------------"],
  ["-S expect", "", /*                 */ "-------------+---------------"],
  ["-I expect", EXP_CREATE, /*         */ "bb++bb+--bbbb+---------------"],
  ["-D expect", GET, /*                */ "bb++b--------+---------------"],
  ["-G expect", GET, /*                */ "bb++b--------+---------------"],
];
// -F: conntrack 1.4.7 takes only -f ("-------------+--+------------"); nfct takes the filters
// of -D (and deletes what they select), without -t, -i and -o.
MATRIX.push(["-F", "", "+++++-+----++++-+++----++--++"]);

test("each main option with each command: illegal exactly where conntrack 1.4.7 says so", () => {
  for (const [cmd, base, verdicts] of MATRIX) {
    for (const [i, name] of OPT_NAMES.entries()) {
      const v = verdicts[i];
      if (v === "b") continue;
      const argv = [...words(cmd), ...words(base), ...FLAG[name]];
      const line = argv.join(" ");
      if (v === "+") {
        assert.doesNotThrow(() => parseArgs(argv, CONTEXT), line);
        continue;
      }
      assert.throws(() => parseArgs(argv, CONTEXT), (e: unknown) => {
        assert.ok(e instanceof CliError, line);
        assert.equal(e.message, `Illegal option \`--${name}' with this command`, line);
        assert.equal(e.code, 2, line);
        return true;
      });
    }
  }
});

test("each option a command needs: conntrack 1.4.7's message when it is left out", () => {
  // [command line without the option, message]
  const rows: [string, string][] = [
    ["-I --dst 2.2.2.2 --protonum 99 --timeout 10", "you have to specify `--src' and `--dst'"],
    ["-I --src 1.1.1.1 --protonum 99 --timeout 10", "you have to specify `--src' and `--dst'"],
    [
      "-I --src 1.1.1.1 --dst 2.2.2.2 --timeout 10",
      "You need to supply the `--protonum' option for this command",
    ],
    [
      "-A --src 1.1.1.1 --dst 2.2.2.2 --protonum 99",
      "You need to supply the `--timeout' option for this command",
    ],
    ["-G --src 1.1.1.1 --protonum 99", "you have to specify `--src' and `--dst'"],
    [
      "-G --src 1.1.1.1 --dst 2.2.2.2",
      "You need to supply the `--protonum' option for this command",
    ],
    [
      "-D expect --dst 2.2.2.2 --protonum 99",
      "You need to supply the `--src' option for this command",
    ],
    [
      "-G expect --src 1.1.1.1 --protonum 99",
      "You need to supply the `--dst' option for this command",
    ],
    [
      "-G expect --src 1.1.1.1 --dst 2.2.2.2",
      "You need to supply the `--protonum' option for this command",
    ],
  ];
  // -I expect needs all eight of its options, each named when missing.
  const exp = EXP_CREATE.split(" ");
  for (let k = 0; k < exp.length; k += 2) {
    const rest = [...exp.slice(0, k), ...exp.slice(k + 2)].join(" ");
    rows.push([`-I expect ${rest}`, `You need to supply the \`${exp[k]}' option for this command`]);
  }
  for (const [line, message] of rows) {
    assert.throws(() => parseArgs(words(line), CONTEXT), (e: unknown) => {
      assert.ok(e instanceof CliError, line);
      assert.equal(e.message, message, line);
      assert.equal(e.code, 2, line);
      return true;
    });
  }
});
