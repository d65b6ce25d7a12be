/**
 * Bun Worker that waits in `poll()` (see ffi/wait.ts). Each message `[fd, eventfd]` starts one
 * blocking wait on both ({@link waitReadable}); the answer is `true` when `fd` is readable,
 * `false` when woken through the eventfd (which it then clears), or `{ errno }` when `poll()`
 * failed (for another reason than a signal). Runs on its own thread, so the main thread's event
 * loop never waits. It opens its own libc binding: errno is per thread.
 * @module
 */
import { openBunLibc } from "./_bun.ts";
import { waitReadable } from "./poll.ts";

const libc = openBunLibc();

const scope = globalThis as unknown as {
  onmessage: (e: { data: [number, number] }) => void;
  postMessage(m: unknown): void;
};
scope.onmessage = (e) => {
  const [fd, efd] = e.data;
  scope.postMessage(waitReadable(libc, fd, efd));
};
