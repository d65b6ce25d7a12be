/**
 * `nfct timeout|helper` (cli/nfct.ts) and the {@link Timeouts} library against Debian's
 * nfct(8) 1.4.7 (/usr/sbin/nfct) on the same throwaway namespace:
 * 1. One script of command lines runs through Debian's nfct, then (policies flushed, defaults
 *    restored) through ours, then alternating the two: every line gives the same stdout, exit
 *    code and stderr (after the `nfct vVERSION:` prefix).
 * 2. A policy made by nfct(8) (and one made by the library) is attached by an nftables rule
 *    (iptables-nft's `-j CT --timeout`, an `xt target CT` in `nft list ruleset`) and shortens
 *    the timeout of a real UDP flow on loopback, as `conntrack -L` shows; held, it cannot be
 *    deleted (EBUSY) by either tool.
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { test } from "node:test";
import { Helpers, NetlinkError, Timeouts } from "../../mod.ts";
import { assertThrowawayNetns, sh, trackLoopback } from "../_helpers/netns.ts";
import { NFCT, ROOT } from "../_helpers/run.ts";

assertThrowawayNetns();

const T = { timeout: 240000 };
const DEBIAN = ["/usr/sbin/nfct"];

/** One state's timeout of a policy, whatever its protocol. */
const secs = (p: { timeouts: object } | undefined, state: string) =>
  (p?.timeouts as Record<string, number> | undefined)?.[state];

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}
function exec(argv: string[]): Ran {
  // nfct(8) prints its argv[0] in one usage line: the same for both.
  const r = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, encoding: "utf8", timeout: 60000 });
  if (r.error) throw r.error;
  return {
    code: r.status ?? -1,
    stdout: r.stdout,
    stderr: r.stderr.replace(/^nfct v[^:]+: /gm, "nfct vX: ").replaceAll(
      "/usr/sbin/nfct ",
      "nfct ",
    ),
  };
}

/** nfct(8) command lines, in order (state carries over from line to line). */
const SCRIPT: string[][] = [
  ["list", "timeout"],
  [
    "add",
    "timeout",
    "t-tcp",
    "inet",
    "tcp",
    "established",
    "100",
    "close",
    "10",
    "close_wait",
    "10",
  ],
  ["add", "timeout", "t-udp", "inet", "udp", "unreplied", "10", "replied", "20"],
  ["timeout", "add", "t-icmp6", "inet6", "icmpv6", "timeout", "5"],
  ["add", "timeout", "t-gen", "inet", "generic", "timeout", "5"],
  ["add", "timeout", "t-sctp", "inet6", "sctp", "ESTABLISHED", "50", "closed", "3"],
  ["add", "timeout", "t-gre", "inet", "gre", "replied", "77"],
  ["add", "timeout", "t-lite", "inet", "udplite", "unreplied", "11"],
  ["add", "timeout", "t-icmp", "inet", "icmp", "timeout", "9"],
  ["add", "timeout", "t-v6", "inet6", "ipv6-icmp", "timeout", "6"],
  ["list", "timeout"],
  ["timeout", "list"],
  ["l", "timeout"],
  ["get", "timeout", "t-tcp"],
  ["get", "timeout", "nope"],
  ["add", "timeout", "t-tcp", "inet", "tcp", "established", "1"],
  ["add", "timeout", "x", "inet", "tcp"],
  ["add", "timeout", "x", "inet", "tcp", "established"],
  ["add", "timeout", "x", "inet", "tcp", "foo", "1"],
  ["add", "timeout", "x", "ip", "tcp", "established", "1"],
  ["add", "timeout", "x", "inet", "nosuchproto", "established", "1"],
  ["add", "timeout", "x", "inet"],
  ["add", "timeout"],
  ["delete", "timeout"],
  ["delete", "timeout", "a", "b"],
  ["get", "timeout"],
  ["flush", "timeout", "x"],
  ["list", "timeout", "x"],
  ["default-get", "timeout"],
  ["default-get", "timeout", "inet"],
  ["default-get", "timeout", "inet", "tcp"],
  ["default-get", "timeout", "inet6", "udp"],
  ["default-get", "timeout", "inet", "udplite"],
  ["default-get", "timeout", "inet", "icmp"],
  ["default-get", "timeout", "inet6", "icmpv6"],
  ["default-get", "timeout", "inet", "sctp"],
  ["default-get", "timeout", "inet", "gre"],
  ["default-get", "timeout", "inet", "generic"],
  ["default-get", "timeout", "inet", "dccp"],
  ["default-set", "timeout", "inet", "tcp"],
  ["default-set", "timeout", "inet", "tcp", "established"],
  ["default-set", "timeout", "inet", "udp", "unreplied", "33", "replied", "44"],
  ["default-get", "timeout", "inet", "udp"],
  ["default-set", "timeout", "inet", "udp", "unreplied", "30", "replied", "120"],
  ["delete", "timeout", "t-udp"],
  ["delete", "timeout", "t-udp"],
  ["de", "timeout", "t-gen"],
  ["list", "timeout"],
  ["flush", "timeout"],
  ["list", "timeout"],
  ["disable", "timeout"],
  ["x", "timeout"],
  ["timeout", "x"],
  ["list", "foo"],
  ["list"],
  ["helper"],
  ["list", "helper"],
  ["helper", "list"],
  ["get", "helper", "ftp"],
  ["get", "helper", "ftp", "inet", "tcp"],
  ["get", "helper", "ftp", "ip"],
  ["delete", "helper", "ftp", "inet", "sctp"],
  ["flush", "helper"],
  ["flush", "helper", "x"],
  ["add", "helper", "ftp", "inet", "tcp"],
  ["add", "helper", "foo", "inet", "tcp"],
  ["add", "helper", "ftp", "inet", "xx"],
  ["add", "helper", "ftp"],
  ["disable", "helper", "ftp", "inet", "tcp"],
  ["default-get", "helper"],
];

function runScript(pick: (i: number) => string[]): Ran[] {
  const out = SCRIPT.map((line, i) => exec([...pick(i), ...line]));
  // Back to a clean state for the next pass.
  exec([...DEBIAN, "flush", "timeout"]);
  exec([...DEBIAN, "default-set", "timeout", "inet", "udp", "unreplied", "30", "replied", "120"]);
  return out;
}

test(
  "nfct timeout/helper command lines: same stdout, stderr and exit codes as Debian's nfct(8) 1.4.7",
  T,
  () => {
    exec([...DEBIAN, "flush", "timeout"]);
    const theirs = runScript(() => DEBIAN);
    const ours = runScript(() => NFCT);
    const mixed = runScript((i) => (i % 2 ? DEBIAN : NFCT));
    // Ours adds one line where the kernel lacks nfnetlink_cthelper (checked in the next test).
    const same = (r: Ran): Ran => ({
      ...r,
      stderr: r.stderr.replace(/^nfct vX: this kernel has no nfnetlink_cthelper.*\n/m, ""),
    });
    for (let i = 0; i < SCRIPT.length; i++) {
      const what = `nfct ${SCRIPT[i].join(" ")}`;
      ours[i] = same(ours[i]);
      mixed[i] = same(mixed[i]);
      assert.deepEqual(ours[i], theirs[i], `${what} (ours vs Debian's)`);
      assert.deepEqual(mixed[i], theirs[i], `${what} (alternating tools)`);
    }
    // The script did exercise both outcomes.
    assert.ok(theirs.some((r) => r.code === 0 && r.stdout.includes(".t-tcp = {")));
    assert.ok(theirs.some((r) => r.code === 1 && r.stderr.includes("No such file or directory")));
  },
);

test("our nfct explains a missing nfnetlink_cthelper after nfct(8)'s own line", T, () => {
  const r = exec([...NFCT, "list", "helper"]);
  const d = exec([...DEBIAN, "list", "helper"]);
  assert.equal(r.code, d.code);
  if (d.stderr.includes("Invalid argument")) {
    assert.match(r.stderr, /nfnetlink_cthelper/);
    assert.throws(
      () => {
        using h = Helpers.open();
        h.list();
      },
      (e) =>
        e instanceof NetlinkError && e.code === "EINVAL" && /nfnetlink_cthelper/.test(e.message),
    );
  }
});

/** Sends one UDP datagram from 127.0.0.1 to `port` (nobody listens: the flow stays unreplied). */
async function udpTo(port: number): Promise<void> {
  const s = createSocket("udp4");
  await new Promise<void>((res, rej) =>
    s.send("x", port, "127.0.0.1", (e) => (e ? rej(e) : res()))
  );
  s.close();
}

function udpTimeout(port: number): number {
  const line = sh(`conntrack -L -p udp --dport ${port} 2>/dev/null`).trim();
  const m = /^udp\s+17\s+(\d+)\s/.exec(line);
  assert.ok(m, `conntrack -L shows the flow to port ${port}: ${line}`);
  return Number(m[1]);
}

test(
  "a policy made by nfct(8), attached by an nftables rule, shortens a real flow's timeout",
  T,
  async () => {
    trackLoopback("nfcttimeout");
    try {
      assert.equal(
        exec([
          ...DEBIAN,
          "add",
          "timeout",
          "short-udp",
          "inet",
          "udp",
          "unreplied",
          "7",
          "replied",
          "9",
        ]).code,
        0,
      );
      {
        using t = Timeouts.open();
        t.add({ name: "lib-udp", family: "ipv4", proto: "udp", timeouts: { unreplied: 5 } });
        assert.equal(secs(t.get("short-udp"), "unreplied"), 7, "the library reads nfct's policy");
      }
      sh("iptables -t raw -A OUTPUT -o lo -p udp --dport 40001 -j CT --timeout short-udp");
      sh("iptables -t raw -A OUTPUT -o lo -p udp --dport 40002 -j CT --timeout lib-udp");
      assert.match(
        sh("nft list ruleset 2>/dev/null"),
        /xt target "?CT"?/,
        "the rule lives in nftables",
      );
      await udpTo(40001);
      await udpTo(40002);
      await udpTo(40003); // no rule: the default (30 s)
      const attached = udpTimeout(40001);
      const lib = udpTimeout(40002);
      const plain = udpTimeout(40003);
      assert.ok(attached <= 7 && attached >= 5, `nfct's policy: ${attached} s`);
      assert.ok(lib <= 5 && lib >= 3, `the library's policy: ${lib} s`);
      assert.ok(plain > 20, `no policy: ${plain} s`);
      // Held by the rule and the flow: neither tool can delete it, both say EBUSY.
      const d = exec([...DEBIAN, "delete", "timeout", "short-udp"]);
      const o = exec([...NFCT, "delete", "timeout", "short-udp"]);
      assert.deepEqual(o, d);
      assert.match(d.stderr, /Device or resource busy/);
      {
        using t = Timeouts.open();
        assert.ok((t.get("short-udp")?.use ?? 0) > 1, "the kernel counts the holders");
      }
    } finally {
      sh(
        "iptables -t raw -F OUTPUT; conntrack -F 2>/dev/null; nft delete table inet nfcttimeout; true",
      );
      exec([...DEBIAN, "flush", "timeout"]);
    }
    using t = Timeouts.open();
    assert.equal(t.list().length, 0, "released policies are flushed");
  },
);

test("Timeouts validates before sending: unknown keys, states, ranges, name length", T, () => {
  using t = Timeouts.open();
  const bad: [unknown, ErrorConstructor][] = [
    [
      { name: "a", family: "ipv4", proto: "tcp", timeouts: { established: 1 }, extra: 1 },
      TypeError,
    ],
    [{ name: "a", family: "ipv4", proto: "tcp", timeouts: { replied: 1 } }, TypeError],
    [{ name: "a", family: "ipv4", proto: "tcp", timeouts: {} }, TypeError],
    [{ name: "a", family: "inet", proto: "tcp", timeouts: { established: 1 } }, TypeError],
    [{ name: "a", family: "ipv4", proto: "esp", timeouts: { timeout: 1 } }, TypeError],
    [{ name: "a", family: "ipv4", proto: "tcp", timeouts: { established: -1 } }, RangeError],
    [{ name: "a", family: "ipv4", proto: "tcp", timeouts: { established: 1.5 } }, TypeError],
    [{ name: "a", family: "ipv4", proto: "tcp", timeouts: { established: 2 ** 32 } }, RangeError],
    [
      { name: "x".repeat(32), family: "ipv4", proto: "tcp", timeouts: { established: 1 } },
      RangeError,
    ],
    [{ name: "", family: "ipv4", proto: "tcp", timeouts: { established: 1 } }, RangeError],
  ];
  for (const [p, E] of bad) assert.throws(() => t.add(p as never), E, JSON.stringify(p));
  assert.equal(t.list().length, 0, "nothing reached the kernel");
  t.add({ name: "x".repeat(31), family: "ipv6", proto: "sctp", timeouts: { heartbeatSent: 12 } });
  const p = t.get("x".repeat(31))!;
  assert.equal(secs(p, "heartbeatSent"), 12);
  assert.equal(p.family, "ipv6");
  t.add({ name: "x".repeat(31), family: "ipv6", proto: "sctp", timeouts: { established: 99 } }, {
    replace: true,
  });
  assert.equal(secs(t.get("x".repeat(31)), "established"), 99);
  assert.throws(
    () => t.add({ name: "x".repeat(31), family: "ipv6", proto: "sctp", timeouts: { closed: 1 } }),
    (e) => e instanceof NetlinkError && e.code === "EBUSY",
  );
  t.flush();
  const d = t.defaultGet("ipv4", "tcp");
  assert.equal(typeof secs(d, "established"), "number");
  assert.equal(Object.keys(d.timeouts).length, 11, "every TCP state the kernel has");
});
