/**
 * Every command line parseArgs() refuses, with the exit code and message nfct prints after its
 * prefix. The expected texts were captured from conntrack 1.4.7 (`conntrack v1.4.7
 * (conntrack-tools): MESSAGE`, run on the same words in a throwaway namespace with a
 * connlabel.conf of `0 foo`, `1 bar`, `200 big`); where nfct deliberately differs, the row
 * says what conntrack 1.4.7 does instead.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CliError } from "../../../cli/errors.ts";
import { parse } from "./_parse.ts";

/** [command line, exit code, message, what conntrack 1.4.7 does when it differs]. */
type Row = [string, 1 | 2, string, string?];

const ROWS: Row[] = [
  // getopt
  ["-x", 2, "unknown option `-x'"],
  ["--bogus", 2, "unknown option `--bogus'"],
  ["-L --s 1.1.1.1", 2, "unknown option `--s'"], // ambiguous: src, status, secmark, ...
  ["-L --sr 1.1.1.1", 2, "unknown option `--sr'"],
  ["-L -p tcp --st 1", 2, "unknown option `--st'"], // status or tcp's state
  ["-L -p tcp --icmp-type 3", 2, "unknown option `--icmp-type'"],
  ["-L --sport 1", 2, "unknown option `--sport'"], // protocol options only after -p
  ["-L -t", 2, "option `-t' requires an argument"],
  ["-L -i", 2, "option `-i' requires an argument"],
  ["-L -p", 2, "option `-p' requires an argument"],
  ["-L -f", 2, "option `-f' requires an argument"],
  ["-E -b", 2, "option `-b' requires an argument"],
  ["-L -p tcp --sport", 2, "option `--sport' requires an argument"],
  // commands and tables
  ["-L -D", 2, "Invalid commands combination"],
  ["-L expect -G expect", 2, "Invalid commands combination"],
  ["-L bogus", 2, "unknown type `bogus'"],
  ["-D dying", 2, "Can't do that command with tables `dying' and `unconfirmed'"],
  ["-E unconfirmed", 2, "Can't do that command with tables `dying' and `unconfirmed'"],
  ["-U expect", 2, "Can't do --update on expectations"],
  ["-A expect", 2, "Can't do --add on expectations"],
  // values
  ["-L -p foo", 2, "`foo' unsupported protocol"],
  ["-L -p 300", 2, "`300' unsupported protocol"],
  ["-L -f ipv5", 2, "`ipv5' unsupported protocol"],
  ["-L -s 1.2.3.300", 2, "Invalid IP address `1.2.3.300'"],
  ["-L --src=", 2, "Invalid IP address `'"],
  ["-L -s 1.2.3.4/33", 2, "Invalid netmask"],
  ["-L -r 1.2.3.4/24", 2, "CIDR notation unavailable for `--reply-src'"],
  ["-L -s 1.2.3.4 -d ::1", 2, "mismatched address family"],
  ["-L -f ipv6 -s 1.1.1.1", 2, "mismatched address family"],
  ["-L -s ::1 -f ipv4", 2, "mismatched address family"],
  ["-L -u FOO", 2, "Bad parameter `FOO'"],
  ["-L -u ASSURED,", 2, "Bad parameter `'"],
  ["-L -u !", 2, "Bad parameter `'"],
  ["-L -u !FOO,BAR", 2, "Bad parameter `FOO,BAR'"],
  ["-L -u !UNREPLIED", 2, "Bad parameter `UNREPLIED'"],
  ["-L -o foo", 2, "Bad parameter `foo'"],
  ["-L -o xml,foo,id", 2, "Bad parameter `foo,id'"],
  ["-L -o save,xml", 1, "cannot combine save output with any other output type, use -o save only"],
  [
    "-L -o json,id",
    2,
    "cannot combine json output with any other output type, use -o json only",
    "Bad parameter `json,id'",
  ],
  ["-E -e FOO", 2, "Bad parameter `FOO'"],
  ["-E -e NEW,", 2, "Bad parameter `'"],
  ["-E -e NEW,FOO,DESTROY", 2, "Bad parameter `FOO,DESTROY'"],
  ["-E -e !NEW", 2, "Bad parameter `!NEW'"],
  ["-L -n [::1", 2, "No closing ']' around IPv6 address"],
  ["-L -n []", 2, "No IPv6 address specified"],
  ["-L -n 1.1.1.1:", 2, "No port specified after `:'"],
  ["-L -n 1.1.1.1:x", 2, "Invalid port `x'"],
  ["-L -m 5/x", 1, "unexpected value '5/x' with -m option", "lists with mark 5/0"],
  ["-L -w abc", 1, "unexpected value 'abc' with -w option", "lists zone 0"],
  ["-L -w 65536", 1, "unexpected value '65536' with -w option", "lists zone 0"],
  ["-L --orig-zone x", 1, "unexpected value 'x' with --orig-zone option", "lists zone 0"],
  ["-L -c x", 1, "unexpected value 'x' with -c option", "lists secmark 0"],
  ["-E -b x", 1, "unexpected value 'x' with -b option", "listens with the default buffer"],
  ["-D -i x", 1, "unexpected value 'x' with -i option", "deletes id 0"],
  ["-I -t x", 1, "unexpected value 'x' with -t option", "goes on with timeout 0"],
  ["-L -p tcp --sport 70000", 1, "unexpected value '70000' with --sport option", "port 4464"],
  ["-L -p icmp --icmp-type 300", 1, "unexpected value '300' with --icmp-type option", "type 44"],
  ["-L -p tcp --state BOGUS", 2, "unknown TCP state `BOGUS'"],
  ["-L -p sctp --state BOGUS", 2, "unknown SCTP state `BOGUS'", "crashes (SIGSEGV)"],
  ["-L -p dccp --state BOGUS", 2, "Unknown DCCP state `BOGUS'"],
  ["-I -p dccp --role x", 2, "Unknown DCCP role `x'"],
  // labels (through the test's label map)
  ["-L -l baz", 2, "unknown label 'baz'"],
  ["-L -l foo,baz", 2, "unknown label 'baz'"],
  ["-U --label-del baz", 2, "unknown label 'baz'"],
  ["-L -o labels -l nope", 2, "unknown label 'nope'"],
  [
    "-L -l big",
    1,
    "label 'big' is bit 200: the kernel keeps 128 label bits",
    "lists (no entry can have it)",
  ],
  [
    "-U --label-add foo --label-del bar",
    1,
    "cannot use --label-add and --label-del at the same time",
  ],
  [
    "-L --label-add foo --label-del bar",
    1,
    "cannot use --label-add and --label-del at the same time",
  ],
  // option checks after parsing
  ["-L -n 1.1.1.1 -j 2.2.2.2", 2, "cannot specify `--src-nat' or `--dst-nat' with `--any-nat'"],
  ["-L -g -j", 2, "cannot specify `--src-nat' or `--dst-nat' with `--any-nat'"],
  ["-s 1.1.1.1", 2, "Illegal option `--src' with this command"],
  ["-p tcp", 2, "Illegal option `--protonum' with this command"],
  ["-L -s 1.2.3.4 -t 10", 2, "Illegal option `--timeout' with this command"],
  ["-L expect -s 1.1.1.1", 2, "Illegal option `--src' with this command"],
  ["-h -s 1.1.1.1", 2, "Illegal option `--src' with this command"],
  ["-V -s 1.1.1.1", 2, "Illegal option `--src' with this command"],
  ["-C -s 1.1.1.1", 2, "Illegal option `--src' with this command"],
  ["-S -p tcp", 2, "Illegal option `--protonum' with this command"],
  ["-I -p tcp", 2, "You need to supply the `--timeout' option for this command"],
  ["-I -s 1.1.1.1 -p tcp -t 10", 2, "you have to specify `--src' and `--dst'"],
  ["-I -r 1.1.1.1 -p tcp -t 10", 2, "you have to specify `--reply-src' and `--reply-dst'"],
  ["-G -p tcp", 2, "you have to specify `--src' and `--dst'"],
  [
    "-I expect -s 1.1.1.1 -d 2.2.2.2 -p tcp",
    2,
    "You need to supply the `--timeout' option for this command",
  ],
  // protocol option checks
  [
    "-I -s 1.1.1.1 -d 2.2.2.2 -p tcp -t 10 --sport 1",
    2,
    "You need to supply the `--state' option for this command",
  ],
  [
    "-I -s 1.1.1.1 -d 2.2.2.2 -p tcp -t 10 --dport 2 --state LISTEN",
    2,
    "you have to specify `--sport' and `--dport'",
  ],
  [
    "-I -s 1.1.1.1 -d 2.2.2.2 -p tcp -t 10 --reply-port-dst 2 --state LISTEN",
    2,
    "you have to specify `--reply-src-port' and `--reply-dst-port'",
  ],
  ["-I -s 1.1.1.1 -d 2.2.2.2 -p gre -t 10", 2, "you have to specify `--srckey' and `--dstkey'"],
  [
    "-G -s 1.1.1.1 -d 2.2.2.2 -p icmp --icmp-type 8",
    2,
    "You need to supply the `--icmp-code' option for this command",
  ],
  [
    "-G -s 1.1.1.1 -d 2.2.2.2 -p icmpv6 --icmpv6-code 0",
    2,
    "You need to supply the `--icmpv6-type' option for this command",
  ],
  [
    "-G -s 1.1.1.1 -d 2.2.2.2 -p gre --srckey 1",
    2,
    "you have to specify `--srckey' and `--dstkey'",
  ],
  [
    "-D expect -s 1.1.1.1 -d 2.2.2.2 -p gre",
    2,
    "You need to supply the `--srckey' option for this command",
  ],
  ["-L -p tcp --tuple-port-src 1", 2, "Illegal option `--tuple-port-src' with this command"],
  ["-L expect -p tcp", 2, "Illegal option `--protonum' with this command"],
];

test("every refusal of parseArgs: conntrack's exit code and message", () => {
  for (const [line, code, message] of ROWS) {
    assert.throws(() => parse(line), (e: unknown) => {
      assert.ok(e instanceof CliError, `${line}: a CliError, not ${e}`);
      assert.equal(e.message, message, line);
      assert.equal(e.code, code, line);
      return true;
    });
  }
});

test("a refusal after a warning carries the warning", () => {
  assert.throws(() => parse("-L -a 1.1.1.1 -t 10"), (e: unknown) => {
    assert.ok(e instanceof CliError);
    assert.equal(e.message, "Illegal option `--timeout' with this command");
    assert.deepEqual(e.warnings, ["WARNING: ignoring -a, deprecated option.\n"]);
    return true;
  });
});
