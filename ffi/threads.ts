/**
 * Worker threads that call libc (netlink/readahead.ts and netlink/sender.ts run them). Both
 * runtimes have the web `Worker` with `SharedArrayBuffer` and `Atomics.wait` on every thread;
 * what differs:
 * - Deno needs read permission for the worker's module file, and a live worker keeps the
 *   process running: each worker is terminated when its job ends.
 * - Bun can `unref()` a worker, and a worker terminated while the main thread stays busy (nfct's
 *   calls are synchronous) keeps costing CPU until the event loop runs again: there, an idle
 *   worker is kept (unref'd, so it never holds the process) and reused for the next job.
 * A worker script therefore takes one job per message and must be idle when released.
 * @module
 */
import { runtime } from "./syscalls.ts";

/** The part of a web `Worker` nfct uses. */
export interface NfctWorker {
  postMessage(m: unknown): void;
  terminate(): void;
  onerror: ((e: unknown) => void) | null;
}

/** Idle workers by module URL (Bun only). */
const idle = new Map<string, NfctWorker[]>();
const KEEP = 2;

/**
 * Ends a job's use of `w`, started from `url`: on Bun an idle worker is kept for the next job
 * (at most two per script), elsewhere it is terminated. `healthy` false (it failed) always
 * terminates it.
 */
export function releaseWorker(url: URL, w: NfctWorker, healthy = true): void {
  if (healthy && runtime() === "bun") {
    const list = idle.get(url.href) ?? [];
    idle.set(url.href, list);
    if (list.length < KEEP) {
      w.onerror = null;
      list.push(w);
      return;
    }
  }
  w.terminate();
}

/**
 * Starts a module worker from `url` (a `file:` URL beside the caller), or returns `undefined`
 * when this process cannot: no `Worker`, or Deno without read permission for that file. The
 * caller then does the work on its own thread. A worker that fails while loading reports it
 * through `onerror` (marked handled here, so it never surfaces as an uncaught error).
 */
export function startWorker(url: URL, onError: (e: unknown) => void): NfctWorker | undefined {
  const onerror = (e: unknown) => {
    (e as { preventDefault?: () => void }).preventDefault?.();
    onError(e);
  };
  const reused = idle.get(url.href)?.pop();
  if (reused) {
    reused.onerror = onerror;
    return reused;
  }
  const W =
    (globalThis as unknown as { Worker?: new (url: string, o?: unknown) => NfctWorker }).Worker;
  if (!W) return undefined;
  if (runtime() === "deno") {
    const perms = (globalThis as unknown as {
      Deno: { permissions: { querySync(d: { name: string; path?: string }): { state: string } } };
    }).Deno.permissions;
    if (
      url.protocol === "file:" &&
      perms.querySync({ name: "read", path: decodeURIComponent(url.pathname) }).state !== "granted"
    ) {
      return undefined;
    }
    if (perms.querySync({ name: "ffi" }).state !== "granted") return undefined;
  }
  try {
    const w = new W(url.href, { type: "module" });
    w.onerror = onerror;
    if (runtime() === "bun") (w as { unref?: () => void }).unref?.();
    return w;
  } catch (e) {
    onError(e);
    return undefined;
  }
}

/**
 * Worker side: runs `run` for each job message, one at a time. On Deno, where a live worker
 * keeps the process running and workers are never reused, the worker closes itself after its
 * job; on Bun it stays, idle, for the next one.
 */
export function serveJobs<T>(run: (job: T) => void): void {
  const scope = globalThis as unknown as {
    onmessage: ((e: { data: T }) => void) | null;
    close(): void;
  };
  scope.onmessage = (e) => {
    try {
      run(e.data);
    } finally {
      if (runtime() === "deno") scope.close();
    }
  };
}
