/**
 * ffi/poll.ts: the one `struct pollfd` layout, the EINTR restart, and the wait the Bun poll
 * worker runs (which used to spin forever when `poll()` failed with anything but EINTR); and
 * ffi/wait.ts's waiters on this runtime, on real eventfds.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EINTR, EINVAL, ENOMEM } from "../../../ffi/errno.ts";
import { POLLIN, POLLOUT } from "../../../ffi/libc.ts";
import { type PollCalls, PollFds, pollRestarting, waitReadable } from "../../../ffi/poll.ts";
import * as sys from "../../../ffi/syscalls.ts";
import { openReadableWaiter } from "../../../ffi/wait.ts";

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

test("PollFds lays out struct pollfd { int fd; short events; short revents; } in host byte order", () => {
  const p = new PollFds([3, 70000], POLLIN | POLLOUT);
  assert.equal(p.bytes.length, 16);
  const dv = new DataView(p.bytes.buffer);
  assert.deepEqual(
    [0, 8].map((
      o,
    ) => [dv.getInt32(o, HOST_LE), dv.getInt16(o + 4, HOST_LE), dv.getInt16(o + 6, HOST_LE)]),
    [[3, POLLIN | POLLOUT, 0], [70000, POLLIN | POLLOUT, 0]],
  );
  dv.setInt16(14, POLLIN, HOST_LE); // what the kernel writes back
  assert.equal(p.revents(0), 0);
  assert.equal(p.revents(1), POLLIN);
});

/** A scripted poll(): each step is a result, or an errno it fails with. */
function scripted(steps: ({ ret: number } | { errno: number })[]) {
  let errno = 0, calls = 0;
  return {
    get calls() {
      return calls;
    },
    poll: () => {
      const s = steps[calls++];
      if (!s) throw new Error(`poll() called ${calls} times; the script has ${steps.length} steps`);
      if ("errno" in s) {
        errno = s.errno;
        return -1;
      }
      return s.ret;
    },
    errno: () => errno,
  };
}

test("pollRestarting retries a poll() a signal interrupted (EINTR) and returns its result", () => {
  const s = scripted([{ errno: EINTR }, { errno: EINTR }, { ret: 1 }]);
  assert.equal(pollRestarting(s.poll, s.errno), 1);
  assert.equal(s.calls, 3);
});

test("pollRestarting returns -errno at once for any other failure instead of retrying", () => {
  for (const errno of [EINVAL, ENOMEM]) {
    const s = scripted([{ errno }]);
    assert.equal(pollRestarting(s.poll, s.errno), -errno);
    assert.equal(s.calls, 1);
  }
});

/** {@link PollCalls} whose poll() follows `steps`, setting the revents `ready` gives on success. */
function calls(steps: ({ ret: number } | { errno: number })[], ready: [number, number] = [0, 0]) {
  const s = scripted(steps);
  const reads: number[] = [];
  const c: PollCalls = {
    poll: (fds, nfds) => {
      assert.equal(nfds, 2);
      const n = s.poll();
      if (n > 0) {
        const dv = new DataView(fds.buffer, fds.byteOffset);
        dv.setInt16(6, ready[0], HOST_LE);
        dv.setInt16(14, ready[1], HOST_LE);
      }
      return n;
    },
    read: (fd) => (reads.push(fd), 8),
    errno: s.errno,
  };
  return { c, s, reads };
}

test("waitReadable (the Bun poll worker's wait) reports a failing poll() once, as { errno }, and stops", () => {
  const { c, s } = calls([{ errno: EINVAL }]);
  assert.deepEqual(waitReadable(c, 5, 6), { errno: EINVAL });
  assert.equal(s.calls, 1); // before the fix: poll() again, forever
});

test("waitReadable: true when the fd is readable, false (eventfd cleared) when woken; EINTR is retried", () => {
  const a = calls([{ errno: EINTR }, { ret: 1 }], [POLLIN, 0]);
  assert.equal(waitReadable(a.c, 5, 6), true);
  assert.deepEqual(a.reads, []);
  assert.equal(a.s.calls, 2);
  const b = calls([{ ret: 1 }], [0, POLLIN]);
  assert.equal(waitReadable(b.c, 5, 6), false);
  assert.deepEqual(b.reads, [6]);
});

test("waitReadable on real eventfds: readable fd → true; signalled eventfd → false, and cleared", () => {
  const fd = sys.eventfd(), efd = sys.eventfd();
  try {
    const c = sys.rawLibc();
    sys.eventfdSignal(fd);
    assert.equal(waitReadable(c, fd, efd), true);
    sys.eventfdClear(fd);
    sys.eventfdSignal(efd);
    assert.equal(waitReadable(c, fd, efd), false);
    assert.equal(sys.pollOne(efd, POLLIN, 0), 0); // cleared by the wait
  } finally {
    sys.close(fd);
    sys.close(efd);
  }
});

test("openReadableWaiter (Deno: poll on another thread; Bun: the poll worker) resolves true, then false on wake()", async () => {
  const fd = sys.eventfd();
  const w = openReadableWaiter(fd);
  try {
    sys.eventfdSignal(fd);
    assert.equal(await w.wait(), true);
    sys.eventfdClear(fd);
    const waiting = w.wait();
    w.wake();
    assert.equal(await waiting, false);
  } finally {
    w.close();
    sys.close(fd);
  }
});
