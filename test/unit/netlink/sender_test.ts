/**
 * {@link BatchSender} without a netlink socket: batches sent on this thread before the worker
 * is up, a send error on the worker thread, and stopping early. (Real batches against the
 * kernel: test/kernel/sender_test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SyscallError } from "../../../ffi/errno.ts";
import * as sys from "../../../ffi/syscalls.ts";
import type { BatchOutcome } from "../../../netlink/batch_replies.ts";
import { BatchSender } from "../../../netlink/sender.ts";
import { waitForSync } from "../../_helpers/wait.ts";

function waitReady(s: BatchSender): void {
  waitForSync(() => s.state !== "starting", "the worker to start", 20000);
  assert.equal(s.state, "ready");
}

test("without a worker every batch is sent on this thread and reported in order", () => {
  const sent: number[] = [];
  const done: [number, number, BatchOutcome[]][] = [];
  const s = new BatchSender(undefined, {
    slotBytes: 64,
    maxCount: 4,
    op: "Cannot test",
    direct: (bytes, first, count, onError) => {
      sent.push(first);
      if (bytes[0] === 1) onError({ seq: first + count - 1, errno: 2 });
    },
    onDone: (first, count, failures) => done.push([first, count, failures]),
  });
  assert.equal(s.state, "stopped");
  s.submit(new Uint8Array([0, 0]), 10, 2);
  s.submit(new Uint8Array([1, 0, 0]), 12, 3);
  s.finish();
  assert.deepEqual(sent, [10, 12]);
  assert.deepEqual(done, [[10, 2, []], [12, 3, [{ seq: 14, errno: 2 }]]]);
  assert.equal(s.workerBatches, 0);
  assert.throws(() => s.submit(new Uint8Array(65), 20, 1), RangeError);
  assert.throws(() => s.submit(new Uint8Array(8), 20, 5), RangeError);
});

test("a send error on the worker thread is thrown on this one, with its errno, and the sender ends unclean", () => {
  const fd = sys.eventfd(); // not a socket: sendto fails with ENOTSOCK
  let clean: boolean | undefined;
  const s = new BatchSender(fd, {
    slotBytes: 64,
    maxCount: 4,
    op: "Cannot test",
    direct: () => assert.fail("the worker is up: nothing is sent here"),
    onDone: () => assert.fail("the batch failed as a whole"),
    onStop: (c) => clean = c,
  });
  try {
    waitReady(s);
    s.submit(new Uint8Array(16), 1, 1);
    assert.equal(s.workerBatches, 1);
    assert.throws(() => s.finish(), (e: unknown) => {
      assert.ok(e instanceof SyscallError);
      assert.equal(e.code, "ENOTSOCK");
      assert.equal(e.syscall, "sendto");
      assert.match(e.message, /Cannot test: sending a batch of 1 requests failed/);
      return true;
    });
    assert.equal(clean, false);
    assert.equal(s.state, "stopped");
  } finally {
    s.stop();
    sys.close(fd);
  }
});

test("stop() before the worker has started ends it without sending anything", () => {
  const fd = sys.eventfd();
  try {
    for (let i = 0; i < 5; i++) {
      let stopped = 0;
      const s = new BatchSender(fd, {
        slotBytes: 64,
        maxCount: 4,
        op: "x",
        direct: () => {},
        onDone: () => {},
        onStop: (c) => {
          assert.equal(c, true);
          stopped++;
        },
      });
      s.stop();
      s.stop(); // idempotent
      assert.equal(stopped, 1);
      assert.equal(s.state, "stopped");
    }
  } finally {
    sys.close(fd);
  }
});
