/**
 * The throwaway-namespace guard (`assertThrowawayNetns`) in real processes: it passes in the
 * test's namespace and in one a thread entered; every demo, benchmark and test child script
 * refuses, before opening a netlink socket, where it is told or can see that its namespace is the
 * host's. Those children run in this test's own namespace, never the host's.
 * @module
 */
import assert from "node:assert/strict";
import { readlinkSync, statSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import {
  assertThrowawayNetns as guard,
  Conntrack,
  isThrowawayNetns,
  readNetnsIds,
  throwawayNetnsRefusal,
} from "../../mod.ts";
import { NetnsHandle } from "../../netlink/netns.ts";
import { addNetns, assertThrowawayNetns } from "../_helpers/netns.ts";
import { ROOT, RUN_TS } from "../_helpers/run.ts";
import { traced } from "../_helpers/strace.ts";

assertThrowawayNetns();

const T = { timeout: 60000 };

/** Runs `argv` under strace; its exit status, stderr and the netlink sockets it opened. */
function tracedSockets(
  argv: string[],
  env: Record<string, string | undefined>,
): { status: number | null; stderr: string; netlink: string[] } {
  const r = traced(argv, { cwd: ROOT, syscalls: ["socket"], env });
  return { ...r, netlink: r.calls.filter((l) => l.includes("AF_NETLINK")) };
}

/** Every script that fills or empties a table for a demo, a benchmark or a test, with arguments. */
const GUARDED: [string, ...string[]][] = [
  ["examples/demo.ts", "10"],
  ["bench/op.ts", "fill", "10"],
  ["test/kernel/_delete_half.ts", "10", "1"],
  ["test/kernel/_dropped_dump.ts", "close"],
  ["test/kernel/_flush_cidr.ts"],
];

/** This namespace's table as sorted lines: every flow's identity, to compare before and after. */
const tableLines = (ct: Conntrack) =>
  ct.list().map((f) =>
    `${f.family} ${f.proto} ${f.orig.src} ${f.orig.dst} ${f.orig.sport} ${f.orig.dport} id=${f.id}`
  ).sort();

test(
  "the guard passes in the test's namespace and in one entered by a thread; it reads the thread's namespace, not the process's",
  T,
  () => {
    const ids = readNetnsIds();
    assert.equal(ids.self, readlinkSync("/proc/self/ns/net"));
    assert.notEqual(
      ids.self,
      ids.host,
      "NFCT_HOST_NETNS names the runner's namespace, not this one",
    );
    assert.equal(isThrowawayNetns(), true);
    guard("run kernel tests");

    const ns = addNetns("nfct-guard");
    try {
      using h = NetnsHandle.open(ns.path);
      const inside = h.run(() => ({ ids: readNetnsIds(), ok: isThrowawayNetns() }));
      assert.equal(inside.ids.self, `net:[${statSync(ns.path).ino}]`);
      assert.notEqual(inside.ids.self, ids.self);
      assert.equal(inside.ok, true);
      // Named as the host's, that namespace is refused while this thread is in it, and only then.
      const named = { ...inside.ids, host: inside.ids.self };
      assert.match(throwawayNetnsRefusal(named) ?? "", /NFCT_HOST_NETNS names/);
      assert.equal(readNetnsIds().self, ids.self, "the thread came back");
    } finally {
      ns.remove();
    }
  },
);

test(
  "demo, benchmark and test child scripts refuse, before opening any netlink socket, where NFCT_HOST_NETNS names their namespace as the host's",
  T,
  () => {
    // The children run here, in this test's throwaway namespace, told that it is the host's: were
    // a guard missing, only this table would change (and the test fails on it).
    using ct = Conntrack.open();
    ct.flushAll();
    for (let i = 0; i < 3; i++) {
      ct.create({
        proto: "udp",
        timeout: 300,
        orig: { src: `192.0.2.${10 + i}`, dst: "198.51.100.1", sport: 4000 + i, dport: 53 },
      });
    }
    const before = tableLines(ct);
    const self = readlinkSync("/proc/self/ns/net");
    for (const [script, ...args] of GUARDED) {
      const r = tracedSockets([...RUN_TS, script, ...args], {
        ...process.env,
        NFCT_HOST_NETNS: self,
      });
      assert.notEqual(r.status, 0, `${script} exits non-zero`);
      assert.match(
        r.stderr,
        /Refusing to .*: this is the network namespace NFCT_HOST_NETNS names as the host's/,
        script,
      );
      assert.match(
        r.stderr,
        /node scripts\/netns\.mjs <command>/,
        `${script}: the message says what to do`,
      );
      assert.deepEqual(r.netlink, [], `${script} opened no netlink socket`);
      assert.deepEqual(tableLines(ct), before, `${script} left the table as it was`);
    }
    ct.flushAll();
  },
);

test(
  "demo, benchmark and test child scripts refuse in pid 1's namespace (a new pid namespace whose pid 1 is the script)",
  T,
  () => {
    using ct = Conntrack.open();
    ct.flushAll();
    ct.create({
      proto: "tcp",
      timeout: 300,
      orig: { src: "192.0.2.20", dst: "198.51.100.2", sport: 5000, dport: 443 },
      tcp: { state: "ESTABLISHED" },
    });
    const before = tableLines(ct);
    const env = { ...process.env, NFCT_HOST_NETNS: undefined };
    for (const [script, ...args] of GUARDED) {
      // unshare -pf --mount-proc: the script becomes pid 1 of a new pid namespace, in this network
      // namespace, with a /proc of its own, so /proc/1/ns/net is readable and is its own.
      const r = tracedSockets(
        ["unshare", "-pf", "--mount-proc", "--", ...RUN_TS, script, ...args],
        env,
      );
      assert.notEqual(r.status, 0, `${script} exits non-zero`);
      assert.match(r.stderr, /Refusing to .*: this is pid 1's network namespace/, script);
      assert.deepEqual(r.netlink, [], `${script} opened no netlink socket`);
      assert.deepEqual(tableLines(ct), before, `${script} left the table as it was`);
    }
    ct.flushAll();
  },
);
