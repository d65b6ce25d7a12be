/**
 * {@link ReadAhead} without a netlink socket: what the worker's receive errors become, and the
 * hand-over from reading directly to the worker. (Dumps through it: test/kernel/readahead_test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SyscallError } from "../../../ffi/errno.ts";
import * as sys from "../../../ffi/syscalls.ts";
import { ReadAhead } from "../../../netlink/readahead.ts";
import { waitForSync } from "../../_helpers/wait.ts";

test("a receive error on the worker thread is thrown by recv() on this one, with its errno", () => {
  const fd = sys.eventfd(); // not a socket: recvfrom fails with ENOTSOCK
  let direct = 0;
  const ra = new ReadAhead(fd, {
    slotSize: 4096,
    direct: () => {
      direct++; // before the worker is up, the caller's own reader is used
      return -1;
    },
  });
  try {
    const buf = new Uint8Array(4096);
    const until = Date.now() + 10000;
    let err: unknown;
    while (Date.now() < until) {
      try {
        ra.recv(buf, false);
      } catch (e) {
        err = e;
        break;
      }
    }
    assert.ok(err instanceof SyscallError, `expected a SyscallError, got ${String(err)}`);
    assert.equal(err.code, "ENOTSOCK");
    assert.equal(err.syscall, "recvfrom");
    assert.equal(ra.workerDatagrams, 1, "the worker stops after its first failed receive");
    // After the worker stopped, recv() reads directly again. (It writes the failed slot before
    // it says STOPPED: on a loaded machine the error can be read in between; then recv() still
    // waits for the worker. Wait for the state, with a deadline.)
    waitForSync(() => ra.state === "stopped", "the worker to end after its failed receive");
    const before = direct;
    assert.equal(ra.recv(buf, false), -1);
    assert.equal(direct, before + 1);
  } finally {
    ra.stop();
    sys.close(fd);
  }
});

test("stop() before the worker has started leaves the fd alone and ends the thread", () => {
  const fd = sys.eventfd();
  try {
    for (let i = 0; i < 5; i++) {
      const ra = new ReadAhead(fd, { slotSize: 4096, direct: () => -1 });
      ra.stop();
      assert.equal(ra.workerDatagrams, 0);
    }
  } finally {
    sys.close(fd);
  }
});
