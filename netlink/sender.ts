/**
 * Batches sent on a worker thread: the kernel handles a ctnetlink batch inside `sendto`, so
 * sending on a second thread lets this one build the next batch meanwhile.
 *
 * {@link BatchSender.submit} copies a batch of requests sent WITHOUT `NLM_F_ACK` into a slot of
 * a `SharedArrayBuffer` ring; the worker (netlink/_sender_worker.ts) sends it, reads the error
 * replies without waiting (all are queued when `sendto` returns) and writes the failures back
 * into the slot; the results are handed to `onDone` on this thread, batch by batch, in order.
 * Until the worker is up, and if it cannot start, batches are sent here, synchronously.
 *
 * Control words (Int32): `state` (see netlink/_thread.ts), `head` batches submitted, `done` batches
 * the worker finished, `tail` batches whose results were handed out. A slot holds a header
 * `[length, first seq, count, failures or -errno]`, then `(index, errno)` pairs, then the bytes.
 * @module
 */
import { EIO, ENOBUFS, SyscallError } from "../ffi/errno.ts";
import { type NfctWorker, releaseWorker, startWorker } from "../ffi/threads.ts";
import { CTL, goThread, RA, stopThread, type ThreadState, threadState } from "./_thread.ts";
import { type BatchOutcome, lostReplies } from "./batch_replies.ts";

/** Called once per batch, in order: its first sequence number, its size, and what failed. */
export type BatchDone = (first: number, count: number, failures: BatchOutcome[]) => void;

/** Sends and drains one batch on this thread (the socket's own `send` + `drainErrors`). */
export type DirectBatch = (
  bytes: Uint8Array,
  first: number,
  count: number,
  onError: (f: BatchOutcome) => void,
) => void;

/** Word index beyond netlink/_thread.ts's `state`/`head`/`tail`. */
export const SCTL = { done: 3 } as const;
/** Slot header words. */
export const SLOT = { len: 0, first: 1, count: 2, result: 3, words: 4 } as const;
/** `result` of a batch whose replies were lost or whose send failed: the errno is in `first`. */
export const LOST = -1_000_000;

const WORKER_URL = new URL("./_sender_worker.ts", import.meta.url);
const SLOTS = 4;

/** Options of the {@link BatchSender} constructor. */
export interface BatchSenderOptions {
  /** Largest batch in bytes. */
  slotBytes: number;
  /** Most requests in one batch. */
  maxCount: number;
  /** Names the operation in errors, e.g. `"Cannot delete flows"`. */
  op: string;
  /** Sends a batch on this thread (before the worker is up, or without one). */
  direct: DirectBatch;
  /** Receives every batch's outcome, in order. */
  onDone: BatchDone;
  /** Runs once when the sender ends; `clean` is false when replies may remain unread. */
  onStop?: (clean: boolean) => void;
}

/** See the module doc. Single use: construct, submit…, finish (or stop on an error). */
export class BatchSender {
  #ctl: Int32Array;
  #heads: Int32Array[];
  #data: Uint8Array[];
  #worker: NfctWorker | undefined;
  #direct: DirectBatch;
  #onDone: BatchDone;
  #op: string;
  #head = 0;
  #tail = 0;
  #maxCount: number;
  #slotBytes: number;

  #onStop: ((clean: boolean) => void) | undefined;
  #healthy = true;

  /**
   * Starts a sender on `fd` (`undefined`: no worker, every batch is sent directly); the worker
   * loads meanwhile, and takes over at the first {@link submit} after it is ready.
   */
  constructor(fd: number | undefined, o: BatchSenderOptions) {
    const { slotBytes, maxCount, op, direct, onDone } = o;
    this.#onStop = o.onStop;
    const slotSize = SLOT.words * 4 + maxCount * 8 + ((slotBytes + 3) & ~3);
    const sab = new SharedArrayBuffer(CTL.words * 4 + SLOTS * slotSize);
    this.#ctl = new Int32Array(sab, 0, CTL.words);
    this.#heads = [];
    this.#data = [];
    for (let i = 0; i < SLOTS; i++) {
      const base = CTL.words * 4 + i * slotSize;
      this.#heads.push(new Int32Array(sab, base, SLOT.words + maxCount * 2));
      this.#data.push(new Uint8Array(sab, base + SLOT.words * 4 + maxCount * 8, slotBytes));
    }
    this.#direct = direct;
    this.#onDone = onDone;
    this.#op = op;
    this.#maxCount = maxCount;
    this.#slotBytes = slotBytes;
    const w = fd === undefined ? undefined : startWorker(WORKER_URL, () => {
      this.#healthy = false;
      Atomics.compareExchange(this.#ctl, CTL.state, RA.starting, RA.stopped);
    });
    if (!w) {
      Atomics.store(this.#ctl, CTL.state, RA.stopped);
      return;
    }
    w.postMessage({ sab, fd, slots: SLOTS, slotSize, maxCount });
    this.#worker = w;
  }

  /** As {@link ReadAhead.state}: `"running"` here means the worker sends the batches. */
  get state(): ThreadState {
    return threadState(Atomics.load(this.#ctl, CTL.state));
  }

  /** How many batches went to the worker (the rest were sent on this thread). */
  get workerBatches(): number {
    return this.#head;
  }

  /** Sends `bytes` (`count` requests numbered from `first`), now or on the worker. */
  submit(bytes: Uint8Array, first: number, count: number): void {
    if (bytes.length > this.#slotBytes || count > this.#maxCount) {
      throw new RangeError(
        `${this.#op}: a batch of ${count} requests in ${bytes.length} bytes exceeds the sender's slots`,
      );
    }
    const ctl = this.#ctl;
    const state = goThread(ctl);
    if (state !== RA.go) {
      // Not started, or ended: hand out what it finished (or its error) first, to keep the order.
      while (this.#tail < this.#head) this.#collect(true);
      const failures: BatchOutcome[] = [];
      this.#direct(bytes, first, count, (f) => failures.push(f));
      this.#onDone(first, count, failures);
      return;
    }
    this.#collect(false);
    while (this.#head - this.#tail >= SLOTS) this.#collect(true); // ring full: wait for the oldest
    const slot = this.#head % SLOTS;
    const h = this.#heads[slot];
    this.#data[slot].set(bytes);
    h[SLOT.len] = bytes.length;
    h[SLOT.first] = first | 0;
    h[SLOT.count] = count;
    h[SLOT.result] = 0;
    Atomics.store(ctl, CTL.head, ++this.#head);
    Atomics.notify(ctl, CTL.head);
  }

  /** Hands out finished batches; with `wait`, waits until at least one more has finished. */
  #collect(wait: boolean): void {
    const ctl = this.#ctl;
    for (;;) {
      const done = Atomics.load(ctl, SCTL.done);
      if (this.#tail < done) {
        this.#report(this.#tail % SLOTS);
        this.#tail++;
        wait = false;
        continue;
      }
      if (!wait || this.#tail >= this.#head) return;
      if (Atomics.load(ctl, CTL.state) === RA.stopped) {
        if (Atomics.load(ctl, SCTL.done) > this.#tail) continue; // it finished one on its way out
        throw new SyscallError(
          "sendto",
          EIO,
          `${this.#op}: the sending thread ended with ${this.#head - done} batches unsent`,
        );
      }
      Atomics.wait(ctl, SCTL.done, done, 100);
    }
  }

  #report(slot: number): void {
    const h = this.#heads[slot];
    const first = h[SLOT.first] >>> 0, count = h[SLOT.count], result = h[SLOT.result];
    if (result === LOST) {
      const errno = first; // the worker put the errno there
      if (errno === ENOBUFS) throw lostReplies(this.#op, count);
      throw new SyscallError(
        "sendto",
        errno,
        `${this.#op}: sending a batch of ${count} requests failed`,
      );
    }
    const failures: BatchOutcome[] = [];
    for (let i = 0; i < result; i++) {
      failures.push({
        seq: (first + h[SLOT.words + 2 * i]) >>> 0,
        errno: h[SLOT.words + 2 * i + 1],
      });
    }
    this.#onDone(first, count, failures);
  }

  /** Waits for every submitted batch, hands out their outcomes, and ends the worker. */
  finish(): void {
    let clean = false;
    try {
      while (this.#tail < this.#head) this.#collect(true);
      clean = true;
    } finally {
      this.#end(clean);
    }
  }

  /** Ends the worker (after the batch it is sending); outcomes not handed out yet are dropped. */
  stop(): void {
    this.#end(this.#tail === this.#head);
  }

  #end(clean: boolean): void {
    const done = this.#onStop;
    this.#onStop = undefined;
    try {
      this.#stopWorker();
    } finally {
      done?.(clean);
    }
  }

  #stopWorker(): void {
    const w = this.#worker;
    if (!w) return;
    this.#worker = undefined;
    stopThread(this.#ctl, CTL.head);
    releaseWorker(WORKER_URL, w, this.#healthy);
  }
}
