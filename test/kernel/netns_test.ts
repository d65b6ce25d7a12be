/**
 * `Conntrack.open({ netns })`: one process manages the tables of several network namespaces,
 * named by path (`ip netns add`), by pid, or by an open fd, without entries leaking between
 * them; conntrack(8) run inside each namespace is the oracle.
 *
 * Every namespace here is created from inside the test's own throwaway namespace and removed
 * at the end of the test that made it (`ip netns add` bind-mounts it under /run/netns).
 * The guard (`assertThrowawayNetns`) in real processes: guard_test.ts.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readlinkSync, statSync } from "node:fs";
import process from "node:process";
import { addNetns, assertThrowawayNetns, sleeperInOwnNetns } from "../_helpers/netns.ts";
import { Conntrack, type Flow, SyscallError } from "../../mod.ts";
import * as sys from "../../ffi/syscalls.ts";

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
