/**
 * Waiting until a file descriptor is readable, without blocking the JS thread.
 *
 * - Deno: `poll()` bound with `nonblocking: true` runs on a thread of Deno's blocking pool and
 *   resolves a Promise; the event loop keeps running meanwhile.
 * - Bun: bun:ffi has no such mode, so a Worker (ffi/_bun_poll_worker.ts) blocks in `poll()` and
 *   posts a message when the fd is readable.
 *
 * Both poll the fd together with an eventfd, so {@link ReadableWaiter.wake} (close, abort)
 * ends a wait at once instead of leaving a thread stuck in `poll()`.
 * @module
 */
import { SyscallError } from "./errno.ts";
import { POLLIN } from "./libc.ts";
import { PollFds, type WaitResult } from "./poll.ts";
import * as sys from "./syscalls.ts";

/** Waits for one fd to become readable. One wait at a time. */
export interface ReadableWaiter {
  /**
   * Resolves when the fd is readable (or has an error pending, e.g. `ENOBUFS`): `true`; or when
   * {@link wake} was called: `false`. May also resolve spuriously; callers re-check.
   */
  wait(): Promise<boolean>;
  /** Ends the current (or next) wait early. */
  wake(): void;
  /** Wakes any wait and releases the waiter's resources once it has settled; idempotent. */
  close(): void;
}

/** Opens a waiter for `fd` on the running runtime. The fd stays owned by the caller. */
export function openReadableWaiter(fd: number): ReadableWaiter {
  return sys.runtime() === "bun" ? new BunWaiter(fd) : new DenoWaiter(fd);
}

class DenoWaiter implements ReadableWaiter {
  #fd: number;
  #efd: number;
  #pending: Promise<boolean> | undefined;
  #closed = false;

  constructor(fd: number) {
    this.#fd = fd;
    this.#efd = sys.eventfd();
  }

  wait(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#pending) throw new TypeError("Cannot wait: a wait is already in progress");
    const pollWait = sys.rawLibc().pollWait;
    if (!pollWait) throw new Error("Cannot wait: this runtime's FFI has no nonblocking poll()");
    // A fresh struct per wait: Deno must not see the buffer change while the other thread polls.
    const p = new PollFds([this.#fd, this.#efd], POLLIN);
    const efd = this.#efd;
    this.#pending = pollWait(p.bytes, 2, -1).then((n) => {
      this.#pending = undefined;
      if (n > 0 && p.revents(1) !== 0) sys.eventfdClear(efd);
      return n > 0 && p.revents(0) !== 0;
    });
    return this.#pending;
  }

  wake(): void {
    if (this.#efd >= 0) sys.eventfdSignal(this.#efd);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.wake();
    const done = () => {
      const efd = this.#efd;
      this.#efd = -1;
      if (efd >= 0) sys.close(efd);
    };
    if (this.#pending) this.#pending.then(done, done);
    else done();
  }
}

interface BunWorker {
  postMessage(m: unknown): void;
  terminate(): void;
  ref(): void;
  unref(): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: unknown) => void) | null;
}

class BunWaiter implements ReadableWaiter {
  #fd: number;
  #efd: number;
  #worker: BunWorker | undefined;
  #resolve: ((ready: boolean) => void) | undefined;
  #reject: ((e: unknown) => void) | undefined;
  #closed = false;

  constructor(fd: number) {
    this.#fd = fd;
    this.#efd = sys.eventfd();
  }

  #start(): BunWorker {
    const W = (globalThis as unknown as { Worker: new (url: string) => BunWorker }).Worker;
    const w = new W(new URL("./_bun_poll_worker.ts", import.meta.url).href);
    w.onmessage = (e) => {
      const r = this.#resolve, fail = this.#reject;
      this.#resolve = this.#reject = undefined;
      w.unref();
      if (this.#closed) this.#release();
      const res = e.data as WaitResult;
      if (typeof res === "object") {
        fail?.(new SyscallError("poll", res.errno, "Cannot wait for events"));
      } else r?.(res);
    };
    w.onerror = (e) => {
      const r = this.#reject;
      this.#resolve = this.#reject = undefined;
      r?.(
        new Error(
          `Cannot wait for events: the poll worker failed: ${
            String((e as { message?: string })?.message ?? e)
          }`,
        ),
      );
    };
    return w;
  }

  wait(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#resolve) throw new TypeError("Cannot wait: a wait is already in progress");
    this.#worker ??= this.#start();
    const w = this.#worker;
    return new Promise<boolean>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      w.ref(); // a pending wait keeps the process alive, as Deno's pending FFI call does
      w.postMessage([this.#fd, this.#efd]);
    });
  }

  wake(): void {
    if (this.#efd >= 0) sys.eventfdSignal(this.#efd);
  }

  #release(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    const efd = this.#efd;
    this.#efd = -1;
    if (efd >= 0) sys.close(efd);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#resolve) this.wake(); // the worker answers, then onmessage releases
    else this.#release();
  }
}
