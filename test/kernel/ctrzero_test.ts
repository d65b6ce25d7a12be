/**
 * `dump(filter, { zero: true })` (`conntrack -L -z`) with counters made by real packets over lo,
 * and the `dying()` / `unconfirmed()` lists, against the real kernel in a throwaway namespace.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import { assertThrowawayNetns, conntrackCli, trackLoopback } from "../_helpers/netns.ts";
import { waitFor } from "../_helpers/wait.ts";
import { Conntrack, type Flow } from "../../mod.ts";
import { LibcTransport } from "../../netlink/transport.ts";
import { NETLINK_NETFILTER, SOL_NETLINK } from "../../netlink/message.ts";
import * as sys from "../../ffi/syscalls.ts";

assertThrowawayNetns();

const T = { timeout: 60000 };

let ready = false;
/** Counters on, lo up, and a rule that needs conntrack (so the namespace tracks lo traffic). */
function setup(): void {
  if (ready) return;
  trackLoopback("nfct_ctrzero", { acct: 1 });
  ready = true;
}

/** Two UDP sockets on 127.0.0.1 that talk: `send(n, replies)` sends n datagrams, the peer answers `replies`. */
async function udpPair(): Promise<
  {
    a: Socket;
    b: Socket;
    port: number;
    send(n: number, replies: number): Promise<void>;
    close(): void;
  }
> {
  const a = createSocket("udp4"), b = createSocket("udp4");
  a.on("error", () => {});
  b.on("error", () => {});
  await new Promise<void>((r) => b.bind(0, "127.0.0.1", () => r()));
  await new Promise<void>((r) => a.bind(0, "127.0.0.1", () => r()));
  const port = b.address().port;
  const bReceived: { port: number }[] = [];
  let aGot = 0;
  b.on("message", (_m, rinfo) => bReceived.push(rinfo));
  a.on("message", () => aGot++);
  const until = (cond: () => boolean) => waitFor(cond, "datagrams over lo to arrive", 15000, 2);
  return {
    a,
    b,
    port,
    async send(n, replies) {
      const before = bReceived.length, aBefore = aGot;
      for (let i = 0; i < n; i++) {
        await new Promise<void>((r) => a.send(`ping ${i}`, port, "127.0.0.1", () => r()));
      }
      await until(() => bReceived.length - before >= n);
      for (let i = 0; i < replies; i++) {
        await new Promise<void>((r) => b.send("pong!", a.address().port, "127.0.0.1", () => r()));
      }
      await until(() => aGot - aBefore >= replies);
    },
    close() {
      a.close();
      b.close();
    },
  };
}

const byPort = (ct: Conntrack, port: number): Flow | undefined =>
  ct.list({ proto: "udp", dport: port })[0];

test(
  "dump(filter, { zero: true }) returns the counters of real packets and zeroes exactly the matching flows",
  T,
  async () => {
    setup();
    using ct = Conntrack.open();
    ct.flushAll();
    const p1 = await udpPair(), p2 = await udpPair();
    try {
      await p1.send(5, 3);
      await p2.send(2, 0);
      // "ping N" is 6 bytes + 8 UDP + 20 IP = 34 per datagram; "pong!" is 5 + 28 = 33.
      const f1 = byPort(ct, p1.port)!;
      assert.deepEqual(f1.counters, {
        orig: { packets: 5, bytes: 170 },
        reply: { packets: 3, bytes: 99 },
      });

      const zeroed = ct.list({ proto: "udp", dport: p1.port }, { zero: true });
      assert.equal(zeroed.length, 1);
      assert.deepEqual(zeroed[0].orig, f1.orig);
      assert.deepEqual(zeroed[0].counters, {
        orig: { packets: 5, bytes: 170 },
        reply: { packets: 3, bytes: 99 },
      }, "the counters up to the reset");
      assert.deepEqual(byPort(ct, p1.port)!.counters, {
        orig: { packets: 0, bytes: 0 },
        reply: { packets: 0, bytes: 0 },
      }, "zero afterwards");
      assert.deepEqual(byPort(ct, p2.port)!.counters, {
        orig: { packets: 2, bytes: 68 },
        reply: { packets: 0, bytes: 0 },
      }, "a flow outside the filter kept its counters");

      // Counting starts again from zero.
      await p1.send(1, 1);
      assert.deepEqual(byPort(ct, p1.port)!.counters, {
        orig: { packets: 1, bytes: 34 },
        reply: { packets: 1, bytes: 33 },
      });

      // Whole table: the kernel's own dump-and-zero (IPCTNL_MSG_CT_GET_CTRZERO with NLM_F_DUMP).
      ct.create({
        proto: "tcp",
        orig: { src: "10.9.0.1", dst: "10.9.0.2", sport: 1, dport: 2 },
        timeout: 60,
        tcp: { state: "ESTABLISHED" },
      });
      const all = ct.list(undefined, { zero: true });
      assert.ok(all.length >= 3);
      const got = (port: number) =>
        all.find((f) => f.proto === "udp" && f.orig.dport === port)!.counters;
      assert.deepEqual(got(p1.port), {
        orig: { packets: 1, bytes: 34 },
        reply: { packets: 1, bytes: 33 },
      });
      assert.deepEqual(got(p2.port), {
        orig: { packets: 2, bytes: 68 },
        reply: { packets: 0, bytes: 0 },
      });
      for (const f of ct.list()) {
        assert.deepEqual(f.counters, {
          orig: { packets: 0, bytes: 0 },
          reply: { packets: 0, bytes: 0 },
        }, `${f.proto} ${f.orig.dport} zeroed`);
      }
      // conntrack(8)'s own -L -z (whole table only: it refuses -z with a filter) agrees with ours.
      await p2.send(3, 0);
      const line = conntrackCli(["-L", "-z"]).split("\n").find((l) =>
        l.includes(`dport=${p2.port} `)
      );
      assert.match(line ?? "", /packets=3 bytes=102 .*packets=0 bytes=0/);
      assert.deepEqual(byPort(ct, p2.port)!.counters, {
        orig: { packets: 0, bytes: 0 },
        reply: { packets: 0, bytes: 0 },
      });
    } finally {
      p1.close();
      p2.close();
    }
  },
);

test(
  "dump({ zero: true }) with a filter only userspace can check (CIDR) zeroes only what matches",
  T,
  async () => {
    setup();
    using ct = Conntrack.open();
    ct.flushAll();
    const p = await udpPair();
    try {
      await p.send(4, 0);
      const flows = ct.list({ src: "127.0.0.0/8", proto: "udp" }, { zero: true });
      assert.equal(flows.length, 1);
      assert.equal(flows[0].counters?.orig.packets, 4);
      assert.equal(byPort(ct, p.port)!.counters?.orig.packets, 0);
      assert.deepEqual(ct.list({ src: "10.0.0.0/8" }, { zero: true }), []);
    } finally {
      p.close();
    }
  },
);

const release = readFileSync("/proc/sys/kernel/osrelease", "utf8");
const [major, minor] = release.split(".").map(Number);
const since61 = major > 6 || (major === 6 && minor >= 1);

test(
  "unconfirmed() answers without error and, from Linux 6.1 on (no unconfirmed list), with no entry",
  T,
  () => {
    using ct = Conntrack.open();
    const u = [...ct.unconfirmed()];
    if (since61) assert.deepEqual(u, []);
    else assert.ok(Array.isArray(u));
  },
);

test(
  "dying() lists deleted entries whose destroy event could not be delivered, until a listener takes it",
  T,
  async () => {
    using ct = Conntrack.open();
    ct.flushAll();
    assert.deepEqual([...ct.dying()], [], "nothing dying in a quiet table");
    // A reliable event listener (NETLINK_BROADCAST_ERROR) with a tiny buffer that reads nothing:
    // destroy events that do not fit make the kernel keep the entries on its dying list and retry.
    const NF_NETLINK_CONNTRACK_DESTROY = 4,
      NETLINK_BROADCAST_ERROR = 4,
      SOL_SOCKET = 1,
      SO_RCVBUF = 8;
    const listener = new LibcTransport(NETLINK_NETFILTER, { groups: NF_NETLINK_CONNTRACK_DESTROY });
    try {
      sys.setsockoptInt(listener.unsafeFd(), SOL_SOCKET, SO_RCVBUF, 4096);
      sys.setsockoptInt(listener.unsafeFd(), SOL_NETLINK, NETLINK_BROADCAST_ERROR, 1);
      const flows = Array.from({ length: 100 }, (_, i) => ({
        proto: "udp" as const,
        timeout: 300,
        orig: { src: "10.70.0.1", dst: "10.70.0.2", sport: 3000 + i, dport: 53 },
      }));
      assert.equal(ct.createMany(flows).created, 100);
      const deleted = ct.deleteMany(ct.list());
      assert.equal(deleted.deleted, 100);
      assert.deepEqual(ct.list(), [], "gone from the table");
      const dying = [...ct.dying()];
      assert.ok(dying.length > 50, `most are dying (${dying.length})`);
      for (const f of dying) {
        assert.ok(f.status?.includes("DYING"), "status has DYING");
        assert.equal(f.orig.dst, "10.70.0.2");
      }
    } finally {
      listener.close();
    }
    // Without the listener the kernel's retry delivers (to nobody) and frees them.
    await waitFor(
      () => [...ct.dying()].length === 0,
      "the dying list to drain once the listener was gone",
      30000,
      50,
    );
  },
);
