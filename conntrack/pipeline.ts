/**
 * {@link Pipeline}: the one pipelined batch loop. Requests (creates, deletes) are written into
 * batches of many per `sendto`, sent without `NLM_F_ACK` (the kernel answers only failures, all
 * of them before `sendto` returns) and their outcomes handed out per item, in order. Every
 * outcome is counted exactly: batches are sized so the receive buffer holds a reply for each
 * request, and replies the kernel dropped anyway fail the call with `ENOBUFS` instead of
 * counting as successes. createMany/deleteMany (conntrack/batch.ts) and the flush by dump
 * (conntrack/flush.ts) feed it.
 * @module
 */
import type { MessageBuilder } from "../netlink/attribute.ts";
import type { BatchOutcome } from "../netlink/batch_replies.ts";
import type { BatchSender } from "../netlink/sender.ts";
import type { NetlinkSocket } from "../netlink/socket.ts";
import type { Session } from "./session.ts";

/** Options of a {@link Pipeline}. */
export interface PipelineOptions<T> {
  /** Names the operation in errors, e.g. `"Cannot delete flows"`. */
  op: string;
  /** Where the requests are written (reset here, and after every batch). */
  builder: MessageBuilder;
  /** A batch is sent once it holds this many bytes (or as many requests as replies fit). */
  batchBytes: number;
  /** Writes the request for `item`, numbered `seq`, into `b`. */
  write(b: MessageBuilder, item: T, seq: number): void;
  /** Receives each item whose request failed, with the kernel's answer. */
  onError(item: T, failure: BatchOutcome): void;
  /** Receives each item whose request succeeded, if given (in order, after its batch's failures). */
  onOk?(item: T): void;
  /**
   * Send from the second batch on through a worker thread ({@link BatchSender}), so the kernel's
   * work on one batch overlaps the building of the next. `false`: every batch is sent on this
   * thread, for when a read-ahead thread already keeps the second core busy (a third busy
   * thread on two cores was measured no faster, often slower).
   */
  worker: boolean;
}

/** Sends items' requests in pipelined batches; see the module doc. Single use: add…, finish. */
export class Pipeline<T> {
  readonly #o: PipelineOptions<T>;
  readonly #sock: NetlinkSocket;
  readonly #limit: number;
  #sender: BatchSender | undefined;
  /** Items written into the builder, not sent yet; their numbers start at `#first`. */
  #pending: T[] = [];
  #first = 0;
  /** Sent batches whose outcomes are not handed out yet, oldest first. */
  #inFlight: T[][] = [];
  #batches = 0;
  #ok = 0;
  #failedAt = new Set<number>();
  #broken = false;

  /** Takes a free socket of `s` (the first item may come from a dump holding another). */
  constructor(s: Session, options: PipelineOptions<T>) {
    this.#o = options;
    this.#sock = s.socket();
    this.#limit = s.batchLimit(this.#sock);
    options.builder.reset();
  }

  /** True once sending a batch failed: the outcomes are unknown, nothing more may be sent. */
  get broken(): boolean {
    return this.#broken;
  }

  /**
   * Writes the request for `item`; sends the batch when it is full. If writing throws (a bad
   * item), nothing of it stays in the batch.
   */
  add(item: T): void {
    const b = this.#o.builder;
    if (this.#pending.length === 0) this.#first = this.#sock.nextSeq(this.#limit);
    const mark = b.length;
    try {
      this.#o.write(b, item, (this.#first + this.#pending.length) >>> 0);
    } catch (e) {
      b.length = mark;
      throw e;
    }
    this.#pending.push(item);
    if (this.#pending.length >= this.#limit || b.length >= this.#o.batchBytes) this.#send();
  }

  /** Sends what is pending, waits for every outcome; returns how many requests succeeded. */
  finish(): number {
    if (this.#pending.length) this.#send();
    this.#sender?.finish();
    return this.#ok;
  }

  /** Ends the worker, if any (after an error: outcomes not handed out yet are dropped). */
  stop(): void {
    this.#sender?.stop();
    this.#o.builder.reset();
  }

  #send(): void {
    const items = this.#pending, first = this.#first, b = this.#o.builder;
    this.#pending = [];
    this.#inFlight.push(items);
    try {
      if (this.#batches++ === 0 || !this.#o.worker) {
        // One batch may be all there is: no thread for it.
        const failures: BatchOutcome[] = [];
        this.#sock.send(b.bytes());
        this.#sock.drainErrors({
          first,
          count: items.length,
          op: this.#o.op,
          onOutcome: (o) => failures.push(o),
        });
        this.#done(first, items.length, failures);
      } else {
        this.#sender ??= this.#sock.batchSender({
          slotBytes: this.#o.batchBytes + 8192,
          maxCount: this.#limit,
          op: this.#o.op,
          onDone: this.#done,
        });
        this.#sender.submit(b.bytes(), first, items.length);
      }
    } catch (e) {
      this.#broken = true;
      throw e;
    } finally {
      b.reset();
    }
  }

  /** Hands out the outcomes of the oldest batch in flight. */
  #done = (first: number, count: number, failures: BatchOutcome[]) => {
    const batch = this.#inFlight.shift()!;
    const { onError, onOk } = this.#o;
    this.#ok += count - failures.length;
    for (const f of failures) {
      const i = (f.seq - first) >>> 0;
      if (onOk) this.#failedAt.add(i);
      onError(batch[i], f);
    }
    if (onOk) {
      for (let i = 0; i < batch.length; i++) if (!this.#failedAt.has(i)) onOk(batch[i]);
      this.#failedAt.clear();
    }
  };
}
