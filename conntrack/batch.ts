/**
 * Batches: many requests per `sendto`, pipelined (createMany, deleteMany, restore), and the
 * streaming delete that follows a dump (a flush by dump). Every outcome is counted exactly:
 * batches are sized so the receive buffer holds a reply for each request, and replies that
 * the kernel dropped anyway fail the call with `ENOBUFS` instead of counting as successes.
 * @module
 */
import { MessageBuilder } from "../netlink/attribute.ts";
import { NetlinkError } from "../netlink/errors.ts";
import { NLM_F_CREATE, NLM_F_EXCL } from "../netlink/message.ts";
import type { BatchFailure, BatchSender } from "../netlink/sender.ts";
import type { NetlinkSocket } from "../netlink/socket.ts";
import * as C from "./constants.ts";
import { dumpReplies, readAheadAfter } from "./dump.ts";
import type { CompiledFilter } from "./filter.ts";
import { familyNumber } from "./family.ts";
import type { Flow } from "./flow.ts";
import { FlowDecoder } from "./flow_decode.ts";
import { encodeFlow } from "./flow_encode.ts";
import { validateFlow } from "./flow_validate.ts";
import { beginRequest } from "./nfnl.ts";
import { restorable } from "./json.ts";
import { type BatchProgress, batchStopped, checkBatchInput } from "./options.ts";
import { ENOENT, msgType, type Session } from "./session.ts";
import type { Proto, Tuple } from "./tuple.ts";

/** What identifies an entry: its protocol and original (or reply) tuple, and optionally zone and id. */
export interface FlowKey {
  /** The address family; taken from the addresses when left out. */
  family?: Flow["family"];
  /** The layer-4 protocol. */
  proto: Proto;
  /** The original tuple (this or `reply` identifies the entry). */
  orig?: Tuple;
  /** The reply tuple. */
  reply?: Tuple;
  /** The conntrack zone (`CTA_ZONE`); 0 when left out. */
  zone?: number;
  /** When given, the kernel only acts if the entry still has this id (a re-created one is spared). */
  id?: number;
}

/** Outcome of a batch of deletes. `deleted + missing + failed.length` is the number asked. */
export interface DeleteResult {
  /** Entries the kernel acknowledged as deleted. */
  deleted: number;
  /** Entries that were already gone (`ENOENT`). */
  missing: number;
  /** Deletes that failed otherwise, with the error of each. */
  failed: { flow: FlowKey; error: NetlinkError }[];
}

/** Outcome of a batch of creates. */
export interface CreateResult {
  /** Entries the kernel acknowledged as created. */
  created: number;
  /** Creates that failed, with the error of each (EEXIST: already there). */
  failed: { flow: Flow; error: NetlinkError }[];
}

/** Request bytes per batch: well below the send buffer nfct asks for. */
const BATCH_BYTES = 256 * 1024;
/** The same for deletes sent while a dump streams: small batches interleave evenly with it (measured ~3% faster). */
const STREAM_BATCH_BYTES = 32 * 1024;

/**
 * The sending side of a pipelined batch operation. With `threaded`, the first batch goes out on
 * this thread and from the second on, batches go to a {@link BatchSender} worker so the
 * kernel's work on one batch overlaps the building of the next. Without, every batch is sent
 * here: used while a read-ahead thread already keeps the second core busy (a third busy thread
 * on two cores measured no faster, often slower). Outcomes are counted and reported per item,
 * in order.
 */
class BatchOut<T> {
  #sender: BatchSender | undefined;
  #inFlight: T[][] = [];
  #ok = 0;
  #batches = 0;
  #failedAt = new Set<number>();

  constructor(
    readonly sock: NetlinkSocket,
    readonly op: string,
    readonly limit: number,
    readonly onError: (item: T, errno: number, msg?: string) => void,
    readonly onOk?: (item: T) => void,
    readonly threaded = true,
  ) {}

  #done = (first: number, count: number, failures: BatchFailure[]) => {
    const batch = this.#inFlight.shift()!;
    this.#ok += count - failures.length;
    for (const f of failures) {
      const i = (f.seq - first) >>> 0;
      if (this.onOk) this.#failedAt.add(i);
      this.onError(batch[i], f.errno, f.message);
    }
    if (this.onOk) {
      for (let i = 0; i < batch.length; i++) if (!this.#failedAt.has(i)) this.onOk(batch[i]);
      this.#failedAt.clear();
    }
  };

  /** Sends `bytes`: the requests for `items`, numbered from `first`. */
  submit(bytes: Uint8Array, first: number, items: T[]): void {
    this.#inFlight.push(items);
    if (this.#batches++ === 0 || !this.threaded) {
      // One batch may be all there is: no thread for it.
      const failures: BatchFailure[] = [];
      this.sock.send(bytes);
      this.sock.drainErrors(first, items.length, this.op, (o) => failures.push(o));
      this.#done(first, items.length, failures);
      return;
    }
    this.#sender ??= this.sock.batchSender({
      slotBytes: BATCH_BYTES + 8192,
      maxCount: this.limit,
      op: this.op,
      onDone: this.#done,
    });
    this.#sender.submit(bytes, first, items.length);
  }

  /** Waits for every outcome; returns how many requests succeeded. */
  finish(): number {
    this.#sender?.finish();
    return this.#ok;
  }

  stop(): void {
    this.#sender?.stop();
  }
}

/**
 * Sends one message per item in batches (many per `sendto`) without `NLM_F_ACK`: the kernel
 * answers only failures, and has answered all of them when `sendto` returns, so each batch
 * is drained without waiting. Batches are sized so the receive buffer holds a failure reply
 * for every request; if replies were dropped anyway the call throws `ENOBUFS` rather than
 * count unknown outcomes as successes.
 */
function batch<T>(
  s: Session,
  items: Iterable<T>,
  op: string,
  write: (b: MessageBuilder, item: T, seq: number) => void,
  onError: (item: T, errno: number, msg?: string) => void,
  progress: BatchProgress = { sent: 0, ok: 0, stopped: false },
): number {
  // Its own builder, and the socket chosen once the first item is in hand: a lazy iterable
  // may itself be a dump of this client (which then holds the main socket and s.b).
  const b = s.batchBuilder ??= new MessageBuilder(BATCH_BYTES + 8192);
  let sock: NetlinkSocket | undefined;
  let out: BatchOut<T> | undefined;
  let limit = 0;
  let pending: T[] = [];
  let first = 0;
  b.reset();
  let mark = 0; // where the last complete message ends
  let sending = false;
  try {
    try {
      for (const item of items) {
        if (!sock) {
          sock = s.socket();
          limit = s.batchLimit(sock);
          out = new BatchOut(sock, op, limit, onError);
        }
        if (pending.length === 0) first = sock.nextSeq(limit);
        write(b, item, (first + pending.length) >>> 0);
        pending.push(item);
        progress.sent++;
        mark = b.length;
        if (pending.length >= limit || b.length >= BATCH_BYTES) {
          const batch = pending;
          pending = [];
          mark = 0;
          sending = true;
          out!.submit(b.bytes(), first, batch);
          sending = false;
          b.reset();
        }
      }
    } catch (e) {
      if (sending) throw e;
      // A bad item (or a failing iterator): the items before it still go out, as documented.
      b.length = mark;
      if (out && pending.length) out.submit(b.bytes(), first, pending);
      progress.ok = out?.finish() ?? 0;
      progress.stopped = true;
      throw e;
    }
    if (pending.length) out!.submit(b.bytes(), first, pending);
    return out?.finish() ?? 0;
  } finally {
    out?.stop();
    b.reset();
  }
}

/**
 * Creates many entries, pipelined (many requests per system call). Every outcome is counted.
 *
 * An array is checked whole before anything is sent: a bad item throws (TypeError or
 * RangeError, naming its index) and nothing is created. Any other iterable is consumed as it
 * goes (constant memory): a bad item there, or an iterator that throws, stops the call after
 * the items before it were sent. The error then carries `sent` (how many items went out: the
 * bad one's index) and `result` (the {@link CreateResult} of those), and a TypeError/RangeError
 * says so in its message. See {@link BatchStopped}.
 */
export function createMany(
  s: Session,
  flows: Iterable<Partial<Flow> & Pick<Flow, "proto">>,
): CreateResult {
  checkBatchInput(flows, (f) => validateFlow(f as Partial<Flow>, "create"), "createMany");
  const res: CreateResult = { created: 0, failed: [] };
  const progress: BatchProgress = { sent: 0, ok: 0, stopped: false };
  try {
    res.created = batch(s, flows, "Cannot create flows", (b, item, seq) => {
      const f = validateFlow(item, "create");
      const at = beginRequest(b, {
        type: msgType(C.IPCTNL_MSG_CT_NEW),
        flags: NLM_F_CREATE | NLM_F_EXCL,
        seq,
        family: familyNumber(f.family),
      });
      encodeFlow(b, f, "create");
      b.end(at);
    }, (f, errno, msg) => {
      res.failed.push({
        flow: f as Flow,
        error: new NetlinkError("Cannot create flow", errno, { message: msg }),
      });
    }, progress);
  } catch (e) {
    if (progress.stopped) res.created = progress.ok;
    throw progress.stopped ? batchStopped(e, progress.sent, res) : e;
  }
  return res;
}

/**
 * Creates the entries of a snapshot in this table (`nfct -R` of `nfct -L -o json` lines):
 * each flow as {@link restorable} keeps it — tuples (NAT'd reply ones too), zones, mark,
 * timeout, settable status flags, labels, protocol state, helper — pipelined like
 * {@link createMany}. Counters, ids and timestamps cannot be restored. Labels need label
 * storage in the target namespace (an nft `ct label set` rule) before the entries are made.
 *
 * @example
 * ```ts
 * import { Conntrack, flowFromJSON, flowToJSON } from "@nfct/nfct";
 * using src = Conntrack.open();
 * using dst = Conntrack.open({ netns: "/run/netns/other" });
 * const snap = [...src.dump()].map((f) => JSON.stringify(flowToJSON(f))); // or nfct -L -o json
 * dst.restore(snap.map((l) => flowFromJSON(JSON.parse(l))));
 * ```
 */
export function restore(s: Session, flows: Iterable<Flow>): CreateResult {
  if (Array.isArray(flows)) return createMany(s, flows.map(restorable));
  if (flows === null || typeof (flows as Iterable<Flow>)?.[Symbol.iterator] !== "function") {
    throw new TypeError("Invalid restore: expected an iterable of flows");
  }
  return createMany(
    s,
    (function* () {
      for (const f of flows) yield restorable(f);
    })(),
  );
}

/**
 * Deletes many entries, pipelined; each delete carries the flow's id (when known) so an entry
 * re-created meanwhile is left alone. Returns how many were deleted, already gone, or failed:
 * `deleted + missing + failed.length` is the number of flows given.
 *
 * Bad input is handled as in {@link createMany}: an array is checked whole before anything is
 * deleted; a lazy iterable stops at a bad item with the items before it already deleted, and
 * the error carries `sent` and `result` (a {@link DeleteResult}; see {@link BatchStopped}).
 */
export function deleteMany(s: Session, flows: Iterable<FlowKey>): DeleteResult {
  checkBatchInput(flows, (k) => validateFlow(k as Partial<Flow>, "key"), "deleteMany");
  const res: DeleteResult = { deleted: 0, missing: 0, failed: [] };
  const progress: BatchProgress = { sent: 0, ok: 0, stopped: false };
  try {
    res.deleted = batch(s, flows, "Cannot delete flows", (b, k, seq) => {
      const f = validateFlow(k as Partial<Flow>, "key");
      const at = beginRequest(b, {
        type: msgType(C.IPCTNL_MSG_CT_DELETE),
        flags: 0,
        seq,
        family: familyNumber(f.family),
      });
      encodeFlow(b, f, "key");
      b.end(at);
    }, (k, errno, msg) => {
      if (errno === ENOENT) res.missing++;
      else {res.failed.push({
          flow: k,
          error: new NetlinkError("Cannot delete flow", errno, { message: msg }),
        });}
    }, progress);
  } catch (e) {
    if (progress.stopped) res.deleted = progress.ok;
    throw progress.stopped ? batchStopped(e, progress.sent, res) : e;
  }
  return res;
}

/**
 * Streams the table with `cf` and deletes each match as it arrives: the delete is built by
 * copying the entry's own tuple, zone and id attributes out of the dump datagram (nothing is
 * re-encoded), batched on a second socket while the dump goes on.
 */
export function flushViaDump(
  s: Session,
  cf: CompiledFilter,
  where?: (f: Flow) => boolean,
  onDeleted?: (f: Flow) => void,
): number {
  const op = "Cannot delete flows";
  const ahead = readAheadAfter(s, "auto");
  const dumpSock = s.socket();
  const dec = new FlowDecoder();
  const b = new MessageBuilder(STREAM_BATCH_BYTES + 8192);
  let out: BatchOut<Flow | undefined> | undefined;
  let limit = 0, first = 0;
  let pending: (Flow | undefined)[] = []; // the flows only when onDeleted wants them
  const failures: NetlinkError[] = [];
  const onError = (_f: Flow | undefined, errno: number, message?: string) => {
    if (errno !== ENOENT) failures.push(new NetlinkError("Cannot delete flow", errno, { message }));
  };
  let u8: Uint8Array = new Uint8Array(0);
  let u8dv: DataView | undefined;
  let deleted = 0;
  try {
    for (const r of dumpReplies(s, dumpSock, cf, ahead)) {
      const f = dec.decode(r.dv, r.offset, r.length);
      if ((!cf.empty && !cf.match(f)) || (where && !where(f))) continue;
      if (!out) {
        const del = s.socket(); // the second socket: the first is busy with the dump
        limit = s.batchLimit(del);
        out = new BatchOut<Flow | undefined>(
          del,
          op,
          limit,
          onError,
          onDeleted && ((f) => onDeleted(f!)),
          false,
        );
      }
      if (r.dv !== u8dv) {
        u8dv = r.dv;
        u8 = new Uint8Array(r.dv.buffer, r.dv.byteOffset, r.dv.byteLength);
      }
      const k = dec.key;
      if (pending.length === 0) first = out!.sock.nextSeq(limit);
      const m = beginRequest(b, {
        type: msgType(C.IPCTNL_MSG_CT_DELETE),
        flags: 0,
        seq: (first + pending.length) >>> 0,
        family: r.dv.getUint8(r.offset + 16),
      });
      b.rawFrom(u8, k.orig, k.origLen);
      if (k.zone >= 0) b.rawFrom(u8, k.zone, 8);
      if (k.id >= 0) b.rawFrom(u8, k.id, 8);
      b.end(m);
      pending.push(onDeleted ? f : undefined);
      if (pending.length >= limit || b.length >= STREAM_BATCH_BYTES) {
        out!.submit(b.bytes(), first, pending);
        pending = [];
        b.reset();
      }
    }
    if (pending.length) out!.submit(b.bytes(), first, pending);
    deleted = out?.finish() ?? 0;
  } finally {
    out?.stop();
  }
  if (failures.length) {
    throw new NetlinkError(
      `Cannot flush: ${failures.length} deletes failed (${deleted} done); first`,
      failures[0].errno,
      {
        message: failures[0].kernelMessage,
      },
      { cause: failures },
    );
  }
  return deleted;
}
