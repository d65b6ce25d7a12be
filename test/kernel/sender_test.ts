/**
 * Delete batches sent on a worker thread (netlink/sender.ts) against the real kernel: each
 * failure is mapped back to its request, batches are reported in order, the socket is usable
 * afterwards.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertThrowawayNetns } from "../_helpers/netns.ts";
import { sleepSync as sleep } from "../_helpers/wait.ts";
import { Conntrack, type Flow } from "../../mod.ts";
import * as C from "../../conntrack/constants.ts";
import { encodeFlow } from "../../conntrack/flow_encode.ts";
import { validateFlow } from "../../conntrack/flow_validate.ts";
import { writeNfgenmsg } from "../../conntrack/nfnl.ts";
import { MessageBuilder } from "../../netlink/attribute.ts";
import { NETLINK_NETFILTER, NLM_F_REQUEST } from "../../netlink/message.ts";
import { NetlinkSocket } from "../../netlink/socket.ts";

assertThrowawayNetns();

const flow = (i: number): Flow => ({
  family: "ipv4",
  proto: "udp",
  orig: {
    src: `10.40.${(i >> 8) & 255}.${i & 255}`,
    dst: "10.41.0.1",
    sport: 1024 + (i % 60000),
    dport: 53,
  },
  timeout: 600,
} as Flow);

test(
  "12 batches of deletes on the worker: every ENOENT maps to the request that missed, in order",
  { timeout: 120000 },
  () => {
    using ct = Conntrack.open();
    ct.flushAll();
    const N = 6000, PER = 500;
    // Even i exist, odd i do not.
    assert.equal(
      ct.createMany(Array.from({ length: N / 2 }, (_, j) => flow(2 * j))).created,
      N / 2,
    );

    using sock = NetlinkSocket.open(NETLINK_NETFILTER);
    const reports: { first: number; count: number; missed: number[] }[] = [];
    const sender = sock.batchSender({
      slotBytes: 128 * 1024,
      maxCount: PER,
      op: "Cannot delete flows",
      onDone: (first, count, failures) => {
        for (const f of failures) assert.equal(f.errno, 2 /* ENOENT */);
        reports.push({ first, count, missed: failures.map((f) => (f.seq - first) >>> 0) });
      },
    });
    try {
      assert.ok(sock.busy, "the socket is reserved while the sender runs");
      const until = Date.now() + 20000;
      while (sender.state === "starting" && Date.now() < until) sleep(1);
      assert.equal(sender.state, "ready");
      const b = new MessageBuilder(128 * 1024);
      const firsts: number[] = [];
      for (let k = 0; k < N / PER; k++) {
        const first = sock.nextSeq(PER);
        firsts.push(first);
        b.reset();
        for (let j = 0; j < PER; j++) {
          const at = b.begin(
            (C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_DELETE,
            NLM_F_REQUEST,
            (first + j) >>> 0,
          );
          writeNfgenmsg(b, C.AF_INET);
          encodeFlow(b, validateFlow(flow(k * PER + j), "key"), "key");
          b.end(at);
        }
        sender.submit(b.bytes(), first, PER);
      }
      sender.finish();
      assert.equal(sender.workerBatches, N / PER, "every batch went to the worker");
      assert.deepEqual(reports.map((r) => r.first), firsts, "batches reported once each, in order");
      for (const r of reports) {
        assert.equal(r.count, PER);
        assert.deepEqual(
          r.missed,
          Array.from({ length: PER / 2 }, (_, j) => 2 * j + 1),
          "exactly the odd (absent) flows missed",
        );
      }
    } finally {
      sender.stop();
    }
    assert.equal(sock.busy, false);
    assert.equal(ct.count(), 0);
    ct.flushAll();
  },
);

test(
  "createMany and deleteMany through the sender count every outcome",
  { timeout: 120000 },
  () => {
    using ct = Conntrack.open();
    ct.flushAll();
    const N = 40000;
    const c = ct.createMany(Array.from({ length: N }, (_, i) => flow(i)));
    assert.deepEqual({ created: c.created, failed: c.failed.length }, { created: N, failed: 0 });
    // Again: every one exists already.
    const again = ct.createMany(Array.from({ length: N }, (_, i) => flow(i)));
    assert.equal(again.created, 0);
    assert.equal(again.failed.length, N);
    assert.ok(again.failed.every((f) => f.error.code === "EEXIST"));
    assert.equal(
      again.failed[N - 1].flow.orig.sport,
      flow(N - 1).orig.sport,
      "failures name their own flow",
    );
    // Delete all of them plus as many that never existed.
    const keys = Array.from(
      { length: 2 * N },
      (_, i) => i < N ? flow(i) : { ...flow(i), orig: { ...flow(i).orig, dst: "10.42.0.1" } },
    );
    const d = ct.deleteMany(keys);
    assert.deepEqual({ deleted: d.deleted, missing: d.missing, failed: d.failed.length }, {
      deleted: N,
      missing: N,
      failed: 0,
    });
    assert.equal(ct.count(), 0);
  },
);

test(
  "createMany from a generator with a bad item: it throws, and every item before it was created",
  { timeout: 120000 },
  () => {
    using ct = Conntrack.open();
    ct.flushAll();
    const N = 7000; // a few batches: the first on this thread, the rest on the worker
    function* items(): Generator<Flow> {
      for (let i = 0; i < N; i++) yield flow(i);
      yield { ...flow(N), orig: { ...flow(N).orig, sport: 70000 } }; // out of range
      yield flow(N + 1); // never reached
    }
    assert.throws(() => ct.createMany(items()), /Invalid orig.sport 70000/);
    assert.equal(ct.count(), N);
    // And the same when the iterator itself fails.
    ct.flushAll();
    function* failing(): Generator<Flow> {
      for (let i = 0; i < N; i++) yield flow(i);
      throw new Error("source broke");
    }
    assert.throws(() => ct.createMany(failing()), /source broke/);
    assert.equal(ct.count(), N);
    ct.flushAll();
  },
);
