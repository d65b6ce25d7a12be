/**
 * The control words shared by nfct's worker threads (netlink/readahead.ts, netlink/sender.ts)
 * and their life cycle, seen from both sides.
 *
 * ```
 * state  STARTING → READY (worker) → GO (main) → STOPPED (worker)      STOP (main) asks to end
 * ```
 * A worker that finds the state no longer STARTING when it loads never touches the fd; one that
 * is asked to STOP finishes its current system call first; one left waiting for the main thread
 * for {@link GIVE_UP_MS} ends by itself, between two system calls, so the main thread can
 * always carry on alone.
 * @module
 */
import { runtime } from "../ffi/syscalls.ts";

/** Indexes of the control words; each kind of worker adds its own after `tail`. */
export const CTL = { state: 0, head: 1, tail: 2, words: 4 } as const;
/**
 * The read-ahead's own control word (netlink/readahead.ts): the `head` at which the main
 * thread, waiting for datagrams, wants to be woken. A wake-up costs the worker a system call
 * (~10 µs; some 5% of a long dump's time), so the main thread sleeps until a few datagrams are
 * in, not one.
 */
export const RCTL = { want: 3 } as const;
/**
 * How long a worker waits for the main thread to take its results (or give the go) before it
 * ends by itself, in ms: a job abandoned without `stop()` then holds no thread for longer. On
 * Deno a live worker keeps the process running (it cannot be unref'd), so there it is short:
 * a dump dropped half-way delays the process's exit by at most this; a loop that pauses longer
 * only loses its read-ahead (the main thread reads the rest itself). Bun's workers are unref'd.
 */
export const GIVE_UP_MS: number = runtime() === "deno" ? 200 : 2000;

/** Values of `state`. */
export const RA = { starting: 0, ready: 1, go: 2, stop: 3, stopped: 4 } as const;

/** Where a worker thread is: not up yet, up and waiting for the go, working, or ended. */
export type ThreadState = "starting" | "ready" | "running" | "stopped";

/** The {@link ThreadState} of a `state` control word. */
export function threadState(s: number): ThreadState {
  return s === RA.starting
    ? "starting"
    : s === RA.ready
    ? "ready"
    : s === RA.go
    ? "running"
    : "stopped";
}

/**
 * Main side: asks the worker on `ctl` to stop and waits until it has (`wake`: the control word
 * it may be waiting on besides `state`). A worker still loading is kept from starting.
 */
export function stopThread(ctl: Int32Array, wake: number): void {
  for (;;) {
    const s = Atomics.load(ctl, CTL.state);
    if (s === RA.stopped) return;
    if (s === RA.starting) {
      // Not loaded yet: it must not touch the fd once it is. If it became ready meanwhile, loop.
      if (Atomics.compareExchange(ctl, CTL.state, RA.starting, RA.stopped) === RA.starting) return;
      continue;
    }
    if (s === RA.ready || s === RA.go) {
      Atomics.compareExchange(ctl, CTL.state, s, RA.stop);
      Atomics.notify(ctl, CTL.state);
      Atomics.notify(ctl, wake);
      continue;
    }
    // STOP: the worker finishes its current call (its waits are at most 100 ms) and says STOPPED.
    Atomics.wait(ctl, CTL.state, s, 100);
  }
}

/**
 * Main side: if the worker is READY, gives it the go. Returns the state after (GO when the
 * worker now owns the work).
 */
export function goThread(ctl: Int32Array): number {
  if (Atomics.load(ctl, CTL.state) === RA.ready) {
    Atomics.compareExchange(ctl, CTL.state, RA.ready, RA.go);
    Atomics.notify(ctl, CTL.state);
  }
  return Atomics.load(ctl, CTL.state);
}

/**
 * Worker side: says READY and waits for the go; true when it came. False when the main thread
 * gave up first or asked to stop (do nothing), or when no go came for {@link GIVE_UP_MS}.
 */
export function awaitGo(ctl: Int32Array): boolean {
  if (Atomics.compareExchange(ctl, CTL.state, RA.starting, RA.ready) !== RA.starting) return false;
  Atomics.notify(ctl, CTL.state);
  const until = Date.now() + GIVE_UP_MS;
  while (Atomics.load(ctl, CTL.state) === RA.ready) {
    // The main thread never came back for us (a dropped generator): end, holding nothing. If
    // it comes back later it finds STOPPED and does the work itself.
    if (
      Date.now() >= until &&
      Atomics.compareExchange(ctl, CTL.state, RA.ready, RA.stopped) === RA.ready
    ) {
      Atomics.notify(ctl, CTL.state);
      return false;
    }
    Atomics.wait(ctl, CTL.state, RA.ready, 100);
  }
  return Atomics.load(ctl, CTL.state) === RA.go;
}

/** Worker side: says STOPPED and wakes the main thread wherever it waits (`wake`). */
export function endThread(ctl: Int32Array, wake: number): void {
  Atomics.store(ctl, CTL.state, RA.stopped);
  Atomics.notify(ctl, CTL.state);
  Atomics.notify(ctl, wake);
}
