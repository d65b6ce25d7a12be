/**
 * A read-ahead (netlink/readahead.ts) whatever the consumer's pace, against the real kernel: a
 * consumer faster than the worker (the main thread sleeps until some datagrams are in, or the
 * dump ends), slower (the worker's ring fills), pausing longer than the worker's 100 ms waits or
 * than it waits at all (GIVE_UP_MS), and the worker taking over a few datagrams before the end.
 * Every datagram must come out once, whole and in the order a dump without read-ahead gives;
 * none may be waited for beyond the dump's end.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertThrowawayNetns } from "../_helpers/netns.ts";
import { rawDumpRequest } from "../_helpers/raw_dump.ts";
import { sleepSync, waitForSync } from "../_helpers/wait.ts";
import { Conntrack, type Flow } from "../../mod.ts";
import * as C from "../../conntrack/constants.ts";
import {
  HOST_LE,
  NETLINK_NETFILTER,
  NLMSG_ALIGN,
  NLMSG_DONE,
  NLMSG_HDRLEN,
} from "../../netlink/message.ts";
import { LibcTransport } from "../../netlink/transport.ts";
import { ReadAhead } from "../../netlink/readahead.ts";
import { GIVE_UP_MS } from "../../netlink/_thread.ts";

assertThrowawayNetns();

const T = { timeout: 180000 };
const SEQ = 4242;

const flow = (i: number): Flow => ({
  family: "ipv4",
  proto: "udp",
  orig: { src: `10.30.${(i >> 8) & 255}.${i & 255}`, dst: "10.31.0.1", sport: 1024, dport: 53 },
  timeout: 900,
} as Flow);

function fill(ct: Conntrack, n: number): void {
  ct.flushAll();
  assert.equal(ct.createMany(Array.from({ length: n }, (_, i) => flow(i))).created, n);
}

/** Sends a dump request of the IPv4 table on `t`. */
const sendDump = (t: LibcTransport) => t.send(rawDumpRequest(SEQ));

/** Appends the `CTA_ID` of each flow of datagram `buf[0, n)` to `ids`; true at `NLMSG_DONE`. */
function idsOf(buf: Uint8Array, n: number, ids: number[]): boolean {
  const dv = new DataView(buf.buffer, buf.byteOffset, n);
  for (let off = 0; off < n;) {
    const len = dv.getUint32(off, HOST_LE);
    assert.equal(dv.getUint32(off + 8, HOST_LE), SEQ, "every message answers the request");
    if (dv.getUint16(off + 4, HOST_LE) === NLMSG_DONE) {
      assert.equal(off + NLMSG_ALIGN(len), n, "DONE ends its datagram");
      return true;
    }
    let id = -1;
    for (let p = off + NLMSG_HDRLEN + 4; p + 4 <= off + len;) {
      const alen = dv.getUint16(p, HOST_LE);
      if ((dv.getUint16(p + 2, HOST_LE) & 0x3fff) === C.CTA_ID) id = dv.getUint32(p + 4);
      p += NLMSG_ALIGN(alen);
    }
    assert.ok(id >= 0, "each flow has its id");
    ids.push(id);
    off += NLMSG_ALIGN(len);
  }
  return false;
}

/** The ids of a dump read on this thread alone, and how many datagrams it took. */
function plainDump(): { ids: number[]; datagrams: number } {
  const t = new LibcTransport(NETLINK_NETFILTER);
  try {
    sendDump(t);
    const buf = new Uint8Array(65536), ids: number[] = [];
    let datagrams = 0;
    while (!idsOf(buf, t.recv(buf, true), ids)) datagrams++;
    return { ids, datagrams: datagrams + 1 };
  } finally {
    t.close();
  }
}

interface AheadOptions {
  /** Datagrams read on this thread before the read-ahead starts (-1: it is running before the request). */
  directFirst?: number;
  /** Called before each datagram is taken from the read-ahead (its index among them). */
  pace?: (i: number) => void;
}

/** A dump read ahead: the ids, what the worker received, and the receives that took >= 100 ms. */
function aheadDump(o: AheadOptions) {
  const t = new LibcTransport(NETLINK_NETFILTER);
  const buf = new Uint8Array(65536), ids: number[] = [];
  let done = false, slow = 0;
  try {
    if (o.directFirst !== -1) sendDump(t);
    for (let i = 0; i < (o.directFirst ?? 0) && !done; i++) {
      done = idsOf(buf, t.recv(buf, true), ids);
    }
    const ra = new ReadAhead(t.unsafeFd(), {
      slotSize: buf.length,
      direct: (b, wait) => t.recv(b, wait),
    });
    try {
      // Until it is up, recv() would read here: wait for it, so that it takes over right here.
      waitForSync(() => ra.state !== "starting", "the read-ahead thread to start", 30000);
      assert.equal(ra.state, "ready", String(ra.failure));
      if (o.directFirst === -1) {
        assert.equal(ra.recv(buf, false), -1, "nothing to read yet");
        assert.equal(ra.state, "running");
        sendDump(t);
      }
      for (let i = 0; !done; i++) {
        o.pace?.(i);
        const t0 = performance.now();
        const n = ra.recv(buf, true);
        if (performance.now() - t0 >= 100) slow++;
        assert.ok(n > 0 && n <= buf.length, `datagram of ${n} bytes`);
        done = idsOf(buf, n, ids);
      }
      const worker = ra.workerDatagrams;
      ra.stop();
      assert.equal(t.recv(buf, false), -1, "nothing was read past the dump");
      return { ids, worker, slow };
    } finally {
      ra.stop();
    }
  } finally {
    t.close();
  }
}

test("a read-ahead dump gives every flow once and in order, at any pace of its consumer", T, () => {
  using ct = Conntrack.open();
  fill(ct, 20000);
  const plain = plainDump();
  assert.equal(plain.ids.length, 20000);
  assert.ok(plain.datagrams > 40, `${plain.datagrams} datagrams`);
  assert.deepEqual(plainDump().ids, plain.ids, "two dumps of a table left alone agree");
  // What the worker read: all of it, some (it gave up during a pause), or either (a pause close
  // to GIVE_UP_MS: 0.2 s on Deno, where a loaded machine may stretch it past).
  const paces: [string, (i: number) => void, "all" | "some" | "either"][] = [
    ["fast", () => {}, "all"],
    ["slow (2 ms a datagram: the ring fills)", () => sleepSync(2), "all"],
    ["bursts of 10 datagrams, 30 ms apart", (i) => i % 10 === 9 && sleepSync(30), "all"],
    [
      "one pause of 150 ms (beyond the worker's 100 ms waits)",
      (i) => i === 3 && sleepSync(150),
      GIVE_UP_MS >= 1000 ? "all" : "either",
    ],
    [
      `one pause beyond GIVE_UP_MS (${GIVE_UP_MS} ms)`,
      (i) => i === 3 && sleepSync(GIVE_UP_MS + 800),
      "some",
    ],
  ];
  for (const [name, pace, worker] of paces) {
    const got = aheadDump({ pace });
    assert.deepEqual(got.ids, plain.ids, name);
    assert.ok(got.slow <= 3, `${name}: ${got.slow} datagrams waited for >= 100 ms`);
    if (worker === "all") assert.equal(got.worker, plain.datagrams, `${name}: the worker read all`);
    if (worker === "some") assert.ok(got.worker < plain.datagrams, `${name}: the rest came direct`);
  }
  ct.flushAll();
});

test(
  "the worker taking over 1 to 10 datagrams before the end, or running before a dump of 1 to 7: every flow, no wait past the end",
  T,
  () => {
    using ct = Conntrack.open();
    let slow = 0, rounds = 0;
    for (const n of [0, 10, 150, 450, 800]) { // up to 7 datagrams (fewer than it gathers before a wake-up)
      fill(ct, n);
      const plain = plainDump();
      assert.ok(plain.datagrams <= 7, `${n} flows: ${plain.datagrams} datagrams`);
      for (let round = 0; round < 5; round++, rounds++) {
        const got = aheadDump({ directFirst: -1 });
        assert.deepEqual(got.ids, plain.ids, `${n} flows, round ${round}`);
        assert.equal(got.worker, plain.datagrams, "the worker read them all");
        slow += got.slow;
      }
    }
    fill(ct, 6000);
    const plain = plainDump();
    for (let left = 1; left <= 10; left++) {
      for (let round = 0; round < 3; round++, rounds++) {
        const got = aheadDump({ directFirst: plain.datagrams - left });
        assert.deepEqual(got.ids, plain.ids, `${left} left, round ${round}`);
        assert.equal(got.worker, left, `${left} left: the worker read those`);
        slow += got.slow;
      }
    }
    // A main thread waiting for more datagrams than the dump still has is woken when it ends:
    // missing that wake-up would cost a 100 ms wait in every one of these dumps.
    assert.ok(slow <= 3, `${slow} of ${rounds} dumps waited >= 100 ms for a datagram`);
    ct.flushAll();
  },
);

test(
  "dump(), lines() and text() read ahead give what they give without, in the same order, at any pace",
  T,
  () => {
    using ct = Conntrack.open();
    fill(ct, 12000);
    const ids = (o: { readAhead?: boolean }, pace: (i: number) => void) => {
      const out: number[] = [];
      for (const f of ct.dump(undefined, o)) pace(out.push(f.id!));
      return out;
    };
    // The timeout column counts down between two listings: leave it out.
    const stable = (l: string) => l.replace(/^(\S+\s+\d+ )\d+/, "$1T");
    const plain = ids({ readAhead: false }, () => {});
    assert.equal(plain.length, 12000);
    for (const pace of [() => {}, (i: number) => i % 500 === 0 && sleepSync(40)]) {
      assert.deepEqual(ids({ readAhead: true }, pace), plain);
    }
    const lines = Array.from(ct.lines(undefined, { readAhead: false }), stable);
    const ahead: string[] = [];
    for (const l of ct.lines(undefined, { readAhead: true })) {
      if (ahead.push(stable(l)) === 3000) sleepSync(150);
    }
    assert.deepEqual(ahead, lines);
    let text = "";
    for (const c of ct.text(undefined, { readAhead: true })) {
      text += new TextDecoder().decode(c.bytes);
      sleepSync(5);
    }
    assert.deepEqual(text.split("\n").slice(0, -1).map(stable), lines);
    ct.flushAll();
  },
);
