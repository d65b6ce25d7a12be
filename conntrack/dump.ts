/**
 * Dumps of the conntrack table: the request (with what of the filter the kernel applies), the
 * per-family loop, reading ahead on a worker thread, the line fast path and dump-and-zero.
 * @module
 */
import { ENOENT } from "../ffi/errno.ts";
import { runtime } from "../ffi/syscalls.ts";
import type { MessageBuilder } from "../netlink/attribute.ts";
import { NetlinkError } from "../netlink/errors.ts";
import { NLM_F_ACK, NLM_F_DUMP, NLMSG_HDRLEN } from "../netlink/message.ts";
import type { ReplyBatch } from "../netlink/reply_batch.ts";
import type { NetlinkSocket } from "../netlink/socket.ts";
import * as C from "./constants.ts";
import { type CompiledFilter, compileFilter, type Filters } from "./filter.ts";
import type { Flow } from "./flow.ts";
import { FlowDecoder } from "./flow_decode.ts";
import { beginRequest } from "./nfnl.ts";
import type { FormatOptions } from "./format.ts";
import { writeFlowLine } from "./format/flow.ts";
import { LineText, StringText, type TextOut } from "./format/text.ts";
import { formatWireInto } from "./format/wire.ts";
import { checkDumpOptions, checkLineFormat } from "./options.ts";
import { msgType, type Session } from "./session.ts";

/** Options of {@link Conntrack.dump}. */
export interface DumpOptions {
  /**
   * Skip the userspace re-check and return exactly what the kernel sent. Only for inspecting
   * kernel-side filtering: a kernel that cannot express part of a filter sends extra flows.
   */
  kernelFilterOnly?: boolean;
  /**
   * Zero the counters of the flows returned, atomically per flow (`conntrack -L -z`,
   * `IPCTNL_MSG_CT_GET_CTRZERO`): each flow carries the packets/bytes counted up to the moment
   * they were reset. Without a filter this is the kernel's own dump-and-zero of the whole
   * table; with one, the table is dumped unchanged and each matching flow is then read and
   * zeroed by its tuple, so entries that do not match are never zeroed (conntrack(8) refuses
   * `-z` with a filter for that reason). Counters exist only with
   * `net.netfilter.nf_conntrack_acct=1`.
   */
  zero?: boolean;
  /**
   * Receive the dump on a worker thread while this one decodes (faster on large tables when a
   * second core is free; bench/ measures it). `true`: always (once the dump has sent 128 KiB:
   * a short dump never starts a thread); `"auto"`: when the table holds enough entries to pay for
   * starting a thread (Deno: from 100000 entries; Bun: from 150000), and once the dump has sent
   * 4 MiB (Deno) or 1 MiB (Bun), so a kernel-filtered dump with few matches starts none;
   * default `"auto"` (`false` never starts one). The worker runs until the dump ends or
   * the loop is left (`break`, `return`, an exception). A generator dropped half-way without
   * `return()` holds it until the client is closed, or until the worker has waited for this
   * thread for 0.2 s on Deno (whose workers keep a process alive) or 2 s on Bun (unref'd: they
   * never do); then the worker ends, and should the loop go on, the rest is read on this
   * thread. A pause longer than that in the loop costs only the read-ahead. A dropped dump
   * never blocks the client: the next request uses another socket, and the dropped dump's
   * socket is freed once the runtime collects the generator.
   */
  readAhead?: boolean | "auto";
}

/**
 * Table size from which a dump is read ahead on a worker thread, by runtime: where a thread
 * started measurably pays for itself (bench/op.ts, with and without): on a dump alone
 * (`dump`, `lines`), and on one whose entries this thread also acts on (a flush by dump
 * deletes each match), where it pays on smaller tables.
 */
const READ_AHEAD_MIN = {
  alone: { deno: 100000, bun: 150000 },
  acting: { deno: 20000, bun: 4000 },
} as const;
/** Bytes of a dump received before its read-ahead thread starts, with `readAhead: true`. */
const READ_AHEAD_AFTER = 128 * 1024;
/**
 * The same with `"auto"`, by runtime: a kernel-filtered dump of a big table may send little,
 * and a thread pays only on a long dump (at about 200 bytes an entry, roughly the
 * {@link READ_AHEAD_MIN} sizes; a Deno worker costs more to start than a Bun one).
 */
const READ_AHEAD_AUTO_AFTER = { deno: 4 << 20, bun: 1 << 20 } as const;

/** {@link Conntrack.dump}. */
export function* dump(
  s: Session,
  filter?: Filters,
  options: DumpOptions = {},
): Generator<Flow, void, void> {
  checkDumpOptions(options);
  const cf = compileFilter(filter);
  const recheck = !cf.empty && !options.kernelFilterOnly;
  if (options.zero) {
    yield* dumpAndZero(s, cf, recheck);
    return;
  }
  const dec = s.dec;
  for (const b of dumpBatches(s, s.socket(), cf, readAheadAfter(s, options.readAhead))) {
    const { dv, offsets, lengths } = b;
    for (let i = 0; i < b.count; i++) {
      const f = dec.decode(dv, offsets[i], lengths[i]);
      if (!recheck || cf.match(f)) yield f;
    }
  }
}

/**
 * The data replies of a dump of the table on `sock`, a datagram at a time: one dump per family
 * of `cf` with what of it the kernel applies, read ahead after `readAheadAfter` bytes (0:
 * never). Watched: a dump dropped half-way frees its socket once the runtime collects it.
 */
export function* dumpBatches(
  s: Session,
  sock: NetlinkSocket,
  cf: CompiledFilter,
  readAheadAfter: number,
): Generator<ReplyBatch, void, void> {
  for (const fam of cf.families) {
    yield* s.watched(
      sock,
      sock.batches(sendDump(s, sock, cf, fam), "Cannot dump flows", true, readAheadAfter),
    );
  }
}

/**
 * After how many bytes of a dump to start reading it ahead (0: never): see
 * {@link DumpOptions.readAhead}. `acting`: this thread acts on each entry (deletes it), not
 * only decodes it.
 */
export function readAheadAfter(
  s: Session,
  option: boolean | "auto" | undefined,
  acting = false,
): number {
  if (option === true) return READ_AHEAD_AFTER;
  if (option === false) return 0;
  const rt = runtime();
  const min = READ_AHEAD_MIN[acting ? "acting" : "alone"][rt];
  return s.sock.threadable && s.count() >= min ? READ_AHEAD_AUTO_AFTER[rt] : 0;
}

function sendDump(s: Session, sock: NetlinkSocket, cf: CompiledFilter, fam: number): number {
  const seq = sock.nextSeq();
  const b = s.b.reset();
  const at = beginRequest(b, {
    type: msgType(C.IPCTNL_MSG_CT_GET),
    flags: NLM_F_DUMP,
    seq,
    family: fam,
  });
  cf.encode(b, fam);
  b.end(at);
  sock.send(b.bytes());
  return seq;
}

/** {@link Conntrack.lines}. */
export function* lines(
  s: Session,
  filter?: Filters,
  options: DumpOptions = {},
  format: Pick<FormatOptions, "extended" | "id"> = {},
): Generator<string, void, void> {
  const out = new StringText();
  const done: string[] = [];
  const end = () => {
    done.push(out.s);
    out.s = "";
  };
  for (const _ of appended(s, out, filter, options, format, end)) {
    for (let i = 0; i < done.length; i++) yield done[i];
    done.length = 0;
  }
}

/**
 * A chunk of {@link Conntrack.text}: whole lines of `conntrack -L` text, each ended by a
 * newline, UTF-8 encoded.
 */
export interface TextChunk {
  /** The lines' bytes: valid until the generator resumes (copy them to keep them). */
  bytes: Uint8Array;
  /** How many lines `bytes` holds. */
  lines: number;
}

/** Bytes of text gathered before {@link text} hands them out (a datagram's lines may pass it). */
const TEXT_CHUNK = 64 * 1024;

/** {@link Conntrack.text}. */
export function* text(
  s: Session,
  filter?: Filters,
  options: DumpOptions = {},
  format: Pick<FormatOptions, "extended" | "id"> = {},
): Generator<TextChunk, void, void> {
  const out = new LineText(2 * TEXT_CHUNK);
  let n = 0;
  const end = () => {
    out.byte(10);
    n++;
  };
  try {
    for (const _ of appended(s, out, filter, options, format, end)) {
      if (out.length >= TEXT_CHUNK) {
        const chunk = { bytes: out.bytes.subarray(0, out.length), lines: n };
        out.length = n = 0; // before the yield: an error thrown in there finds nothing pending
        yield chunk;
      }
    }
  } catch (e) {
    if (n) yield { bytes: out.bytes.subarray(0, out.length), lines: n }; // the lines before it
    throw e;
  }
  if (n) yield { bytes: out.bytes.subarray(0, out.length), lines: n };
}

/**
 * The dump of {@link lines} and {@link text}: appends each entry's line to `out` and calls
 * `end` after it; yields after each datagram's lines (after each flow, when filtered). Made from
 * the kernel's bytes where it can, else from the decoded flow. Lines written before an error are
 * yielded before it is thrown.
 */
function* appended(
  s: Session,
  out: TextOut,
  filter: Filters | undefined,
  options: DumpOptions,
  format: Pick<FormatOptions, "extended" | "id">,
  end: () => void,
): Generator<void, void, void> {
  checkDumpOptions(options);
  checkLineFormat(format);
  const opts = { extended: format.extended, id: format.id };
  const cf = compileFilter(filter);
  if (options.zero || (!cf.empty && !options.kernelFilterOnly)) {
    for (const f of dump(s, filter, options)) {
      writeFlowLine(out, f, opts);
      end();
      yield;
    }
    return;
  }
  const dec = s.dec;
  for (const b of dumpBatches(s, s.socket(), cf, readAheadAfter(s, options.readAhead))) {
    const { dv, offsets, lengths } = b;
    let i = 0;
    try {
      for (; i < b.count; i++) {
        if (!formatWireInto(out, dv, offsets[i], lengths[i], opts)) {
          writeFlowLine(out, dec.decode(dv, offsets[i], lengths[i]), opts);
        }
        end();
      }
    } catch (e) {
      if (i > 0) yield; // the lines before the bad message first
      throw e;
    }
    yield;
  }
}

/** A whole-list dump of ctnetlink message `msg` (dying, unconfirmed, dump-and-zero), decoded. */
export function* dumpList(s: Session, msg: number, op: string): Generator<Flow, void, void> {
  const sock = s.socket();
  const seq = s.sendTableDump(sock, msg);
  for (const r of s.watched(sock, sock.replies(seq, op, true))) {
    yield s.dec.decode(r.dv, r.offset, r.length);
  }
}

/**
 * What identifies an entry of a dump, copied out of the dump datagram into a request byte for
 * byte (nothing re-encoded): the key attributes its own {@link FlowDecoder} found while
 * decoding it. A flush by dump deletes with it, a filtered dump-and-zero zeroes with it.
 */
export class RawKey {
  /** The dump's own decoder: its key offsets point into the datagram just decoded. */
  readonly #dec = new FlowDecoder();
  #dv: DataView | undefined;
  #u8: Uint8Array = new Uint8Array(0);
  #at = 0;

  /** Decodes the dump reply at `dv[offset, offset + length)`, remembering where its key is. */
  decode(dv: DataView, offset: number, length: number): Flow {
    if (dv !== this.#dv) {
      this.#dv = dv;
      this.#u8 = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
    }
    this.#at = offset;
    return this.#dec.decode(dv, offset, length);
  }

  /** The address family of the entry last decoded (its nfgenmsg's). */
  family(): number {
    return this.#u8[this.#at + NLMSG_HDRLEN];
  }

  /** Writes `CTA_TUPLE_ORIG` and, when present, `CTA_ZONE` of the entry last decoded. */
  writeTuple(b: MessageBuilder): void {
    const k = this.#dec.key;
    b.rawFrom(this.#u8, k.orig, k.origLen);
    if (k.zone >= 0) b.rawFrom(this.#u8, k.zone, 8);
  }

  /** Writes `CTA_ID` of the entry last decoded, when present. */
  writeId(b: MessageBuilder): void {
    const k = this.#dec.key;
    if (k.id >= 0) b.rawFrom(this.#u8, k.id, 8);
  }
}

function* dumpAndZero(
  s: Session,
  cf: CompiledFilter,
  recheck: boolean,
): Generator<Flow, void, void> {
  const op = "Cannot dump and zero counters";
  if (cf.empty) {
    yield* dumpList(s, C.IPCTNL_MSG_CT_GET_CTRZERO, op);
    return;
  }
  const sock = s.socket();
  const key = new RawKey();
  for (const fam of cf.families) {
    const seq = sendDump(s, sock, cf, fam);
    for (const r of sock.replies(seq, op, true)) {
      const f = key.decode(r.dv, r.offset, r.length);
      if (recheck && !cf.match(f)) continue;
      // GET_CTRZERO of this one entry, by its tuple and zone, on the second socket.
      const aux = s.socket();
      const m = s.begin(aux, C.IPCTNL_MSG_CT_GET_CTRZERO, NLM_F_ACK, key.family());
      key.writeTuple(s.b);
      let z: Flow | undefined;
      try {
        z = s.request(aux, m, op, (dv, o, l) => s.dec.decode(dv, o, l))[0];
      } catch (e) {
        if (e instanceof NetlinkError && e.errno === ENOENT) continue; // gone meanwhile
        throw e;
      }
      if (z) yield z;
    }
  }
}
