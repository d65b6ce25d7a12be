/**
 * `Conntrack.open({ netns })`: one process manages the tables of several network namespaces,
 * named by path (`ip netns add`), by pid, or by an open fd, without entries leaking between
 * them; conntrack(8) run inside each namespace is the oracle.
 *
 * Every namespace here is created from inside the test's own throwaway namespace and removed
 * at the end of the test that made it (`ip netns add` bind-mounts it under /run/netns).
 * Also the guard (`assertThrowawayNetns`) in real processes: every demo, benchmark and test child
 * script refuses, before opening a netlink socket, where it is told or can see that its
 * namespace is the host's; those children run in this test's own namespace, never the host's.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import process from "node:process";
import { addNetns, assertThrowawayNetns, sleeperInOwnNetns } from "../_helpers/netns.ts";
import {
  assertThrowawayNetns as guard,
  Conntrack,
  type Flow,
  isThrowawayNetns,
  readNetnsIds,
  SyscallError,
  throwawayNetnsRefusal,
} from "../../mod.ts";
import { NetnsHandle } from "../../netlink/netns.ts";
import * as sys from "../../ffi/syscalls.ts";
import { ROOT, RUN_TS } from "../_helpers/run.ts";

assertThrowawayNetns();

/**
 * This process's open sockets and namespace fds — what a failed open could leak. Other fds are
 * left out: Bun closes pipes of finished child processes (other tests spawn hundreds) at GC.
 */
function socketAndNetnsFds(): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${process.pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${process.pid}/fd/${fd}`);
      if (target.startsWith("socket:") || target.startsWith("net:")) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

const T = { timeout: 60000 };

/** conntrack(8) run inside a namespace: by name (`ip netns exec`) or pid (`nsenter`). */
function cliIn(ns: string | number, args: string[]): string {
  const argv = typeof ns === "string"
    ? ["ip", ["netns", "exec", ns, "conntrack", ...args]] as const
    : ["nsenter", ["-t", String(ns), "-n", "conntrack", ...args]] as const;
  return execFileSync(argv[0], [...argv[1]], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** The original-direction source addresses conntrack(8) lists, sorted. */
function cliSources(ns: string | number): string[] {
  return cliIn(ns, ["-L"]).split("\n").filter((l) => l).map((l) => /src=(\S+)/.exec(l)![1]).sort();
}

function udp(src: string, sport = 1000): Partial<Flow> & Pick<Flow, "proto"> {
  return { proto: "udp", timeout: 300, orig: { src, dst: "192.0.2.1", sport, dport: 53 } };
}

const sources = (ct: Conntrack) => ct.list().map((f) => f.orig.src).sort();

test(
  "two namespaces (by path and by pid) from one process: each sees only its own entries; flush of A leaves B",
  T,
  async () => {
    const a = addNetns("nfct-test");
    const { pid, child } = await sleeperInOwnNetns();
    const here = readlinkSync("/proc/thread-self/ns/net");
    try {
      using home = Conntrack.open();
      home.flushAll();
      using ctA = Conntrack.open({ netns: a.path });
      using ctB = Conntrack.open({ netns: pid });
      assert.equal(
        readlinkSync("/proc/thread-self/ns/net"),
        here,
        "the thread is back in its own namespace",
      );
      assert.equal(ctA.count(), 0);
      assert.equal(ctB.count(), 0);

      // Interleaved, from the same thread: A, B, A, B...
      for (let i = 1; i <= 5; i++) {
        ctA.create(udp(`10.10.0.${i}`));
        ctB.create(udp(`10.20.0.${i}`));
      }
      ctB.create(udp("10.20.0.99"));
      home.create(udp("10.30.0.1"));

      const inA = ["10.10.0.1", "10.10.0.2", "10.10.0.3", "10.10.0.4", "10.10.0.5"];
      const inB = ["10.20.0.1", "10.20.0.2", "10.20.0.3", "10.20.0.4", "10.20.0.5", "10.20.0.99"];
      assert.deepEqual(sources(ctA), inA);
      assert.deepEqual(sources(ctB), inB);
      assert.deepEqual(sources(home), ["10.30.0.1"]);
      assert.equal(ctA.count(), 5);
      assert.equal(ctB.count(), 6);
      // conntrack(8) inside each namespace agrees.
      assert.deepEqual(cliSources(a.name), inA);
      assert.deepEqual(cliSources(pid), inB);
      // get() in the wrong namespace finds nothing.
      assert.equal(ctA.get(udp("10.20.0.1") as Flow), undefined);
      assert.ok(ctB.get(udp("10.20.0.1") as Flow));

      assert.deepEqual(ctA.flushAll({ via: "dump" }), { via: "dump", deleted: 5 });
      assert.equal(ctA.count(), 0);
      assert.deepEqual(cliSources(a.name), []);
      assert.deepEqual(sources(ctB), inB, "flushing A left B alone");
      assert.deepEqual(cliSources(pid), inB);
      assert.deepEqual(sources(home), ["10.30.0.1"], "and the test's own namespace");
      assert.equal(readlinkSync("/proc/thread-self/ns/net"), here);
    } finally {
      child.kill("SIGKILL");
      a.remove();
    }
  },
);

test(
  "every socket of a netns client lands there: the second socket during a dump, and one reopened after an abandoned dump",
  T,
  () => {
    const a = addNetns("nfct-test");
    try {
      using home = Conntrack.open();
      home.flushAll();
      home.create(udp("10.30.0.1"));
      using ct = Conntrack.open({ netns: a.path });
      const flows = Array.from(
        { length: 300 },
        (_, i) => udp(`10.40.${i >> 8}.${i & 255}`, 2000 + i),
      );
      assert.equal(ct.createMany(flows).created, 300);

      // Requests while a dump is being iterated go through the client's second socket.
      let seen = 0;
      for (const f of ct.dump()) {
        if (seen++ === 0) {
          assert.ok(ct.get(f), "the second socket finds A's entry");
          ct.create(udp("10.41.0.1"));
        }
      }
      assert.ok(seen >= 300);
      assert.ok(ct.get(udp("10.41.0.1") as Flow), "created in A through the second socket");
      assert.equal(home.get(udp("10.41.0.1") as Flow), undefined, "not in the test's namespace");

      // Breaking out of a dump closes and reopens the socket: the new one is in A too.
      for (const _ of ct.dump()) {
        break;
      }
      assert.equal(ct.count(), 301);
      // A flush with a CIDR filter dumps on one socket and deletes on the second.
      assert.deepEqual(ct.flush({ src: "10.40.0.0/16" }), { via: "dump", deleted: 300 });
      assert.deepEqual(sources(ct), ["10.41.0.1"]);
      assert.deepEqual(cliSources(a.name), ["10.41.0.1"]);
      assert.deepEqual(sources(home), ["10.30.0.1"]);
    } finally {
      a.remove();
    }
  },
);

test(
  "the namespace stays open for the client's life: removing its name does not move the client",
  T,
  () => {
    const a = addNetns("nfct-test");
    let removed = false;
    try {
      using ct = Conntrack.open({ netns: a.path });
      ct.create(udp("10.50.0.1"));
      a.remove();
      removed = true;
      assert.equal(existsSync(a.path), false);
      for (const _ of ct.dump()) break; // reopen after the name is gone: still the same table
      assert.deepEqual(sources(ct), ["10.50.0.1"]);
    } finally {
      if (!removed) a.remove();
    }
  },
);

test(
  "{ netns: { fd } } borrows the fd: the client works in that namespace and leaves the fd open",
  T,
  () => {
    const a = addNetns("nfct-test");
    const O_RDONLY_CLOEXEC = 0o2000000;
    const fd = sys.open(a.path, O_RDONLY_CLOEXEC);
    try {
      {
        using ct = Conntrack.open({ netns: { fd } });
        ct.create(udp("10.60.0.1"));
        assert.deepEqual(cliSources(a.name), ["10.60.0.1"]);
      }
      // Still open after the client closed: it names the same namespace file.
      assert.equal(statSync(`/proc/self/fd/${fd}`).ino, statSync(a.path).ino);
      using again = Conntrack.open({ netns: { fd } });
      assert.deepEqual(sources(again), ["10.60.0.1"]);
    } finally {
      sys.close(fd);
      a.remove();
    }
  },
);

test(
  "a bad netns is refused with a SyscallError or TypeError that names it, and nothing is left open",
  T,
  () => {
    const fdsBefore = socketAndNetnsFds();
    const here = readlinkSync("/proc/thread-self/ns/net");

    const missing = `/run/netns/nfct-test-${process.pid}-missing`;
    assert.throws(() => Conntrack.open({ netns: missing }), (e: unknown) => {
      assert.ok(e instanceof SyscallError);
      assert.equal(e.code, "ENOENT");
      assert.equal(e.syscall, "open");
      assert.equal(
        e.message,
        `Cannot open network namespace ${missing}: open() failed: ENOENT (no such entry)`,
      );
      return true;
    });
    assert.throws(() => Conntrack.open({ netns: 2 ** 31 - 2 }), (e: unknown) => {
      assert.ok(e instanceof SyscallError);
      assert.equal(e.code, "ENOENT");
      assert.match(
        e.message,
        /^Cannot open network namespace of pid 2147483646 \(\/proc\/2147483646\/ns\/net\): open\(\) failed: ENOENT/,
      );
      return true;
    });
    // A file that is not a network namespace: opened fine, refused by setns().
    assert.throws(() => Conntrack.open({ netns: "/proc/self/ns/uts" }), (e: unknown) => {
      assert.ok(e instanceof SyscallError);
      assert.equal(e.syscall, "setns");
      assert.equal(e.code, "EINVAL");
      assert.match(
        e.message,
        /^Cannot enter network namespace \/proc\/self\/ns\/uts: setns\(\) failed: EINVAL .*is it a network namespace/,
      );
      return true;
    });
    assert.throws(() => Conntrack.open({ netns: "/etc/hostname" }), {
      name: "SyscallError",
      code: "EINVAL",
    });
    assert.throws(() => Conntrack.open({ netns: { fd: 100000 } }), {
      name: "SyscallError",
      code: "EBADF",
    });
    for (const bad of [0, -1, 1.5, "", { pid: 1 }, null]) {
      assert.throws(
        () => Conntrack.open({ netns: bad as never }),
        TypeError,
        `netns ${JSON.stringify(bad)}`,
      );
    }
    assert.throws(() => Conntrack.open({ netns: { fd: -1 } }), RangeError, "an fd out of range");
    assert.throws(() =>
      Conntrack.open({
        netns: "/proc/self/ns/net",
        transport: () => {
          throw new Error("unused");
        },
      }), TypeError);

    assert.equal(readlinkSync("/proc/thread-self/ns/net"), here, "still in the test's namespace");
    const fdsAfter = socketAndNetnsFds();
    assert.equal(fdsAfter, fdsBefore, "no fd leaked by the failed opens");
  },
);

// --- The throwaway-namespace guard, in real processes ---

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

/**
 * Runs `argv` under `strace -f -e trace=socket` and returns its exit status, stderr and the
 * netlink sockets it (or any of its threads and children) opened.
 */
function runTraced(
  argv: string[],
  env: Record<string, string | undefined>,
): { status: number | null; stderr: string; netlink: string[] } {
  const trace = `/tmp/nfct-guard-${process.pid}-${Math.random().toString(36).slice(2)}.strace`;
  try {
    const r = spawnSync("strace", ["-f", "-qq", "-e", "trace=socket", "-o", trace, ...argv], {
      cwd: ROOT,
      encoding: "utf8",
      env,
    });
    const calls = readFileSync(trace, "utf8").split("\n");
    return {
      status: r.status,
      stderr: r.stderr,
      netlink: calls.filter((l) => l.includes("AF_NETLINK")),
    };
  } finally {
    rmSync(trace, { force: true });
  }
}

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
      const r = runTraced([...RUN_TS, script, ...args], { ...process.env, NFCT_HOST_NETNS: self });
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
      const r = runTraced(
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
