/**
 * Worker threads that call libc (netlink/readahead.ts runs one). Both runtimes have the web
 * `Worker` with `SharedArrayBuffer` and `Atomics.wait` on every thread; what differs is that
 * Deno needs read permission for the worker's module file.
 * @module
 */
import { runtime } from "./syscalls.ts";

/** The part of a web `Worker` nfct uses. */
export interface NfctWorker {
  postMessage(m: unknown): void;
  terminate(): void;
  onerror: ((e: unknown) => void) | null;
}

/**
 * Starts a module worker from `url` (a `file:` URL beside the caller), or returns `undefined`
 * when this process cannot: no `Worker`, or Deno without read permission for that file. The
 * caller then does the work on its own thread. A worker that fails while loading reports it
 * through `onerror` (marked handled here, so it never surfaces as an uncaught error).
 */
export function startWorker(url: URL, onError: (e: unknown) => void): NfctWorker | undefined {
  const W = (globalThis as unknown as { Worker?: new (url: string, o?: unknown) => NfctWorker }).Worker;
  if (!W) return undefined;
  if (runtime() === "deno") {
    const perms = (globalThis as unknown as {
      Deno: { permissions: { querySync(d: { name: string; path?: string }): { state: string } } };
    }).Deno.permissions;
    if (url.protocol === "file:" && perms.querySync({ name: "read", path: decodeURIComponent(url.pathname) }).state !== "granted") {
      return undefined;
    }
    if (perms.querySync({ name: "ffi" }).state !== "granted") return undefined;
  }
  try {
    const w = new W(url.href, { type: "module" });
    w.onerror = (e) => {
      (e as { preventDefault?: () => void }).preventDefault?.();
      onError(e);
    };
    return w;
  } catch (e) {
    onError(e);
    return undefined;
  }
}
