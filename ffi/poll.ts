/**
 * `poll(2)`: the one place that lays out `struct pollfd`, restarts a poll that a signal
 * interrupted, and waits for "this fd is readable, or someone woke me" (ffi/wait.ts's waiters
 * on Deno and Bun, and the Bun poll worker).
 *
 * ```text
 * struct pollfd (8 bytes, host byte order)
 *  0          4             6              8
 *  | int fd   | short events | short revents |
 * ```
 * @module
 */
import { EINTR } from "./errno.ts";
import { POLLIN } from "./libc.ts";

/** An array of `struct pollfd`, ready to pass to `poll()` as {@link bytes}. */
export class PollFds {
  /** The structs, to pass as `poll()`'s first argument. */
  readonly bytes: Uint8Array;
  readonly #i16: Int16Array;

  /** One `struct pollfd` per fd in `fds`, each watching `events` (e.g. {@link POLLIN}). */
  constructor(fds: readonly number[], events: number) {
    const i32 = new Int32Array(fds.length * 2);
    this.#i16 = new Int16Array(i32.buffer);
    this.bytes = new Uint8Array(i32.buffer);
    fds.forEach((fd, i) => {
      i32[2 * i] = fd;
      this.#i16[4 * i + 2] = events;
    });
  }

  /** The events the kernel reported for entry `i` after `poll()` (`revents`; 0: none). */
  revents(i: number): number {
    return this.#i16[4 * i + 3];
  }
}

/**
 * Calls `poll` (a `poll()` call) again for as long as it fails with `EINTR` (a signal arrived),
 * and returns its result: the number of ready fds, 0 on timeout, or `-errno` when it failed for
 * any other reason (which a retry would only repeat). `errno` reads the calling thread's errno.
 */
export function pollRestarting(poll: () => number, errno: () => number): number {
  for (;;) {
    const n = poll();
    if (n >= 0) return n;
    const e = errno();
    if (e !== EINTR) return -e;
  }
}

/** The libc calls {@link waitReadable} needs (a thread's own binding: errno is per thread). */
export interface PollCalls {
  poll(fds: Uint8Array, nfds: number, timeout: number): number;
  read(fd: number, buf: Uint8Array, count: number): number;
  errno(): number;
}

/** What one blocking wait ended with: `fd` readable, woken through the eventfd, or an errno. */
export type WaitResult = boolean | { readonly errno: number };

const scratch = new Uint8Array(8);

/**
 * Blocks in `poll()` until `fd` is readable (`true`) or the eventfd `efd` was signalled
 * (`false`; its counter is then cleared). A `poll()` that fails for another reason than
 * `EINTR` ends the wait with `{ errno }`: nothing would change by trying again.
 */
export function waitReadable(c: PollCalls, fd: number, efd: number): WaitResult {
  const p = new PollFds([fd, efd], POLLIN);
  const n = pollRestarting(() => c.poll(p.bytes, 2, -1), c.errno);
  if (n < 0) return { errno: -n };
  if (p.revents(1) !== 0) c.read(efd, scratch, 8);
  return p.revents(0) !== 0;
}
