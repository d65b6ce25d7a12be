/**
 * parseArgs() (cli/parse.ts): conntrack(8) command lines to typed commands, without privilege
 * and without I/O. Every main option's parsed value, getopt's rules, tables, warnings and -R.
 * The refusals are in parse_refusals_test.ts, the option/command matrix in matrix_test.ts and
 * the protocol options in proto_test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Args, Command } from "../../../cli/command.ts";
import { CliError } from "../../../cli/errors.ts";
import { EMPTY_CONTEXT, parseArgs, parseCommandLine } from "../../../cli/parse.ts";
import { LABELS, parse, words } from "./_parse.ts";

/** The typed arguments of a table command (asserts it is one). */
function args(line: string): Args & { command: string; table: string } {
  const c = parse(line);
  assert.ok("table" in c, `${line}: a table command, got ${c.command}`);
  return c;
}

test("each command and table word gives its command and table", () => {
  const rows: [string, Command["command"], string | undefined][] = [
    ["-L", "list", "conntrack"],
    ["--dump", "list", "conntrack"],
    ["--dum", "list", "conntrack"],
    ["-L expect", "list", "expect"],
    ["-Lexpect", "list", "expect"],
    ["--dump=exp", "list", "expect"],
    ["-L e", "list", "expect"],
    ["-L c", "list", "conntrack"],
    ["-L dying", "list", "dying"],
    ["-L unconf", "list", "unconfirmed"],
    ["-G -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 1 --dport 2", "get", "conntrack"],
    ["-D", "delete", "conntrack"],
    ["-D -p udp", "delete", "conntrack"],
    ["-I -s 1.1.1.1 -d 2.2.2.2 -p udp -t 10 --sport 1 --dport 2", "create", "conntrack"],
    ["-A -s 1.1.1.1 -d 2.2.2.2 -p udp -t 10 --sport 1 --dport 2", "add", "conntrack"],
    ["-U -m 1", "update", "conntrack"],
    ["-E", "event", "conntrack"],
    ["-E expect", "event", "expect"],
    ["-F", "flush", "conntrack"],
    ["-F expect", "flush", "expect"],
    ["-C", "count", "conntrack"],
    ["--counter expect", "count", "expect"],
    ["-S", "stats", "conntrack"],
    ["-S expect", "stats", "expect"],
    ["-h", "help", undefined],
    ["--help", "help", undefined],
    ["-h -p tcp --sport 1", "help", undefined],
    ["-V", "version", undefined],
    ["", "usage", undefined],
    ["stray words only", "usage", undefined],
  ];
  for (const [line, command, table] of rows) {
    const c = parse(line);
    assert.equal(c.command, command, line);
    assert.equal("table" in c ? c.table : undefined, table, line);
  }
});

test("-R FILE and --load-file FILE as the first words are `load`; -R alone is an unknown option", () => {
  assert.deepEqual(parseArgs(["-R", "rules.txt"]), {
    command: "load",
    file: "rules.txt",
    warnings: [],
  });
  assert.deepEqual(parseArgs(["--load-file", "-"]), { command: "load", file: "-", warnings: [] });
  assert.throws(() => parseArgs(["-R"]), { message: "unknown option `-R'", code: 2 });
  // Inside a -R file, -R is not a command.
  assert.throws(() => parseCommandLine(["-R", "x"]), { message: "unknown option `-R'", code: 2 });
});

test("addresses: -s -d -r -q --tuple-* --mask-*, their family, and a CIDR's implied mask", () => {
  const a = args("-L -s 10.0.0.0/8 -d 10.1.2.3 -r 10.1.2.3 -q 10.0.0.1");
  assert.deepEqual(a.src, { family: "ipv4", addr: "10.0.0.0", bits: 8 });
  assert.deepEqual(a.dst, { family: "ipv4", addr: "10.1.2.3", bits: undefined });
  assert.deepEqual(a.replySrc, { family: "ipv4", addr: "10.1.2.3", bits: undefined });
  assert.deepEqual(a.replyDst, { family: "ipv4", addr: "10.0.0.1", bits: undefined });
  assert.equal(a.family, "ipv4");
  // The CIDR counts as --mask-src for the matrix, and the last of it and --mask-src wins.
  assert.ok(a.given.has("mask-src"));
  assert.equal(a.maskSrc, undefined);
  const m = args("-L -s 10.0.0.0/8 --mask-src 255.255.0.0");
  assert.deepEqual(m.maskSrc, { family: "ipv4", addr: "255.255.0.0", bits: undefined });
  assert.equal(args("-L --mask-src 255.255.0.0 -s 10.0.0.0/8").maskSrc, undefined);
  const e = args(
    "-I expect -s 1.1.1.1 -d 2.2.2.2 -p 99 -t 10 --tuple-src 3.3.3.3/24 --tuple-dst 4.4.4.4 " +
      "--mask-src 255.255.255.0 --mask-dst 255.255.255.255",
  );
  assert.deepEqual(e.tupleSrc, { family: "ipv4", addr: "3.3.3.3", bits: 24 });
  assert.deepEqual(e.tupleDst, { family: "ipv4", addr: "4.4.4.4", bits: undefined });
  assert.equal(e.maskSrc?.addr, "255.255.255.0", "--mask-src came after --tuple-src's CIDR");
  assert.equal(e.maskDst?.addr, "255.255.255.255");
  assert.equal(args("-L -d fd00::/64").family, "ipv6");
});

test("-p: an extension's name (any case), a number, or a name from /etc/protocols", () => {
  assert.equal(args("-L -p tcp").proto, 6);
  assert.equal(args("-L -p UDP").proto, 17);
  assert.equal(args("-L -p 47 --srckey 1").proto, 47, "a number picks its extension too");
  assert.equal(args("-L -p 0x11 --sport 1").proto, 17);
  assert.equal(args("-L -p 2").proto, 2);
  assert.equal(args("-L -p 255").proto, 255);
  const ctx = {
    ...EMPTY_CONTEXT,
    protoNumber: (n: string) => (n === "ipv6-icmp" ? 58 : undefined),
  };
  const c = parseArgs(words("-L -p ipv6-icmp --icmpv6-type 128"), ctx);
  assert.ok("proto" in c && c.proto === 58 && c.l4.icmpType === 128);
});

test("-t -z -e -a -m -i -c -f -b -w --orig-zone --reply-zone and -o", () => {
  const u = args("-U -t 0x10 -m 0x10/0xff -i 7");
  assert.equal(u.timeout, 16);
  assert.deepEqual(u.mark, { value: 16, mask: 255 });
  assert.equal(u.id, 7);
  const l = args("-L -z -c 5 -f ipv6 -w 3 --orig-zone 4 --reply-zone 5 -o xml,id");
  assert.ok(l.given.has("zero"));
  assert.equal(l.secmark, 5);
  assert.equal(l.family, "ipv6");
  assert.deepEqual([l.zone, l.origZone, l.replyZone], [3, 4, 5]);
  assert.deepEqual([...l.output], ["xml", "id"]);
  const e = args("-E -e NEW,DESTROY -b 1000000");
  assert.deepEqual([...e.eventMask!], ["new", "destroy"]);
  assert.equal(e.bufferSize, 1000000);
  assert.equal(args("-E").eventMask, undefined, "no -e: every type");
  assert.equal(args("-D --id=9").id, 9);
  // getopt would leave `9` a stray word (and conntrack 1.4.7 crashes on `--id 9`); nfct takes it.
  assert.equal(args("-D --id 9").id, 9);
});

test("-u: the flags to set and to unset", () => {
  const a = args("-L -u ASSURED,!SEEN_REPLY");
  assert.deepEqual([...a.status.set], ["ASSURED"]);
  assert.deepEqual([...a.status.unset], ["SEEN_REPLY"]);
  assert.ok(a.given.has("status"));
  assert.deepEqual([...args("-L -u UNREPLIED").status.unset], ["SEEN_REPLY"]);
});

test("NAT options: with a value, or alone (any NAT of that kind)", () => {
  const a = args("-L -n 1.1.1.1:80 -g");
  assert.deepEqual(a.srcNat, { addr: "1.1.1.1", port: 80 });
  assert.deepEqual(a.dstNat, {});
  assert.equal(a.family, "ipv4");
  assert.deepEqual(args("-L -j [fd00::1]:53").anyNat, { addr: "fd00::1", port: 53 });
  assert.deepEqual(args("-L --any-nat").anyNat, {});
  assert.deepEqual(args("-L -n -p tcp").srcNat, {}, "-p is not taken as -n's value");
});

test("labels: names to bits through the context's map, only when conntrack loads it", () => {
  assert.deepEqual(args("-L -l foo,bar -l bar").labels, [0, 1, 1]);
  const add = args("-U --label-add bar");
  assert.deepEqual(add.labelModify, [1]);
  assert.equal(add.labelDelAll, false);
  const del = args("-U --label-del");
  assert.deepEqual(del.labelModify, []);
  assert.equal(del.labelDelAll, true);
  assert.deepEqual(args("-U --label-del foo").labelModify, [0]);
  let loaded = 0;
  const ctx = { ...EMPTY_CONTEXT, labelMap: () => (loaded++, LABELS) };
  parseArgs(words("-L -o labels"), ctx);
  parseArgs(words("-L -o extended"), ctx);
  assert.equal(loaded, 1, "read for -o labels, not for other output");
});

test("protocol options land in typed fields", () => {
  assert.deepEqual(args("-L -p tcp --sport 1 --dport 2 --reply-port-src 3 --reply-port-dst 4").l4, {
    sport: 1,
    dport: 2,
    replySport: 3,
    replyDport: 4,
  });
  assert.deepEqual(args("-L -p tcp --orig-port-src 1 --orig-port-dst 2 --state LISTEN").l4, {
    sport: 1,
    dport: 2,
    tcpState: "SYN_SENT2",
  });
  assert.deepEqual(
    args(
      "-I -p sctp -s 1.1.1.1 -d 2.2.2.2 --sport 1 --dport 2 -t 5 --state ESTABLISHED " +
        "--orig-vtag 0x10 --reply-vtag 4294967295",
    ).l4,
    { sport: 1, dport: 2, sctpState: "ESTABLISHED", vtag: 16, replyVtag: 4294967295 },
  );
  assert.deepEqual(args("-U -p dccp --state OPEN --role server").l4, {
    dccpState: "OPEN",
    role: 1,
  });
  assert.deepEqual(args("-L -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 9").l4, {
    icmpType: 8,
    icmpCode: 0,
    icmpId: 9,
  });
  assert.deepEqual(args("-L -p gre --srckey 1 --orig-key-dst 2 --reply-key-src 3").l4, {
    sport: 1,
    dport: 2,
    replySport: 3,
  });
  assert.deepEqual(args("-L -p udp --sport=53").l4, { sport: 53 }, "--opt=value");
});

test("getopt: unique prefixes of long options (protocol ones too), stray words ignored", () => {
  assert.equal(args("-L --orig-s 1.1.1.1").src?.addr, "1.1.1.1");
  assert.equal(args("-L --proto tcp --dp 80").l4.dport, 80);
  assert.equal(args("-L --family ipv6 some stray words").family, "ipv6");
  assert.equal(args("-L -s 1.1.1.1 - x").src?.addr, "1.1.1.1");
  assert.deepEqual([...args("-L --output=xml").output], ["xml"]);
  // `--` ends the options: what follows is stray words, as conntrack's getopt has it.
  const end = args("-L -p tcp -- -s 1.1.1.1 -x");
  assert.equal(end.src, undefined);
  assert.equal(end.proto, 6);
});

test("warnings: returned with the command, or carried by the error", () => {
  assert.deepEqual(parse("-L -a 1.1.1.1 -u SRC_NAT").warnings, [
    "WARNING: ignoring -a, deprecated option.\n",
    "WARNING: ignoring SRC_NAT, use --src-nat instead\n",
  ]);
  assert.deepEqual(parse("-h -a 1.1.1.1").warnings, ["WARNING: ignoring -a, deprecated option.\n"]);
  assert.throws(() => parse("-L -u DST_NAT -x"), (e: unknown) => {
    assert.ok(e instanceof CliError);
    assert.equal(e.message, "unknown option `-x'");
    assert.deepEqual(e.warnings, ["WARNING: ignoring DST_NAT, use --dst-nat instead\n"]);
    return true;
  });
});

test("parsing has no I/O: the empty context knows no labels and no /etc/protocols names", () => {
  assert.throws(() => parseArgs(words("-L -l foo")), { message: "unknown label 'foo'", code: 2 });
  assert.throws(() => parseArgs(words("-L -p ipv6-icmp")), {
    message: "`ipv6-icmp' unsupported protocol",
    code: 2,
  });
});
