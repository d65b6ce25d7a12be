/**
 * Read-ahead for dumps: a worker thread receives the dump's datagrams while this thread
 * decodes the ones before.
 *
 * The kernel builds each dump datagram inside `recvmsg`, so a single-threaded dump runs kernel
 * work and decoding one after the other. With a read-ahead, the worker
 * (netlink/_readahead_worker.ts) calls `recvmsg` on the same fd into a ring of
 * slots in a `SharedArrayBuffer`, and {@link ReadAhead.recv} copies them out in order: the
 * kernel's share runs on a second core. Until the worker has started, `recv` reads
 * the socket itself; the worker takes over between two datagrams, so order is kept.
 *
 * Control words (Int32, in the shared buffer before the slot lengths and the slots): `state`
 * (see netlink/_thread.ts), `head` datagrams the worker has written, `tail` datagrams this
 * thread consumed, `want` the `head` at which this thread, waiting, is to be woken.
 * @module
 */
import { SyscallError } from "../ffi/errno.ts";
import { type NfctWorker, releaseWorker, startWorker } from "../ffi/threads.ts";
import { CTL, goThread, RA, RCTL, stopThread, type ThreadState, threadState } from "./_thread.ts";

export type { ThreadState } from "./_thread.ts";

/** Reads one datagram without the read-ahead (the transport's own `recv`). */
export type DirectRecv = (buf: Uint8Array, wait: boolean) => number;

const WORKER_URL = new URL("./_readahead_worker.ts", import.meta.url);
const SLOTS = 48; // ~1.5 MB of 32 KiB datagrams: rides out a few ms of the main thread's pauses
/**
 * Datagrams the worker gathers before it wakes this thread when it waits (fewer if the dump
 * ends first; see {@link RCTL}). 1M entries: 6600 datagrams, 5400 wake-ups with 1, 550 with 8;
 * the worker's own time besides `recvmsg` went from ~85 to ~60 ms.
 */
const BURST = 8;

/** Options of the {@link ReadAhead} constructor. */
export interface ReadAheadOptions {
  /** Bytes per slot: the size of the caller's receive buffer. */
  slotSize: number;
  /** Reads one datagram on this thread: before the worker is up, and after it ended. */
  direct: DirectRecv;
}

/** A dump read on a worker thread; see the module doc. Single use: construct, recv…, stop. */
export class ReadAhead {
  #ctl: Int32Array;
  #lens: Int32Array;
  #slots: Uint8Array[];
  #worker: NfctWorker | undefined;
  #direct: DirectRecv;
  #tail = 0;
  #failed: unknown;

  /**
   * Starts reading `fd` ahead in slots of `slotSize` bytes (the size of the caller's receive
   * buffer). `direct` reads the socket itself, used before the worker is up and after it ends.
   */
  constructor(fd: number, options: ReadAheadOptions) {
    const { slotSize, direct } = options;
    const sab = new SharedArrayBuffer((CTL.words + SLOTS) * 4 + SLOTS * slotSize);
    this.#ctl = new Int32Array(sab, 0, CTL.words);
    this.#lens = new Int32Array(sab, CTL.words * 4, SLOTS);
    const base = (CTL.words + SLOTS) * 4;
    this.#slots = Array.from(
      { length: SLOTS },
      (_, i) => new Uint8Array(sab, base + i * slotSize, slotSize),
    );
    this.#direct = direct;
    const w = startWorker(WORKER_URL, (e) => {
      // It failed to load: read directly from then on.
      this.#failed = e;
      Atomics.compareExchange(this.#ctl, CTL.state, RA.starting, RA.stopped);
    });
    if (!w) {
      this.#failed ??= new Error(
        "Cannot start a worker thread here (Deno: it needs --allow-read for nfct's files)",
      );
      Atomics.store(this.#ctl, CTL.state, RA.stopped);
      return;
    }
    w.postMessage({ sab, fd, slots: SLOTS, slotSize });
    this.#worker = w;
  }

  /** How many datagrams the worker has received so far (the rest were read directly). */
  get workerDatagrams(): number {
    return Atomics.load(this.#ctl, CTL.head);
  }

  /**
   * `"starting"`: the worker is not up yet (reads are direct); `"ready"`: it is up and takes over
   * at the next `recv`; `"running"`: it reads; `"stopped"`: it ended (reads are direct again).
   */
  get state(): ThreadState {
    return threadState(Atomics.load(this.#ctl, CTL.state));
  }

  /** Why the worker could not run, if it could not (the read-ahead then reads directly). */
  get failure(): unknown {
    return this.#failed;
  }

  /**
   * The next datagram, copied into `buf`: its full length (more than `buf.length` if it was cut),
   * or -1 when `wait` is false and none is ready. Throws what the worker's `recvfrom` threw.
   */
  recv(buf: Uint8Array, wait: boolean): number {
    const ctl = this.#ctl;
    for (;;) {
      const head = Atomics.load(ctl, CTL.head);
      if (this.#tail < head) {
        const slot = this.#tail % SLOTS;
        const n = this.#lens[slot];
        if (n >= 0) {
          const src = this.#slots[slot];
          const k = Math.min(n, src.length, buf.length);
          buf.set(k === src.length ? src : src.subarray(0, k));
        }
        Atomics.store(ctl, CTL.tail, ++this.#tail);
        Atomics.notify(ctl, CTL.tail);
        if (n < 0) throw new SyscallError("recvfrom", -n);
        return n;
      }
      const state = goThread(ctl); // the worker is up: it takes over here, between two datagrams
      if (state !== RA.go) {
        // Not started yet, or ended: read here — unless it wrote a last datagram just before
        // it said STOPPED (it writes `head` first, so once STOPPED is seen `head` is final).
        if (Atomics.load(ctl, CTL.head) > this.#tail) continue;
        return this.#direct(buf, wait);
      }
      if (!wait) return -1;
      Atomics.store(ctl, RCTL.want, this.#tail + BURST);
      if (Atomics.load(ctl, CTL.head) !== head) continue; // came in meanwhile: the worker saw no want
      Atomics.wait(ctl, CTL.head, head, 100);
    }
  }

  /** Ends the read-ahead: asks the worker to stop, waits until it has, and ends the thread. */
  stop(): void {
    const w = this.#worker;
    if (!w) return;
    this.#worker = undefined;
    stopThread(this.#ctl, CTL.tail);
    releaseWorker(WORKER_URL, w, this.#failed === undefined);
  }
}
