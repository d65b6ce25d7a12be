/**
 * `-R FILE` without a kernel (cli/commands/restore.ts): how lines are split into words, which
 * commands a file may hold (conntrack 1.4.7's messages, captured by running `conntrack -R` on a
 * one-line file of each), and that the whole file is parsed before anything runs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileCommand, parseFile, splitLine } from "../../../../cli/commands/restore.ts";
import { CliError } from "../../../../cli/errors.ts";
import { CONTEXT, parse } from "../_parse.ts";
import { type Flow, flowToJSON } from "../../../../mod.ts";

/** A flow as `nfct -L -o json` prints it, for a JSON line. */
const FLOW: Flow = {
  family: "ipv4",
  proto: "udp",
  orig: { src: "1.1.1.1", dst: "2.2.2.3", sport: 1, dport: 2 },
  reply: { src: "2.2.2.3", dst: "1.1.1.1", sport: 2, dport: 1 },
  timeout: 30,
};

test("splitLine: blanks separate words; double quotes group, with backslash escapes inside", () => {
  const rows: [string, string[]][] = [
    ["-I -s 1.1.1.1  -d\t2.2.2.2", ["-I", "-s", "1.1.1.1", "-d", "2.2.2.2"]],
    ['-L -l "foo bar"', ["-L", "-l", "foo bar"]],
    ['-L -l ""', ["-L", "-l", ""]],
    ['-L -l "a\\"b\\\\c"', ["-L", "-l", 'a"b\\c']],
    ['-L x"y z"w', ["-L", "xy zw"]],
    ["  -L\r\n", ["-L"]],
    ["", []],
  ];
  for (const [line, want] of rows) assert.deepEqual(splitLine(line), want, line);
});

test("fileCommand takes -I -A -U -D -F of the conntrack table", () => {
  for (const line of ["-I -s 1.1.1.1 -d 2.2.2.2 -p 99 -t 5", "-U -m 1", "-D", "-F", "-F -p tcp"]) {
    assert.equal(fileCommand(parse(line)).table, "conntrack", line);
  }
  assert.equal(fileCommand(parse("-A -s 1.1.1.1 -d 2.2.2.2 -p 99 -t 5")).command, "add");
});

test("fileCommand refuses the rest as conntrack 1.4.7 does (exit 2)", () => {
  const rows: [string, string][] = [
    ["-L", "-L"],
    ["-L expect", "-L expect"],
    ["-L dying", "-L"],
    ["-F expect", "-F expect"],
    ["-D expect -s 1.1.1.1 -d 2.2.2.2 -p 99", "-D expect"],
    ["-E", "-E"],
    ["-C", "-C"],
    ["-S", "-S"],
    ["-h", "-h"],
    ["-V", "-V"],
    ["foo", "unknown"],
  ];
  for (const [line, shown] of rows) {
    assert.throws(() => fileCommand(parse(line)), (e: unknown) => {
      assert.ok(e instanceof CliError, line);
      assert.equal(e.message, `Cannot use command \`${shown}' with --load-file`, line);
      assert.equal(e.code, 2);
      return true;
    });
  }
});

test("parseFile: comments and blank lines skipped, JSON lines are flows, warnings as parsed", () => {
  const warnings: string[] = [];
  const lines = parseFile(
    [
      "# saved",
      "",
      "   -I -s 1.1.1.1 -d 2.2.2.2 -p udp --sport 1 --dport 2 -t 30 -u SRC_NAT",
      JSON.stringify(flowToJSON(FLOW)),
      "-D -p udp",
    ].join("\n"),
    CONTEXT,
    (w) => warnings.push(w),
  );
  assert.equal(lines.length, 3);
  assert.ok(!("json" in lines[0]) && lines[0].command === "create");
  assert.ok("json" in lines[1] && lines[1].json.orig.dst === "2.2.2.3");
  assert.ok(!("json" in lines[2]) && lines[2].command === "delete");
  assert.deepEqual(warnings, ["WARNING: ignoring SRC_NAT, use --src-nat instead\n"]);
});

test("parseFile: a bad line anywhere stops the whole file before anything runs", () => {
  const refuse = (text: string, message: string) =>
    assert.throws(() => parseFile(text, CONTEXT, () => {}), { message, code: 2 });
  refuse("-D -p udp\n-I -x\n", "unknown option `-x'");
  refuse("-D -p udp\n-L\n", "Cannot use command `-L' with --load-file");
  // every line is parsed before any is checked: the parse error of line 3 comes first
  refuse("-L\n-D -p udp\n-U expect\n", "Can't do --update on expectations");
  assert.throws(() => parseFile('-D\n{"proto": 5}\n', CONTEXT, () => {}), (e: unknown) => {
    assert.ok(e instanceof CliError);
    assert.match(e.message, /^line 2: not a flow: /);
    assert.equal(e.code, 2);
    return true;
  });
  // inside a file, -R is just an unknown option
  refuse("-R other.txt\n", "unknown option `-R'");
});
