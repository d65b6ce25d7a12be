/**
 * What a parsed command selects and builds, without a kernel: the library filter and the
 * userspace predicate (cli/selection.ts), the tuples of -I/-G (cli/tuples.ts), the flow -I
 * creates, the changes -U makes (cli/commands/create.ts, update.ts) and which listings go
 * through Conntrack.lines() (cli/print.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Args } from "../../../cli/command.ts";
import { newFlow } from "../../../cli/commands/create.ts";
import { updated } from "../../../cli/commands/update.ts";
import { lineFormat } from "../../../cli/print.ts";
import { checkMasks, selection, selectsAll } from "../../../cli/selection.ts";
import { compileFilter, type Filter, type Flow } from "../../../mod.ts";
import { cidrMask, tuples } from "../../../cli/tuples.ts";
import { parse } from "./_parse.ts";

function args(line: string): Args {
  const c = parse(line);
  assert.ok("table" in c, line);
  return c;
}

const udp = (over: Partial<Flow> = {}): Flow => ({
  family: "ipv4",
  proto: "udp",
  orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 53 },
  reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 53, dport: 1000 },
  ...over,
});

test("selection: every comparison option of -L/-D/-F/-E as a library filter", () => {
  const s = selection(
    args(
      "-L -f ipv4 -p tcp -s 10.0.0.0/8 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 --sport 1 --dport 2 " +
        "--reply-port-src 2 --reply-port-dst 1 --state ESTABLISHED -w 1 --orig-zone 2 --reply-zone 3 " +
        "-m 5/0xff -u ASSURED,!SEEN_REPLY -l foo -n 1.1.1.1:80 -g",
    ),
    true,
  );
  assert.deepEqual(s.filter, {
    family: "ipv4",
    proto: "tcp",
    src: "10.0.0.0/8",
    dst: "10.0.0.2",
    sport: 1,
    dport: 2,
    state: "ESTABLISHED",
    origZone: 2,
    zone: 1,
    mark: { value: 5, mask: 255 },
    status: { value: ["ASSURED"], mask: ["ASSURED", "SEEN_REPLY"] },
    reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 2, dport: 1, zone: 3 },
    labels: { all: [0] },
    srcNat: { addr: "1.1.1.1", port: 80 },
    dstNat: true,
  });
  assert.deepEqual(selection(args("-L -j"), true).filter, { anyNat: true });
  assert.deepEqual(selection(args("-L -p 99"), true).filter, { proto: 99 });
});

/** Does the library match `f` with the filter the command line built? */
const matches = (filter: Filter, f: Flow) => compileFilter(filter).match(f);

test("selection: GRE keys, ICMP fields, masks, -t and -i are library keys too (no predicate in cli/)", () => {
  const gre = selection(args("-L -p gre --srckey 5 --reply-key-dst 5"), true);
  assert.deepEqual(gre.filter, { proto: "gre", srcKey: 5, reply: { dstKey: 5 } });
  const g = (orig: number, reply: number) =>
    udp({
      proto: "gre",
      orig: { src: "10.0.0.1", dst: "10.0.0.2", srcKey: orig },
      reply: { src: "10.0.0.2", dst: "10.0.0.1", dstKey: reply },
    });
  assert.equal(matches(gre.filter, g(5, 5)), true);
  assert.equal(matches(gre.filter, g(5, 6)), false);
  const icmp = selection(args("-L -p icmp --icmp-type 8 --icmp-id 7"), true);
  assert.deepEqual(icmp.filter, { proto: "icmp", icmpType: 8, icmpId: 7 });
  const ping = (type: number, id: number) =>
    udp({ proto: "icmp", orig: { src: "10.0.0.1", dst: "10.0.0.2", type, code: 0, id } });
  assert.equal(matches(icmp.filter, ping(8, 7)), true);
  assert.equal(matches(icmp.filter, ping(0, 7)), false);
  const rest = selection(args("-D -t 30 -i 9"), true);
  assert.deepEqual(rest.filter, { timeout: 30, id: 9 });
  assert.equal(matches(rest.filter, udp({ timeout: 30, id: 9 })), true);
  assert.equal(matches(rest.filter, udp({ timeout: 31, id: 9 })), false);
  assert.equal(matches(rest.filter, udp({ timeout: 30, id: 8 })), false);
  // -c: conntrack lets an attribute the kernel did not send compare equal, and the kernel
  // never sends CTA_SECMARK: it selects nothing.
  assert.deepEqual(selection(args("-L -c 4"), true).filter, {});
  const masked = selection(args("-L -s 10.1.2.3 --mask-src 255.255.0.0"), true);
  assert.deepEqual(masked.filter, { family: "ipv4", src: "10.1.2.3/255.255.0.0" });
  const at = (src: string) => udp({ orig: { src, dst: "10.9.9.9" } });
  assert.equal(matches(masked.filter, at("10.1.9.9")), true);
  assert.equal(matches(masked.filter, at("10.2.2.3")), false);
  assert.equal(
    matches(masked.filter, udp({ family: "ipv6", orig: { src: "fd00::1", dst: "fd00::2" } })),
    false,
  );
});

test("selection for -U: the new values (-m -u -t --state) select nothing", () => {
  const s = selection(
    args("-U -p tcp -s 1.1.1.1 -m 5 -u ASSURED -t 30 --state ESTABLISHED"),
    false,
  );
  assert.deepEqual(s.filter, { family: "ipv4", proto: "tcp", src: "1.1.1.1" });
  assert.ok(selectsAll(selection(args("-D"), true)));
  assert.ok(!selectsAll(selection(args("-D -f ipv4"), true)));
});

test("cidrMask", () => {
  assert.equal(cidrMask("ipv6", 112), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:0");
  assert.equal(cidrMask("ipv4", 20), "255.255.240.0");
  assert.equal(cidrMask("ipv4", 0), "0.0.0.0");
});

test("checkMasks: a mask without its address is refused before any request (exit 2)", () => {
  assert.throws(() => checkMasks(args("-L --mask-src 255.0.0.0")), {
    message: "Can't use --mask-src without --src",
    code: 2,
  });
  assert.throws(() => checkMasks(args("-E --mask-dst 255.0.0.0")), {
    message: "Can't use --mask-dst without --dst",
    code: 2,
  });
  assert.doesNotThrow(() => checkMasks(args("-D -d 10.0.0.0 --mask-dst 255.0.0.0")));
});

test("tuples: either direction, the other's ports swapped in, ICMP's reply type derived", () => {
  assert.deepEqual(tuples(args("-G -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 1 --dport 2")), {
    orig: { src: "1.1.1.1", dst: "2.2.2.2", sport: 1, dport: 2 },
    reply: undefined,
  });
  assert.deepEqual(
    tuples(args("-I -s 1.1.1.1 -d 2.2.2.2 -q 9.9.9.9 -p udp --sport 1 --dport 2 -t 5")),
    {
      orig: { src: "1.1.1.1", dst: "2.2.2.2", sport: 1, dport: 2 },
      reply: { src: "2.2.2.2", dst: "9.9.9.9", sport: 2, dport: 1 },
    },
  );
  const ping = tuples(
    args("-I -s 1.1.1.1 -d 2.2.2.2 -r 2.2.2.2 -q 1.1.1.1 -p icmp --icmp-type 8 --icmp-code 0 -t 5"),
  );
  assert.deepEqual(ping.orig, { src: "1.1.1.1", dst: "2.2.2.2", type: 8, code: 0, id: 0 });
  assert.deepEqual(ping.reply, { src: "2.2.2.2", dst: "1.1.1.1", type: 0, code: 0, id: 0 });
  assert.deepEqual(
    tuples(args("-I -s 1.1.1.1 -d 2.2.2.2 -p gre --srckey 5 --dstkey 6 -t 5 --reply-zone 3")),
    {
      orig: { src: "1.1.1.1", dst: "2.2.2.2", srcKey: 5, dstKey: 6 },
      reply: undefined,
    },
  );
});

test("newFlow: what -I creates, conntrack's extra byte swap of the SCTP vtags included", () => {
  assert.deepEqual(
    newFlow(args(
      "-I -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 1 --dport 2 -t 50 --state LISTEN -u ASSURED -m 7 " +
        "-w 3 --label-add foo,bar -n 9.9.9.9:99",
    )),
    {
      proto: "tcp",
      timeout: 50,
      family: "ipv4",
      orig: { src: "1.1.1.1", dst: "2.2.2.2", sport: 1, dport: 2 },
      status: ["ASSURED"],
      mark: 7,
      zone: 3,
      labels: [0, 1],
      tcp: { state: "SYN_SENT2" },
      natSrc: { minIp: "9.9.9.9", maxIp: "9.9.9.9", minPort: 99, maxPort: 99 },
    },
  );
  const sctp = newFlow(args(
    "-I -s 1.1.1.1 -d 2.2.2.2 -p sctp --sport 1 --dport 2 -t 5 --state ESTABLISHED " +
      "--orig-vtag 0x01020304 --reply-vtag 0x0a0b0c0d",
  ));
  assert.deepEqual(sctp.sctp, {
    state: "ESTABLISHED",
    vtagOrig: 0x04030201,
    vtagReply: 0x0d0c0b0a,
  });
  const reply = newFlow(
    args("-I -r 2.2.2.2 -q 1.1.1.1 -p udp --reply-port-src 2 --reply-port-dst 1 -t 5"),
  );
  assert.deepEqual(reply.orig, { src: "1.1.1.1", dst: "2.2.2.2", sport: 1, dport: 2 });
  const zoned = newFlow(
    args("-I -s 1.1.1.1 -d 2.2.2.2 -p udp --sport 1 --dport 2 -t 5 --reply-zone 4"),
  );
  assert.deepEqual(zoned.reply, { src: "2.2.2.2", dst: "1.1.1.1", sport: 2, dport: 1, zone: 4 });
});

test("updated: the changes -U sends, or undefined when the entry already has them", () => {
  const f = udp({ mark: 0x15, status: ["SEEN_REPLY"], timeout: 30, labels: [1] });
  assert.equal(updated(args("-U -m 0x15"), f), undefined);
  assert.deepEqual(updated(args("-U -m 0x2/0xf0"), f)?.mark, 0x05 | 0x2);
  const st = updated(args("-U -u ASSURED"), f);
  assert.deepEqual(st?.status, ["SEEN_REPLY", "ASSURED"]);
  assert.equal(updated(args("-U -u SEEN_REPLY"), f), undefined);
  assert.equal(updated(args("-U -t 30"), f), undefined);
  assert.equal(updated(args("-U -t 31"), f)?.timeout, 31);
  assert.deepEqual(updated(args("-U --label-add foo"), f)?.labels, [0]);
  assert.equal(updated(args("-U --label-add bar"), f), undefined);
  const del = updated(args("-U --label-del bar"), f);
  assert.deepEqual([del?.labels, del?.labelsMask], [[], [1]]);
  assert.deepEqual(updated(args("-U --label-del"), f)?.labels, []);
  const tcp = udp({ proto: "tcp", tcp: { state: "SYN_SENT" } });
  assert.deepEqual(updated(args("-U -p tcp --state ESTABLISHED"), tcp)?.tcp, {
    state: "ESTABLISHED",
  });
  assert.equal(updated(args("-U -p tcp --state SYN_SENT"), tcp), undefined);
});

test("lineFormat: plain listings go to Conntrack.lines(), the others through the printer", () => {
  assert.deepEqual(lineFormat(args("-L")), { extended: false, id: false });
  assert.deepEqual(lineFormat(args("-L -o extended,id")), { extended: true, id: true });
  for (
    const line of [
      "-L -o xml",
      "-L -o save",
      "-L -o json",
      "-L -o ktimestamp",
      "-L -o labels",
      "-L -l foo",
    ]
  ) {
    assert.equal(lineFormat(args(line)), undefined, line);
  }
});
