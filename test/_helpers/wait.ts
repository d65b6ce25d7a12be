/**
 * Waiting in tests: for a condition, with a deadline, instead of a fixed sleep that stands in
 * for one (on a loaded machine a fixed sleep is sometimes too short).
 * @module
 */

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Blocks this thread for `ms` milliseconds (for code that waits on worker threads synchronously). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Polls `cond` every `every` ms until it holds. Throws `Timed out after … ms waiting for <what>`
 * when it still does not after `ms`.
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 15000,
  every = 20,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** {@link waitFor}, blocking this thread between polls. */
export function waitForSync(cond: () => boolean, what: string, ms = 15000, every = 1): void {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    sleepSync(every);
  }
}

/**
 * Polls `fn` every `every` ms until it returns a value (not `undefined`) and returns it. A throw
 * counts as not yet; after `ms` the last error is named in the `Timed out …` error.
 */
export async function pollFor<T>(
  what: string,
  ms: number,
  fn: () => Promise<T | undefined> | T | undefined,
  every = 200,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  throw new Error(`Timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
