/**
 * Bun Worker that waits in `poll()` (see ffi/wait.ts). Each message `[fd, eventfd]` starts one
 * blocking `poll()` on both; the answer is `true` when `fd` is readable, `false` when woken
 * through the eventfd (which it then clears). Runs on its own thread, so the main thread's
 * event loop never waits.
 * @module
 */
import { LIBC_PATH, LIBC_SYMBOLS, POLLIN } from "./libc.ts";

interface BunFfi {
  dlopen(path: string, defs: Record<string, { args: string[]; returns: string }>): { symbols: Record<string, (...a: unknown[]) => number> };
}
const ffi = (import.meta as unknown as { require(id: string): BunFfi }).require("bun:ffi");
const spec = (k: "poll" | "read") => ({
  args: LIBC_SYMBOLS[k].args.map((t) => (t === "buffer" ? "ptr" : t === "usize" ? "u64" : t)),
  returns: LIBC_SYMBOLS[k].returns === "isize" ? "i64_fast" : LIBC_SYMBOLS[k].returns,
});
const s = ffi.dlopen(LIBC_PATH, { poll: spec("poll"), read: spec("read") }).symbols;

const i32 = new Int32Array(4);
const i16 = new Int16Array(i32.buffer);
const pfd = new Uint8Array(i32.buffer);
const scratch = new Uint8Array(8);

const self_ = globalThis as unknown as {
  onmessage: (e: { data: [number, number] }) => void;
  postMessage(m: unknown): void;
};
self_.onmessage = (e) => {
  const [fd, efd] = e.data;
  i32[0] = fd;
  i16[2] = POLLIN;
  i16[3] = 0;
  i32[2] = efd;
  i16[6] = POLLIN;
  i16[7] = 0;
  let n: number;
  do n = s.poll(pfd, 2, -1); while (n < 0); // EINTR
  if (i16[7] !== 0) s.read(efd, scratch, 8);
  self_.postMessage(i16[3] !== 0);
};
