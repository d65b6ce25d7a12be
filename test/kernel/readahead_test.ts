/**
 * Dumps read ahead on a worker thread (netlink/readahead.ts) against the real kernel: same
 * flows as a plain dump, the worker really does the receiving, and leaving early is clean.
 */
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import process from "node:process";
import assert from "node:assert/strict";
import { assertThrowawayNetns } from "../_helpers/netns.ts";
import { rawDumpRequest } from "../_helpers/raw_dump.ts";
import { Conntrack, type Flow } from "../../mod.ts";
import { HOST_LE, NETLINK_NETFILTER, NLMSG_ALIGN, NLMSG_DONE } from "../../netlink/message.ts";
import { LibcTransport } from "../../netlink/transport.ts";
import { ReadAhead } from "../../netlink/readahead.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };
const N = 30000;
const flow = (i: number): Flow => ({
  family: "ipv4",
  proto: i % 3 ? "udp" : "tcp",
  orig: {
    src: `10.20.${(i >> 8) & 255}.${i & 255}`,
    dst: i & 1 ? "10.21.0.1" : "10.22.0.1",
    sport: 1024 + (i % 50000),
    dport: 53,
  },
  timeout: 600,
  ...(i % 3 ? {} : { tcp: { state: "ESTABLISHED" } }),
} as Flow);

function fill(ct: Conntrack): void {
  ct.flushAll();
  const r = ct.createMany(Array.from({ length: N }, (_, i) => flow(i)));
  assert.equal(r.created, N);
}

test("the worker receives the dump's datagrams and they arrive whole and in order", T, () => {
  using ct = Conntrack.open();
  fill(ct);
  const t = new LibcTransport(NETLINK_NETFILTER);
  try {
    const req = rawDumpRequest(77);
    const ra = new ReadAhead(t.unsafeFd(), {
      slotSize: 65536,
      direct: (buf, wait) => t.recv(buf, wait),
    });
    const buf = new Uint8Array(65536);
    const bdv = new DataView(buf.buffer);
    let msgs = 0, datagrams = 0, done = false;
    try {
      // Let the worker start and take over before there is anything to read.
      const until = Date.now() + 20000;
      while (ra.state !== "running" && Date.now() < until) assert.equal(ra.recv(buf, false), -1);
      assert.equal(ra.state, "running", String(ra.failure));
      t.send(req);
      while (!done) {
        const n = ra.recv(buf, true);
        assert.ok(n > 0 && n <= buf.length, `datagram of ${n} bytes`);
        datagrams++;
        for (let off = 0; off < n;) {
          const len = bdv.getUint32(off, HOST_LE);
          assert.equal(bdv.getUint32(off + 8, HOST_LE), 77, "every message answers our request");
          if (bdv.getUint16(off + 4, HOST_LE) === NLMSG_DONE) {
            done = true;
            assert.equal(off + NLMSG_ALIGN(len), n, "DONE is the datagram's last message");
          } else msgs++;
          off += NLMSG_ALIGN(len);
        }
      }
      assert.equal(msgs, N);
      assert.equal(ra.workerDatagrams, datagrams, "the worker received every datagram");
      assert.ok(datagrams > 100);
    } finally {
      ra.stop();
    }
    // The worker stopped at DONE, the socket is idle: nothing was read past the dump.
    assert.equal(t.recv(buf, false), -1);
  } finally {
    t.close();
  }
  ct.flushAll();
});

test("dump({ readAhead: true }) yields the flows a plain dump yields", T, () => {
  using ct = Conntrack.open();
  fill(ct);
  const key = (f: Flow) => `${f.id}/${f.orig.src}/${f.orig.sport}`;
  const plain = Array.from(ct.dump(), key).sort();
  const ahead = Array.from(ct.dump(undefined, { readAhead: true }), key).sort();
  assert.equal(plain.length, N);
  assert.deepEqual(ahead, plain);
  const udp = Array.from(ct.dump({ proto: "udp", dst: "10.21.0.1" }, { readAhead: true }));
  assert.equal(
    udp.length,
    Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 && i & 1).length,
  );
  assert.ok(udp.every((f) => f.proto === "udp" && f.orig.dst === "10.21.0.1"));
  ct.flushAll();
});

test(
  "a port filter without a family (one kernel dump per family) read ahead: the flows of both families, and flush deletes exactly them",
  T,
  () => {
    using ct = Conntrack.open();
    fill(ct);
    const v6 = (i: number): Flow => ({
      family: "ipv6",
      proto: "udp",
      orig: {
        src: `fd00::${(i + 1).toString(16)}`,
        dst: "fd00::53",
        sport: 2000 + i,
        dport: i % 2 ? 53 : 5353,
      },
      timeout: 600,
    } as Flow);
    const M = 6000; // IPv6 entries: enough for the second dump to be read ahead too
    assert.equal(ct.createMany(Array.from({ length: M }, (_, i) => v6(i))).created, M);
    const key = (f: Flow) => `${f.family}/${f.orig.src}/${f.orig.sport}`;
    const filter = { proto: "udp" as const, dport: 53 };
    const each = [
      ...ct.dump({ ...filter, family: "ipv4" }),
      ...ct.dump({ ...filter, family: "ipv6" }),
    ].map(key).sort();
    const both = Array.from(ct.dump(filter, { readAhead: true }), key).sort();
    const udp4 = Array.from({ length: N }, (_, i) => i).filter((i) => i % 3).length;
    assert.equal(each.length, udp4 + M / 2);
    assert.deepEqual(both, each);
    // Leaving during the IPv4 part ends it cleanly; the client goes on.
    let n = 0;
    for (const _ of ct.dump(filter, { readAhead: true })) if (++n === 10) break;
    assert.equal(ct.count(), N + M);
    // The same two dumps behind flush (via dump): each matching entry deleted once.
    const listed: string[] = [];
    assert.equal(
      ct.flush(filter, { via: "dump", onDeleted: (f) => listed.push(key(f)) }).deleted,
      each.length,
    );
    assert.deepEqual(listed.sort(), each);
    assert.equal(ct.count(), N + M - each.length);
    ct.flushAll();
  },
);

test("breaking out of a read-ahead dump stops its thread, and the next requests work", T, () => {
  using ct = Conntrack.open();
  fill(ct);
  for (let round = 0; round < 3; round++) {
    let n = 0;
    for (const _ of ct.dump(undefined, { readAhead: true })) if (++n === 100 * (round + 1)) break;
    assert.equal(n, 100 * (round + 1));
    assert.equal(ct.count(), N);
    assert.equal(ct.list().length, N);
  }
  // An exception thrown inside the loop also ends it.
  assert.throws(() => {
    for (const _ of ct.dump(undefined, { readAhead: true })) throw new Error("stop here");
  }, /stop here/);
  assert.deepEqual(ct.flush({ dst: "10.21.0.0/16" }), { via: "dump", deleted: N / 2 });
  assert.equal(ct.count(), N / 2);
  ct.flushAll();
});

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
test("Deno without --allow-read: the dump is read on the main thread, no error escapes", {
  ...T,
  skip: !isDeno && "Deno only",
}, () => {
  const script = new URL("./_flush_cidr.ts", import.meta.url).pathname;
  const r = spawnSync(process.execPath, ["run", "--allow-ffi", "--no-check", script], {
    encoding: "utf8",
  });
  assert.equal(r.stderr, "");
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), "5000");
});

test(
  "200 short read-ahead dumps (the worker takes over near the end): each sees every flow",
  T,
  () => {
    using ct = Conntrack.open();
    ct.flushAll();
    const n = 800; // ~150 KiB: the worker starts after 128 KiB and meets DONE soon after
    assert.equal(ct.createMany(Array.from({ length: n }, (_, i) => flow(i))).created, n);
    for (let round = 0; round < 200; round++) {
      let seen = 0;
      for (const _ of ct.dump(undefined, { readAhead: true })) seen++;
      assert.equal(seen, n, `round ${round}`);
    }
    ct.flushAll();
  },
);

for (const how of ["close", "leave"] as const) {
  test(
    `a read-ahead dump dropped mid-way (client ${
      how === "close" ? "closed" : "left open"
    }) does not keep the process alive`,
    T,
    () => {
      const script = new URL("./_dropped_dump.ts", import.meta.url).pathname;
      const args = isDeno ? ["run", "-A", "--no-check", script, how] : [script, how];
      const t = Date.now();
      const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 30000 });
      const s = (Date.now() - t) / 1000;
      assert.equal(r.error, undefined, `the child did not exit within 30 s (${String(r.error)})`);
      assert.equal(r.stdout.trim(), "dropped");
      assert.equal(r.status, 0, r.stderr);
      // Closed: the read-ahead ends with the socket. Left open: its thread gives up after 2 s.
      assert.ok(s < (how === "close" ? 8 : 12), `exited after ${s} s`);
    },
  );
}

test(
  "a consumer that pauses longer than the worker waits still gets every flow (the rest is read directly)",
  T,
  () => {
    using ct = Conntrack.open();
    fill(ct);
    let n = 0;
    for (const _ of ct.dump(undefined, { readAhead: true })) {
      // By the 2000th flow the worker is running; during the pause it fills its ring and gives up.
      if (++n === 2000) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2600); // > GIVE_UP_MS
    }
    assert.equal(n, N);
    assert.equal(ct.count(), N);
    ct.flushAll();
  },
);
