/**
 * The value parsers of the command line (cli/values.ts): numbers as strtoul(3) reads them,
 * addresses as inet_aton(3)/inet_pton(3), CIDR, NAT, status, output, event mask, mark, family.
 * Messages and exit codes are conntrack 1.4.7's (captured by running it on each refused value),
 * except where a row says nfct is stricter.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { StatusFlag } from "../../../mod.ts";
import { CliError } from "../../../cli/errors.ts";
import {
  type EventMaskType,
  type OutputName,
  parseAddressArg,
  parseEventMask,
  parseFamily,
  parseInet,
  parseMark,
  parseNat,
  parseOutput,
  parseStatus,
  strtoul,
  value,
} from "../../../cli/values.ts";

/** Asserts `fn` throws a CliError with `code` and `message`. */
function refuses(fn: () => unknown, code: number, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CliError, `a CliError, not ${e}`);
    assert.equal(e.message, message);
    assert.equal(e.code, code);
    return true;
  });
}

test("strtoul reads decimal, 0x hex and 0 octal, with an optional +, and nothing else", () => {
  const rows: [string, number | undefined][] = [
    ["0", 0],
    ["42", 42],
    ["+42", 42],
    [" 42 ", 42],
    ["0x1F", 31],
    ["0X1f", 31],
    ["010", 8],
    ["4294967295", 4294967295],
    ["", undefined],
    ["-1", undefined],
    ["08", undefined],
    ["0x", undefined],
    ["12abc", undefined],
    ["1.5", undefined],
  ];
  for (const [s, want] of rows) assert.equal(strtoul(s), want, JSON.stringify(s));
});

test("value() takes 0..max and refuses the rest with exit 1 'unexpected value'", () => {
  assert.equal(value("65535", 0xffff, "--sport"), 65535);
  assert.equal(value("0x10", 0xff, "--icmp-type"), 16);
  // conntrack 1.4.7 silently truncates or reads 0 here; newer conntrack-tools and nfct refuse.
  refuses(
    () => value("65536", 0xffff, "--sport"),
    1,
    "unexpected value '65536' with --sport option",
  );
  refuses(() => value("abc", 0xffff, "-w"), 1, "unexpected value 'abc' with -w option");
  refuses(() => value("-1", 0xffffffff, "-t"), 1, "unexpected value '-1' with -t option");
});

test("parseInet reads inet_aton's 1 to 4 part IPv4 forms and IPv6", () => {
  const rows: [string, string | undefined][] = [
    ["1.2.3.4", "1.2.3.4"],
    ["127.1", "127.0.0.1"],
    ["10.1.258", "10.1.1.2"],
    ["2130706433", "127.0.0.1"],
    ["0x7f.1", "127.0.0.1"],
    ["010.0.0.1", "8.0.0.1"],
    ["1.2.3.256", undefined],
    ["256.1.1.1", undefined],
    ["1.2.3.4.5", undefined],
    ["1..2", undefined],
    ["::1", "::1"],
    ["2001:db8::1.1.1.1", "2001:db8::1.1.1.1"],
    ["fe80::1::2", undefined],
    ["example.com", undefined],
  ];
  for (const [s, want] of rows) assert.equal(parseInet(s)?.addr, want, s);
  assert.equal(parseInet("::1")?.family, "ipv6");
  assert.equal(parseInet("1.2.3.4")?.family, "ipv4");
});

test("parseAddressArg: CIDR where the option takes one, /32 and /128 are exact", () => {
  assert.deepEqual(parseAddressArg("10.0.0.0/8", "src", true, undefined), {
    family: "ipv4",
    addr: "10.0.0.0",
    bits: 8,
  });
  assert.deepEqual(parseAddressArg("10.0.0.1/32", "src", true, undefined), {
    family: "ipv4",
    addr: "10.0.0.1",
    bits: undefined,
  });
  assert.deepEqual(parseAddressArg("fd00::/64", "dst", true, "ipv6"), {
    family: "ipv6",
    addr: "fd00::",
    bits: 64,
  });
  assert.equal(parseAddressArg("::1/128", "src", true, undefined).bits, undefined);
});

test("parseAddressArg refuses as conntrack does, in conntrack's order", () => {
  const rows: [string, string, boolean, "ipv4" | "ipv6" | undefined, string][] = [
    ["1.2.3.300", "src", true, undefined, "Invalid IP address `1.2.3.300'"],
    ["1.2.3.300/8", "src", true, undefined, "Invalid IP address `1.2.3.300/8'"],
    ["1.2.3.4/33", "src", true, undefined, "Invalid netmask"],
    ["1.2.3.4/x", "src", true, undefined, "Invalid netmask"],
    ["::1/129", "src", true, undefined, "Invalid netmask"],
    ["::1", "dst", true, "ipv4", "mismatched address family"],
    ["1.2.3.4/24", "reply-src", false, undefined, "CIDR notation unavailable for `--reply-src'"],
    // the family is checked before CIDR availability
    ["::1/24", "reply-src", false, "ipv4", "mismatched address family"],
  ];
  for (const [arg, opt, cidr, fam, msg] of rows) {
    refuses(() => parseAddressArg(arg, opt, cidr, fam), 2, msg);
  }
});

test("parseNat: ip, ip:port, [ip6]:port, an IPv6 address alone, or nothing", () => {
  assert.deepEqual(parseNat(undefined, "src-nat", undefined), { nat: {} });
  assert.deepEqual(parseNat("1.1.1.1", "src-nat", undefined), {
    nat: { addr: "1.1.1.1" },
    family: "ipv4",
  });
  assert.deepEqual(parseNat("1.1.1.1:80", "dst-nat", undefined), {
    nat: { addr: "1.1.1.1", port: 80 },
    family: "ipv4",
  });
  assert.deepEqual(parseNat("[::1]:53", "any-nat", undefined), {
    nat: { addr: "::1", port: 53 },
    family: "ipv6",
  });
  assert.deepEqual(parseNat("fd00::1", "any-nat", undefined), {
    nat: { addr: "fd00::1" },
    family: "ipv6",
  });
});

test("parseNat refuses with conntrack 1.4.7's messages (exit 2)", () => {
  const rows: [string, string][] = [
    ["[::1", "No closing ']' around IPv6 address"],
    ["[]", "No IPv6 address specified"],
    ["1.1.1.1:", "No port specified after `:'"],
    ["1.1.1.1:x", "Invalid port `x'"],
    ["1.1.1.1:65536", "Invalid port `65536'"],
    ["1.1.1.1/8", "CIDR notation unavailable for `--src-nat'"],
    ["nothing", "Invalid IP address `nothing'"],
  ];
  for (const [arg, msg] of rows) refuses(() => parseNat(arg, "src-nat", undefined), 2, msg);
  refuses(() => parseNat("::1", "src-nat", "ipv4"), 2, "mismatched address family");
});

test("parseStatus: case-insensitive prefixes, !FLAG, UNREPLIED, and the NAT bits ignored with a warning", () => {
  const run = (arg: string) => {
    const set = new Set<StatusFlag>(), unset = new Set<StatusFlag>(), warnings: string[] = [];
    parseStatus(arg, set, unset, (w) => warnings.push(w));
    return { set: [...set], unset: [...unset], warnings };
  };
  assert.deepEqual(run("ASSURED"), { set: ["ASSURED"], unset: [], warnings: [] });
  assert.deepEqual(run("assu,SEEN"), { set: ["ASSURED", "SEEN_REPLY"], unset: [], warnings: [] });
  assert.deepEqual(run("!ASSURED,UNREPLIED"), {
    set: [],
    unset: ["ASSURED", "SEEN_REPLY"],
    warnings: [],
  });
  assert.deepEqual(run("UNSET"), { set: [], unset: [], warnings: [] });
  assert.deepEqual(run("FIXED_TIMEOUT,EXPECTED,OFFLOAD,HW_OFFLOAD").set, [
    "FIXED_TIMEOUT",
    "EXPECTED",
    "OFFLOAD",
    "HW_OFFLOAD",
  ]);
  assert.deepEqual(run("SRC_NAT,DST_NAT").warnings, [
    "WARNING: ignoring SRC_NAT, use --src-nat instead\n",
    "WARNING: ignoring DST_NAT, use --dst-nat instead\n",
  ]);
});

test("parseStatus refuses what conntrack 1.4.7 refuses: Bad parameter `REST' (exit 2)", () => {
  const rows: [string, string][] = [
    ["FOO", "Bad parameter `FOO'"],
    ["ASSURED,FOO,SEEN_REPLY", "Bad parameter `FOO,SEEN_REPLY'"],
    ["ASSURED,", "Bad parameter `'"],
    [",ASSURED", "Bad parameter `,ASSURED'"],
    ["!", "Bad parameter `'"],
    ["!FOO,BAR", "Bad parameter `FOO,BAR'"],
    ["ASSURED,!UNREPLIED", "Bad parameter `UNREPLIED'"],
  ];
  for (const [arg, msg] of rows) {
    refuses(() => parseStatus(arg, new Set(), new Set(), () => {}), 2, msg);
  }
});

test("parseOutput: prefixes of conntrack's types in its order, and nfct's json", () => {
  const run = (arg: string) => {
    const out = new Set<OutputName>();
    parseOutput(arg, out);
    return [...out];
  };
  assert.deepEqual(run("xml,ext,id"), ["xml", "extended", "id"]);
  assert.deepEqual(run("t"), ["timestamp"]);
  assert.deepEqual(run("k,l,u"), ["ktimestamp", "labels", "userspace"]);
  assert.deepEqual(run("SAVE"), ["save"]);
  assert.deepEqual(run("json"), ["json"]);
});

test("parseOutput refuses unknown types (exit 2) and save/json with others", () => {
  refuses(() => parseOutput("foo", new Set()), 2, "Bad parameter `foo'");
  refuses(() => parseOutput("xml,,id", new Set()), 2, "Bad parameter `,id'");
  // conntrack 1.4.7: exit 1 with this message
  refuses(
    () => parseOutput("save,xml", new Set()),
    1,
    "cannot combine save output with any other output type, use -o save only",
  );
  // conntrack 1.4.7 has no json: "Bad parameter `json,id'", exit 2; nfct keeps the exit code
  refuses(
    () => parseOutput("json,id", new Set()),
    2,
    "cannot combine json output with any other output type, use -o json only",
  );
});

test("parseEventMask: ALL, NEW, UPDATES, DESTROY by case-insensitive prefix", () => {
  const run = (arg: string) => {
    const m = new Set<EventMaskType>();
    parseEventMask(arg, m);
    return [...m];
  };
  assert.deepEqual(run("ALL"), ["new", "update", "destroy"]);
  assert.deepEqual(run("new,d"), ["new", "destroy"]);
  assert.deepEqual(run("UPD"), ["update"]);
  refuses(() => run("FOO"), 2, "Bad parameter `FOO'");
  // the rest of the list from the bad type on
  refuses(() => run("NEW,"), 2, "Bad parameter `'");
  refuses(() => run("NEW,FOO,DESTROY"), 2, "Bad parameter `FOO,DESTROY'");
});

test("parseMark: mark[/mask], the mask all ones by default", () => {
  assert.deepEqual(parseMark("5"), { value: 5, mask: 0xffffffff });
  assert.deepEqual(parseMark("0x10/0xff"), { value: 16, mask: 255 });
  // conntrack 1.4.7 reads 0 for a bad part; nfct refuses (exit 1).
  refuses(() => parseMark("5/x"), 1, "unexpected value '5/x' with -m option");
  refuses(() => parseMark("x"), 1, "unexpected value 'x' with -m option");
  refuses(() => parseMark("4294967296"), 1, "unexpected value '4294967296' with -m option");
});

test("parseFamily: what starts with ipv4 or ipv6", () => {
  assert.equal(parseFamily("ipv4"), "ipv4");
  assert.equal(parseFamily("ipv6x"), "ipv6");
  refuses(() => parseFamily("ipv5"), 2, "`ipv5' unsupported protocol");
  refuses(() => parseFamily("inet"), 2, "`inet' unsupported protocol");
});
