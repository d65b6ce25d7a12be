/**
 * {@link Conntrack}: the client. Its verbs mirror conntrack(8).
 *
 * Synchronous by design: the kernel answers ctnetlink requests inside the system call (nothing
 * waits on a network), so blocking calls never wait on anything but the kernel's own work,
 * and a dump yields flows from a plain iterator with no promise per flow. Waiting for events
 * is the one thing that can take unbounded time; that API is asynchronous.
 * @module
 */
import { MessageBuilder } from "../netlink/attribute.ts";
import type { BatchFailure, BatchSender } from "../netlink/sender.ts";
import { NetlinkError } from "../netlink/errors.ts";
import {
  NETLINK_NETFILTER,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
} from "../netlink/message.ts";
import {
  DEFAULT_RECEIVE_BUFFER,
  type LibcTransportOptions,
  LibcTransport,
  NetlinkSocket,
  type Reply,
  type TransportFactory,
} from "../netlink/socket.ts";
import { type Netns, NetnsHandle } from "../netlink/netns.ts";
import * as C from "./constants.ts";
import { type CompiledFilter, compileFilter, type Filter } from "./filter.ts";
import { runtime } from "../ffi/syscalls.ts";
import { SyscallError } from "../ffi/errno.ts";
import { flushSentinels, type Sentinel } from "./sentinels.ts";
import { encodeFlow, familyNumber, type Flow, FlowDecoder, HELPER_NAME_MAX, validateFlow, writeNfgenmsg } from "./flow.ts";
import { type CpuStats, decodeCpuStats, decodeGlobalStats, type GlobalStats } from "./stats.ts";
import type { Proto, Tuple } from "./tuple.ts";
import {
  createExpectation,
  deleteExpectation,
  dumpExpectations,
  type ExpectCpuStats,
  type Expectation,
  type ExpectFilter,
  type ExpectKey,
  expectationStats,
  getExpectation,
} from "./expect.ts";
import { checkEventOptions, type EventOptions, EventStream, openEventStream } from "./events.ts";
import { formatFlow, type FormatOptions, formatWire } from "./format.ts";
import {
  type BatchProgress,
  batchStopped,
  checkArray,
  checkBatchInput,
  checkDumpOptions,
  checkFlushOptions,
  checkLineFormat,
  checkName,
  checkOpenOptions,
} from "./options.ts";

/** What identifies an entry: its protocol and original (or reply) tuple, and optionally zone and id. */
export interface FlowKey {
  family?: Flow["family"];
  proto: Proto;
  orig?: Tuple;
  reply?: Tuple;
  zone?: number;
  /** When given, the kernel only acts if the entry still has this id (a re-created one is spared). */
  id?: number;
}

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
   * Receive the dump on a worker thread while this one decodes (1.2–1.3x faster on large
   * tables when a second core is free). `true`: always (once the dump has sent 128 KiB: a short
   * dump never starts a thread); `"auto"`: when the table holds enough entries to pay for
   * starting a thread (Deno: from 20000 entries; Bun: from 4000), and once the dump has sent
   * 4 MiB (Deno) or 1 MiB (Bun), so a kernel-filtered dump with few matches starts none;
   * default false. The worker runs until the dump ends or
   * the loop is left (`break`, `return`, an exception). A generator dropped half-way without
   * `return()` holds it until the client is closed, or for 2 s after it last took a datagram
   * (then the worker ends; should the loop go on, the rest is read on this thread). A pause
   * longer than that in the loop costs only the read-ahead. {@link Conntrack.list} and the dump
   * behind {@link Conntrack.flush} use `"auto"`.
   */
  readAhead?: boolean | "auto";
}

/** Table size from which a dump is read ahead on a worker thread, by runtime (measured). */
const READ_AHEAD_MIN = { deno: 20000, bun: 4000 } as const;
/** Bytes of a dump received before its read-ahead thread starts, with `readAhead: true`. */
const READ_AHEAD_AFTER = 128 * 1024;
/**
 * The same with `"auto"`, by runtime: a kernel-filtered dump of a big table may send little,
 * and a thread pays only on a long dump (~200 bytes an entry: Deno ~20000 entries, where a
 * worker costs tens of ms in a fresh process; Bun ~5000).
 */
const READ_AHEAD_AUTO_AFTER = { deno: 4 << 20, bun: 1 << 20 } as const;

/** Options of {@link Conntrack.flush}. */
export interface FlushOptions {
  /**
   * `"auto"` (default): in the kernel when it can apply the whole filter, else dump + delete.
   * `"kernel"`: only in the kernel (TypeError if it cannot). `"dump"`: always dump + delete.
   */
  via?: "auto" | "kernel" | "dump";
  /** An extra userspace condition a flow must meet too (implies `via: "dump"`). */
  where?: (flow: Flow) => boolean;
  /**
   * Called with each flow once its delete has succeeded (implies `via: "dump"`): e.g. to list
   * what was deleted, as `conntrack -D` does. Flows whose delete failed are not passed.
   */
  onDeleted?: (flow: Flow) => void;
}

/** What a flush by dump did: `deleted` counts the deletes the kernel acknowledged. */
export interface DumpFlushResult {
  via: "dump";
  deleted: number;
}

/** What a kernel-side flush did: the kernel does not say how many entries it removed. */
export interface KernelFlushResult {
  via: "kernel";
  deleted: undefined;
}

/**
 * What {@link Conntrack.flush} or {@link Conntrack.flushAll} did. The count is exact or absent,
 * never estimated: a kernel-side flush reports no count (and "size before minus size after" is
 * wrong whenever anything else changes the table meanwhile).
 */
export type FlushResult = DumpFlushResult | KernelFlushResult;

/** Options of {@link Conntrack.open}. */
export interface OpenOptions {
  /** Receive buffer to ask for, in bytes (default 8 MiB; `SO_RCVBUFFORCE` when privileged). */
  receiveBufferSize?: number;
  /** Replaces the kernel socket (tests use a scripted transport). */
  transport?: TransportFactory;
  /**
   * Network namespace whose table to manage: `"/run/netns/NAME"` (or any namespace file), a
   * pid (that process's namespace), or `{ fd }` (an open namespace fd, borrowed). Default: the
   * calling thread's. Every socket the client opens is created there; see {@link Netns}.
   * Needs `CAP_SYS_ADMIN` to enter the namespace (`ip netns exec` needs the same).
   */
  netns?: Netns;
}

/** Outcome of a batch of deletes. `deleted + missing + failed.length` is the number asked. */
export interface DeleteResult {
  deleted: number;
  /** Entries that were already gone (`ENOENT`). */
  missing: number;
  failed: { flow: FlowKey; error: NetlinkError }[];
}

/** Outcome of a batch of creates. */
export interface CreateResult {
  created: number;
  failed: { flow: Flow; error: NetlinkError }[];
}

export type { BatchStopped } from "./options.ts";

const ENOENT = 2;
const ENOSPC = 28;
/** nfgenmsg version 1: a flush honours the family (with 0 a family "filter" flushes everything). */
const NFNETLINK_V1 = 1;

const msgType = (m: number) => (C.NFNL_SUBSYS_CTNETLINK << 8) | m;
/** Replies per batch: an acknowledgement costs about 1 KiB of receive buffer (truesize). */
const REPLY_COST = 1024;
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
    this.#sender ??= this.sock.batchSender({ slotBytes: BATCH_BYTES + 8192, maxCount: this.limit, op: this.op, onDone: this.#done });
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
 * A conntrack client on one netlink socket (plus a second one, opened on demand, for requests
 * made while a dump is being iterated).
 *
 * @example
 * ```ts
 * import { Conntrack } from "./mod.ts";
 * using ct = Conntrack.open();
 * for (const f of ct.dump({ proto: "udp", dport: 53 })) console.log(f.orig.src, f.timeout);
 * ```
 */
export class Conntrack {
  #factory: TransportFactory;
  #sock: NetlinkSocket;
  #aux: NetlinkSocket | undefined;
  #b = new MessageBuilder(64 * 1024);
  #batchBuilder: MessageBuilder | undefined;
  #dec = new FlowDecoder();
  #batchMax = 0;

  /** The namespace handle the client was opened with (event sockets are opened there too). */
  #netns: NetnsHandle | undefined;

  /** True with a caller's transport (tests): no scratch namespace can mirror it. */
  #custom = false;

  private constructor(factory: TransportFactory, netns?: NetnsHandle) {
    this.#factory = factory;
    this.#netns = netns;
    // The main socket owns the namespace handle: it is closed last (see close()).
    this.#sock = new NetlinkSocket(factory, netns && (() => netns.close()));
  }

  /**
   * Opens a ctnetlink socket in the calling process's network namespace, or in `options.netns`
   * (`{ netns: "/run/netns/a" }`, `{ netns: pid }`, `{ netns: { fd } }`): one process can
   * hold clients for several namespaces at once, each seeing only its own table.
   * Needs `CAP_NET_ADMIN` there for anything but reading (run as root, or in `unshare -rn`).
   */
  static open(options: OpenOptions = {}): Conntrack {
    checkOpenOptions(options);
    const opts: LibcTransportOptions = { receiveBufferSize: options.receiveBufferSize ?? DEFAULT_RECEIVE_BUFFER };
    if (options.netns !== undefined) {
      if (options.transport) throw new TypeError("Cannot open: the netns and transport options exclude each other");
      // Opened once: the main socket, the second one and any reopened socket all land there.
      const ns = NetnsHandle.open(options.netns);
      const nsOpts: LibcTransportOptions = { ...opts, netns: ns };
      return new Conntrack(() => new LibcTransport(NETLINK_NETFILTER, nsOpts), ns);
    }
    if (options.transport) {
      const ct = new Conntrack(options.transport);
      ct.#custom = true;
      return ct;
    }
    return new Conntrack(() => new LibcTransport(NETLINK_NETFILTER, opts));
  }

  /** A socket that is not in the middle of a dump. */
  #socket(): NetlinkSocket {
    if (!this.#sock.busy) return this.#sock;
    this.#aux ??= new NetlinkSocket(this.#factory);
    if (this.#aux.busy) throw new TypeError("Cannot start a request: two dumps are already being iterated");
    return this.#aux;
  }

  #reqSeq = 0;

  #begin(sock: NetlinkSocket, msg: number, flags: number, family: number, version = C.NFNETLINK_V0): number {
    const b = this.#b.reset();
    this.#reqSeq = sock.nextSeq();
    const at = b.begin(msgType(msg), NLM_F_REQUEST | flags, this.#reqSeq);
    writeNfgenmsg(b, family, version);
    return at;
  }

  /** Sends the built message and returns its data replies (decoded by `each`) until the ACK. */
  #request<T>(sock: NetlinkSocket, at: number, op: string, each?: (dv: DataView, off: number, len: number) => T): T[] {
    const b = this.#b;
    b.end(at);
    const seq = this.#reqSeq;
    sock.send(b.bytes());
    const out: T[] = [];
    for (const r of sock.replies(seq, op, false)) if (each) out.push(each(r.dv, r.offset, r.length));
    return out;
  }

  /**
   * Streams the table (`conntrack -L`), optionally filtered: flows are decoded as datagrams
   * arrive, so memory stays flat however large the table is. Breaking out of the loop early
   * abandons the dump cleanly.
   */
  *dump(filter?: Filter, options: DumpOptions = {}): Generator<Flow, void, void> {
    checkDumpOptions(options);
    const cf = compileFilter(filter);
    const recheck = !cf.empty && !options.kernelFilterOnly;
    if (options.zero) {
      yield* this.#dumpAndZero(cf, recheck);
      return;
    }
    const dec = this.#dec;
    for (const r of this.#dumpReplies(this.#socket(), cf, this.#readAhead(options.readAhead))) {
      const f = dec.decode(r.dv, r.offset, r.length);
      if (!recheck || cf.match(f)) yield f;
    }
  }

  /** The data messages of a dump with `cf` on `sock`: one dump per family in `cf.families`, in turn. */
  *#dumpReplies(sock: NetlinkSocket, cf: CompiledFilter, readAheadAfter: number): Generator<Reply, void, void> {
    for (const fam of cf.families) {
      yield* sock.replies(this.#sendDump(sock, cf, fam), "Cannot dump flows", true, readAheadAfter);
    }
  }

  /**
   * After how many bytes of a dump to start reading it ahead (0: never): see
   * {@link DumpOptions.readAhead}.
   */
  #readAhead(option: boolean | "auto" | undefined): number {
    if (option !== "auto") return option === true ? READ_AHEAD_AFTER : 0;
    const rt = runtime();
    return this.#sock.threadable && this.count() >= READ_AHEAD_MIN[rt] ? READ_AHEAD_AUTO_AFTER[rt] : 0;
  }

  /** Sends a `IPCTNL_MSG_CT_GET` dump request for family `fam` with `cf`'s kernel-side filter; returns its seq. */
  #sendDump(sock: NetlinkSocket, cf: CompiledFilter, fam: number): number {
    const seq = sock.nextSeq();
    const b = this.#b.reset();
    const at = b.begin(msgType(C.IPCTNL_MSG_CT_GET), NLM_F_REQUEST | NLM_F_DUMP, seq);
    writeNfgenmsg(b, fam);
    cf.encode(b, fam);
    b.end(at);
    sock.send(b.bytes());
    return seq;
  }

  /**
   * The lines `conntrack -L` prints (`-o extended`, `-o id`) for the flows {@link dump} yields:
   * `formatFlow(flow, format)` of each, made straight from the kernel's bytes where no
   * userspace check is needed ({@link formatWire}: about a third faster on big tables).
   *
   * @example
   * ```ts
   * for (const line of ct.lines()) console.log(line); // conntrack -L
   * ```
   */
  *lines(filter?: Filter, options: DumpOptions = {}, format: Pick<FormatOptions, "extended" | "id"> = {}): Generator<string, void, void> {
    checkDumpOptions(options);
    checkLineFormat(format);
    const opts = { extended: format.extended, id: format.id };
    const cf = compileFilter(filter);
    if (options.zero || (!cf.empty && !options.kernelFilterOnly)) {
      for (const f of this.dump(filter, options)) yield formatFlow(f, opts);
      return;
    }
    const dec = this.#dec;
    for (const r of this.#dumpReplies(this.#socket(), cf, this.#readAhead(options.readAhead))) {
      yield formatWire(r.dv, r.offset, r.length, opts) ?? formatFlow(dec.decode(r.dv, r.offset, r.length), opts);
    }
  }

  /** Collects {@link dump} into an array (`conntrack -L`). */
  list(filter?: Filter, options?: DumpOptions): Flow[] {
    checkDumpOptions(options);
    return Array.from(this.dump(filter, { readAhead: "auto", ...options }));
  }

  // --- Dump-and-zero, dying and unconfirmed lists -------------------------------------------

  /** A whole-table dump of `msg` (`NLM_F_DUMP`, all families), decoded. */
  *#dumpList(msg: number, op: string): Generator<Flow, void, void> {
    const sock = this.#socket();
    const seq = sock.nextSeq();
    const b = this.#b.reset();
    const at = b.begin(msgType(msg), NLM_F_REQUEST | NLM_F_DUMP, seq);
    writeNfgenmsg(b, C.AF_UNSPEC);
    b.end(at);
    sock.send(b.bytes());
    for (const r of sock.replies(seq, op, true)) yield this.#dec.decode(r.dv, r.offset, r.length);
  }

  /** See {@link DumpOptions.zero}. */
  *#dumpAndZero(cf: CompiledFilter, recheck: boolean): Generator<Flow, void, void> {
    const op = "Cannot dump and zero counters";
    if (cf.empty) {
      yield* this.#dumpList(C.IPCTNL_MSG_CT_GET_CTRZERO, op);
      return;
    }
    const sock = this.#socket();
    const dec = new FlowDecoder(); // the dump's own: its key offsets point into the dump datagram
    let u8: Uint8Array = new Uint8Array(0);
    let u8dv: DataView | undefined;
    for (const fam of cf.families) {
      const seq = this.#sendDump(sock, cf, fam);
      for (const r of sock.replies(seq, op, true)) {
        const f = dec.decode(r.dv, r.offset, r.length);
        if (recheck && !cf.match(f)) continue;
        if (r.dv !== u8dv) {
          u8dv = r.dv;
          u8 = new Uint8Array(r.dv.buffer, r.dv.byteOffset, r.dv.byteLength);
        }
        // GET_CTRZERO of this one entry, by its tuple and zone, on the second socket.
        const k = dec.key;
        const aux = this.#socket();
        const m = this.#begin(aux, C.IPCTNL_MSG_CT_GET_CTRZERO, NLM_F_ACK, r.dv.getUint8(r.offset + 16));
        this.#b.rawFrom(u8, k.orig, k.origLen);
        if (k.zone >= 0) this.#b.rawFrom(u8, k.zone, 8);
        let z: Flow | undefined;
        try {
          z = this.#request(aux, m, op, (dv, o, l) => this.#dec.decode(dv, o, l))[0];
        } catch (e) {
          if (e instanceof NetlinkError && e.errno === ENOENT) continue; // gone meanwhile
          throw e;
        }
        if (z) yield z;
      }
    }
  }

  /**
   * Streams the entries on the dying list (`conntrack -L dying`, `IPCTNL_MSG_CT_GET_DYING`):
   * entries already removed from the table whose destroy event could not be delivered to a
   * reliable listener (one with `NETLINK_BROADCAST_ERROR` whose buffer is full); the kernel
   * retries, and they still count in {@link count} until then. Their status includes `DYING`.
   * Empty unless such a listener falls behind. Not filtered, not per family.
   */
  dying(): Generator<Flow, void, void> {
    return this.#dumpList(C.IPCTNL_MSG_CT_GET_DYING, "Cannot dump dying flows");
  }

  /**
   * Streams unconfirmed entries (`conntrack -L unconfirmed`, `IPCTNL_MSG_CT_GET_UNCONFIRMED`):
   * entries created for a packet still traversing the stack, not yet in the table. Linux 6.1
   * removed the list: there the kernel accepts the request and always answers with no entry.
   */
  unconfirmed(): Generator<Flow, void, void> {
    return this.#dumpList(C.IPCTNL_MSG_CT_GET_UNCONFIRMED, "Cannot dump unconfirmed flows");
  }

  /** Looks one entry up by its tuple (`conntrack -G`); undefined when there is none. */
  get(key: FlowKey): Flow | undefined {
    const f = validateFlow(key as Partial<Flow>, "key");
    const sock = this.#socket();
    const at = this.#begin(sock, C.IPCTNL_MSG_CT_GET, NLM_F_ACK, familyNumber(f.family));
    encodeFlow(this.#b, f, "key");
    try {
      return this.#request(sock, at, "Cannot get flow", (dv, o, l) => this.#dec.decode(dv, o, l))[0];
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENOENT) return undefined;
      throw e;
    }
  }

  /**
   * Creates an entry (`conntrack -I`). `timeout` is required; `reply` defaults to the inverted
   * `orig`. Throws {@link NetlinkError} `EEXIST` if it exists already.
   */
  create(flow: Partial<Flow> & Pick<Flow, "proto">): void {
    const f = validateFlow(flow, "create");
    const sock = this.#socket();
    const at = this.#begin(sock, C.IPCTNL_MSG_CT_NEW, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, familyNumber(f.family));
    encodeFlow(this.#b, f, "create");
    this.#request(sock, at, "Cannot create flow");
  }

  /**
   * Changes an existing entry (`conntrack -U`): mark, timeout, status, labels, protocol info,
   * helper. Throws {@link NetlinkError} `ENOENT` if it does not exist.
   */
  update(flow: Partial<Flow> & Pick<Flow, "proto">): void {
    const f = validateFlow(flow, "update");
    const sock = this.#socket();
    const at = this.#begin(sock, C.IPCTNL_MSG_CT_NEW, NLM_F_ACK, familyNumber(f.family));
    encodeFlow(this.#b, f, "update");
    this.#request(sock, at, "Cannot update flow");
  }

  // --- Label bits: --label-add / --label-del ------------------------------------------------

  /**
   * Sets label bits (0..127) on an entry and leaves its other bits as they are
   * (`conntrack -U --label-add`). One request: `CTA_LABELS` = `bits`, `CTA_LABELS_MASK` = `bits`.
   *
   * The kernel stores labels only in entries created while the namespace had label storage
   * switched on — by a ruleset that sets labels (nft `ct label set …`, iptables
   * `-m connlabel --set`); otherwise it answers `ENOSPC`.
   * @example
   * ```ts
   * ct.addLabels({ proto: "tcp", orig }, [1, 64]); // conntrack -U ... --label-add one,sixtyfour
   * ```
   */
  addLabels(key: FlowKey, bits: readonly number[]): void {
    this.#changeLabels(key, bits, bits, "Cannot add labels");
  }

  /**
   * Clears label bits (0..127) of an entry and leaves its other bits as they are
   * (`conntrack -U --label-del`): `CTA_LABELS` all zero, `CTA_LABELS_MASK` = `bits`.
   * See {@link addLabels} for when the kernel has label storage.
   */
  delLabels(key: FlowKey, bits: readonly number[]): void {
    this.#changeLabels(key, [], bits, "Cannot delete labels");
  }

  /** An update of only the label bits in `mask` (to their value in `labels`). */
  #changeLabels(key: FlowKey, labels: readonly number[], mask: readonly number[], op: string): void {
    validateFlow(key as Partial<Flow>, "key"); // the whole key: the update below copies only some of its fields
    checkArray(mask, "label bits");
    // Only what identifies the entry: a whole Flow from a dump would also rewrite its mark, timeout...
    const f = validateFlow({
      family: key.family, proto: key.proto, orig: key.orig, reply: key.reply, zone: key.zone,
      labels: [...labels], labelsMask: [...mask],
    } as Partial<Flow> & Pick<Flow, "proto">, "update");
    const sock = this.#socket();
    const at = this.#begin(sock, C.IPCTNL_MSG_CT_NEW, NLM_F_ACK, familyNumber(f.family));
    encodeFlow(this.#b, f, "update");
    try {
      this.#request(sock, at, op);
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENOSPC) {
        e.message += "; the entry has no label storage: it must be created while a rule that sets labels " +
          "(nft `ct label set`, iptables `-m connlabel --set`) exists in its namespace";
      }
      throw e;
    }
  }

  /**
   * Deletes one entry (`conntrack -D` with a full tuple). Given a flow with an `id`, only that
   * exact entry is deleted. Throws {@link NetlinkError} `ENOENT` if there is none.
   */
  delete(key: FlowKey): void {
    const f = validateFlow(key as Partial<Flow>, "key");
    const sock = this.#socket();
    const at = this.#begin(sock, C.IPCTNL_MSG_CT_DELETE, NLM_F_ACK, familyNumber(f.family));
    encodeFlow(this.#b, f, "key");
    this.#request(sock, at, "Cannot delete flow");
  }

  #batchLimit(sock: NetlinkSocket): number {
    if (!this.#batchMax) this.#batchMax = Math.max(16, Math.floor(sock.receiveBufferSize() / REPLY_COST));
    return this.#batchMax;
  }

  /**
   * Sends one message per item in batches (many per `sendto`) without `NLM_F_ACK`: the kernel
   * answers only failures, and has answered all of them when `sendto` returns, so each batch
   * is drained without waiting. Batches are sized so the receive buffer holds a failure reply
   * for every request; if replies were dropped anyway the call throws `ENOBUFS` rather than
   * count unknown outcomes as successes.
   */
  #batch<T>(
    items: Iterable<T>,
    op: string,
    write: (b: MessageBuilder, item: T, seq: number) => void,
    onError: (item: T, errno: number, msg?: string) => void,
    progress: BatchProgress = { sent: 0, ok: 0, stopped: false },
  ): number {
    // Its own builder, and the socket chosen once the first item is in hand: a lazy iterable
    // may itself be a dump of this client (which then holds the main socket and this.#b).
    const b = this.#batchBuilder ??= new MessageBuilder(BATCH_BYTES + 8192);
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
            sock = this.#socket();
            limit = this.#batchLimit(sock);
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
  createMany(flows: Iterable<Partial<Flow> & Pick<Flow, "proto">>): CreateResult {
    checkBatchInput(flows, (f) => validateFlow(f as Partial<Flow>, "create"), "createMany");
    const res: CreateResult = { created: 0, failed: [] };
    const progress: BatchProgress = { sent: 0, ok: 0, stopped: false };
    try {
      res.created = this.#batch(flows, "Cannot create flows", (b, item, seq) => {
        const f = validateFlow(item, "create");
        const at = b.begin(msgType(C.IPCTNL_MSG_CT_NEW), NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL, seq);
        writeNfgenmsg(b, familyNumber(f.family));
        encodeFlow(b, f, "create");
        b.end(at);
      }, (f, errno, msg) => {
        res.failed.push({ flow: f as Flow, error: new NetlinkError("Cannot create flow", errno, { message: msg }) });
      }, progress);
    } catch (e) {
      if (progress.stopped) res.created = progress.ok;
      throw progress.stopped ? batchStopped(e, progress.sent, res) : e;
    }
    return res;
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
  deleteMany(flows: Iterable<FlowKey>): DeleteResult {
    checkBatchInput(flows, (k) => validateFlow(k as Partial<Flow>, "key"), "deleteMany");
    const res: DeleteResult = { deleted: 0, missing: 0, failed: [] };
    const progress: BatchProgress = { sent: 0, ok: 0, stopped: false };
    try {
      res.deleted = this.#batch(flows, "Cannot delete flows", (b, k, seq) => {
        const f = validateFlow(k as Partial<Flow>, "key");
        const at = b.begin(msgType(C.IPCTNL_MSG_CT_DELETE), NLM_F_REQUEST, seq);
        writeNfgenmsg(b, familyNumber(f.family));
        encodeFlow(b, f, "key");
        b.end(at);
      }, (k, errno, msg) => {
        if (errno === ENOENT) res.missing++;
        else res.failed.push({ flow: k, error: new NetlinkError("Cannot delete flow", errno, { message: msg }) });
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
  #flushViaDump(cf: CompiledFilter, where?: (f: Flow) => boolean, onDeleted?: (f: Flow) => void): number {
    const op = "Cannot delete flows";
    const ahead = this.#readAhead("auto");
    const dumpSock = this.#socket();
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
      for (const r of this.#dumpReplies(dumpSock, cf, ahead)) {
        const f = dec.decode(r.dv, r.offset, r.length);
        if ((!cf.empty && !cf.match(f)) || (where && !where(f))) continue;
        if (!out) {
          const del = this.#socket(); // the second socket: the first is busy with the dump
          limit = this.#batchLimit(del);
          out = new BatchOut<Flow | undefined>(del, op, limit, onError, onDeleted && ((f) => onDeleted(f!)), false);
        }
        if (r.dv !== u8dv) {
          u8dv = r.dv;
          u8 = new Uint8Array(r.dv.buffer, r.dv.byteOffset, r.dv.byteLength);
        }
        const k = dec.key;
        if (pending.length === 0) first = out!.sock.nextSeq(limit);
        const m = b.begin(msgType(C.IPCTNL_MSG_CT_DELETE), NLM_F_REQUEST, (first + pending.length) >>> 0);
        writeNfgenmsg(b, r.dv.getUint8(r.offset + 16));
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
      throw new NetlinkError(`Cannot flush: ${failures.length} deletes failed (${deleted} done); first`, failures[0].errno, {
        message: failures[0].kernelMessage,
      }, { cause: failures });
    }
    return deleted;
  }

  /**
   * Deletes every entry matching `filter` (`conntrack -D <filter>`; nfct's `-F <filter>`). The
   * filter must have at least one condition: `flush()`, `flush(undefined)`, `flush({})` and a
   * filter with an `undefined`/`null` value or an empty `reply` are a `TypeError` before
   * anything is sent. To empty the whole table, call {@link flushAll}.
   *
   * Two ways, one answer:
   * - in the kernel (`via: "kernel"`, chosen by `"auto"` when possible): one request per family
   *   with the filter, when every condition is one the kernel applies itself (protocol, exact
   *   IPv4 addresses, TCP/UDP ports, mark/mask, status/mask, family) *and* this kernel was seen
   *   to apply that kind of filter exactly: the first time a client flushes with a filter of a
   *   given shape, it tries the same request on sentinel entries in a private scratch network
   *   namespace (never this table; needs `CAP_SYS_ADMIN`, else the dump way is used). The
   *   kernel does not say how many it deleted: `deleted` is `undefined`.
   * - by a dump (`via: "dump"`; always with `where`/`onDeleted`): the table is dumped with the
   *   filter, every entry is matched in userspace and the matches are deleted in pipelined
   *   batches, each guarded by its id. `deleted` counts the deletes the kernel acknowledged.
   *
   * @example
   * ```ts
   * const r = ct.flush({ proto: "udp", dport: 8080 }, { via: "dump" });
   * console.log(`${r.deleted} entries deleted`);
   * ```
   */
  flush(filter: Filter, options: FlushOptions & ({ via: "dump" } | { where: (flow: Flow) => boolean } | { onDeleted: (flow: Flow) => void })): DumpFlushResult;
  flush(filter: Filter, options?: FlushOptions): FlushResult;
  flush(filter: Filter, options: FlushOptions = {}): FlushResult {
    const cf = compileFilter(filter);
    if (cf.empty) {
      throw new TypeError("Cannot flush: the filter has no condition (to empty the whole table, call flushAll())");
    }
    const opts = checkFlushOptions(options) as FlushOptions;
    const perFlow = opts.where !== undefined || opts.onDeleted !== undefined;
    const via = opts.via ?? (perFlow ? "dump" : "auto");
    if (perFlow && via !== "dump") throw new TypeError(`Cannot flush via "${via}" with where/onDeleted: those need the dump path`);
    if (via !== "dump") {
      if (cf.kernel.exact && this.#kernelFlushProven(cf)) {
        this.#kernelFlush(cf, cf.families, "Cannot flush flows");
        return { via: "kernel", deleted: undefined };
      }
      if (via === "kernel") {
        throw new TypeError(
          `Cannot flush in the kernel: ${
            cf.kernel.exact
              ? "this kernel's filtered flush could not be proven on a scratch table (no CAP_SYS_ADMIN, or it deleted the wrong sentinels)"
              : "the filter has conditions only userspace can check (CIDR, IPv6 address, state, zone, non-TCP/UDP ports)"
          }`,
        );
      }
    }
    return { via: "dump", deleted: this.#flushViaDump(cf, opts.where, opts.onDeleted) };
  }

  /**
   * Empties the whole table (`conntrack -F`). By default one kernel request, which does not
   * say how many it deleted (`deleted: undefined`); `{ via: "dump" }` (implied by `where` or
   * `onDeleted`) dumps the table and deletes each entry, counting every acknowledged delete
   * (`conntrack -D` without a filter).
   */
  flushAll(options: FlushOptions & ({ via: "dump" } | { where: (flow: Flow) => boolean } | { onDeleted: (flow: Flow) => void })): DumpFlushResult;
  flushAll(options?: FlushOptions): FlushResult;
  flushAll(options: FlushOptions = {}): FlushResult {
    const opts = checkFlushOptions(options) as FlushOptions;
    const perFlow = opts.where !== undefined || opts.onDeleted !== undefined;
    const via = opts.via ?? (perFlow ? "dump" : "kernel");
    if (perFlow && via !== "dump") throw new TypeError(`Cannot flush via "${via}" with where/onDeleted: those need the dump path`);
    const cf = compileFilter();
    if (via === "dump") return { via: "dump", deleted: this.#flushViaDump(cf, opts.where, opts.onDeleted) };
    this.#kernelFlush(cf, [C.AF_UNSPEC], "Cannot flush the table");
    return { via: "kernel", deleted: undefined };
  }

  /** One DELETE without a tuple per family: the kernel deletes what matches the filter. */
  #kernelFlush(cf: CompiledFilter, families: number[], op: string): void {
    for (const fam of families) {
      const sock = this.#socket();
      const at = this.#begin(sock, C.IPCTNL_MSG_CT_DELETE, NLM_F_ACK, fam, NFNETLINK_V1);
      cf.encode(this.#b, fam);
      this.#request(sock, at, op);
    }
  }

  /** Filter shapes whose kernel flush this client proved (true) or could not prove (false). */
  #proven = new Map<string, boolean>();

  /**
   * Whether {@link flush} would delete the entries `filter` selects in the kernel (`"auto"`):
   * every condition is one the kernel applies, and a kernel flush of that shape deleted exactly
   * the right sentinels in a private scratch network namespace (tried once per client and shape;
   * this table is never touched). False without `CAP_SYS_ADMIN` (no scratch namespace) or with a
   * custom transport.
   */
  canFlushInKernel(filter: Filter): boolean {
    const cf = compileFilter(filter);
    return !cf.empty && cf.kernel.exact && this.#kernelFlushProven(cf);
  }

  #kernelFlushProven(cf: CompiledFilter): boolean {
    const shape = cf.kernel.shape;
    let ok = this.#proven.get(shape);
    if (ok !== undefined) return ok;
    ok = false;
    const sentinels = this.#custom ? undefined : flushSentinels(cf.kernel.conditions);
    if (sentinels) {
      let ns: NetnsHandle | undefined;
      try {
        ns = NetnsHandle.scratch();
      } catch (e) {
        if (!(e instanceof SyscallError)) throw e;
      }
      if (ns) {
        const opts: LibcTransportOptions = { receiveBufferSize: 1 << 20, netns: ns };
        const scratch = new Conntrack(() => new LibcTransport(NETLINK_NETFILTER, opts), ns);
        try {
          ok = scratch.#proveKernelFlush(cf, sentinels);
        } finally {
          scratch.close();
        }
      }
    }
    this.#proven.set(shape, ok);
    return ok;
  }

  /**
   * On this (scratch) table: each sentinel alone, flushed in the kernel with `cf`; true when the
   * kernel deleted exactly those userspace matches, and at least one.
   */
  #proveKernelFlush(cf: CompiledFilter, sentinels: Sentinel[]): boolean {
    let hits = 0;
    for (const s of sentinels) {
      try {
        this.create(s.flow);
      } catch (e) {
        if (e instanceof NetlinkError) return false; // a sentinel this kernel refuses: nothing proven
        throw e;
      }
      const listed = this.list();
      if (listed.length !== 1 || cf.match(listed[0]) !== s.expect) return false;
      try {
        this.#kernelFlush(cf, cf.families, "Cannot try a filtered flush");
      } catch (e) {
        if (e instanceof NetlinkError) return false; // EOPNOTSUPP, EINVAL: not supported
        throw e;
      }
      const gone = this.count() === 0;
      if (gone !== s.expect) return false;
      if (gone) hits++;
      else this.#kernelFlush(compileFilter(), [C.AF_UNSPEC], "Cannot empty the scratch table");
    }
    return hits > 0;
  }

  /** Number of entries in the table (`conntrack -C`); O(1) in the kernel. */
  count(): number {
    return this.globalStats().entries;
  }

  /** Entries and `nf_conntrack_max` (`IPCTNL_MSG_CT_GET_STATS`). */
  globalStats(): GlobalStats {
    const sock = this.#socket();
    const at = this.#begin(sock, C.IPCTNL_MSG_CT_GET_STATS, NLM_F_ACK, C.AF_UNSPEC);
    const r = this.#request(sock, at, "Cannot read conntrack statistics", decodeGlobalStats);
    if (!r[0]) throw new RangeError("Cannot read conntrack statistics: the kernel sent no reply");
    return r[0];
  }

  /** Per-CPU statistics (`conntrack -S`). */
  stats(): CpuStats[] {
    const sock = this.#socket();
    const seq = sock.nextSeq();
    const b = this.#b.reset();
    const at = b.begin(msgType(C.IPCTNL_MSG_CT_GET_STATS_CPU), NLM_F_REQUEST | NLM_F_DUMP, seq);
    writeNfgenmsg(b, C.AF_UNSPEC);
    b.end(at);
    sock.send(b.bytes());
    const out: CpuStats[] = [];
    for (const r of sock.replies(seq, "Cannot read per-CPU statistics", true)) out.push(decodeCpuStats(r.dv, r.offset, r.length));
    return out;
  }

  // --- Events (conntrack -E) ---

  /** The netlink port id of the client's socket: events it causes carry it as `portId`. */
  get portId(): number {
    return this.#sock.portId;
  }

  /**
   * Listens for events (`conntrack -E`): `new`, `update`, `destroy` of flows and
   * `expectNew`/`expectDestroy` of expectations, on a socket of its own in the client's
   * namespace (or `options.netns`). Returns an async iterator; waiting for events never blocks
   * the event loop (Deno: poll() on another thread; Bun: a Worker). Stop it with `break`,
   * `close()` or `options.signal`. When the kernel drops events (receive buffer full) the
   * stream yields `{ type: "overrun", lost }` and goes on; with `resync: true` it then yields
   * `{ type: "resync", flows }`, a fresh dump to rebuild from. See {@link EventOptions}.
   *
   * @example
   * ```ts
   * using ct = Conntrack.open();
   * for await (const ev of ct.events({ types: ["new", "destroy"], filter: { proto: "tcp" } })) {
   *   if (ev.type === "new" || ev.type === "destroy") console.log(ev.type, ev.flow.orig);
   * }
   * ```
   */
  events(options: EventOptions = {}): EventStream {
    checkEventOptions(options);
    return openEventStream({ ...options, transportNetns: options.netns ?? this.#netns }, {
      dump: (f) => this.dump(f),
      dumpExpect: () => this.dumpExpect(),
    });
  }

  // --- Expectations (conntrack -L/-G/-I/-D/-F expect) ---

  /**
   * Streams the expectation table (`conntrack -L expect`). `family` and `master` are filtered
   * by the kernel, the rest in userspace (see {@link ExpectFilter}).
   */
  *dumpExpect(filter?: ExpectFilter): Generator<Expectation, void, void> {
    yield* dumpExpectations(this.#socket(), this.#b, filter);
  }

  /** Collects {@link dumpExpect} into an array (`conntrack -L expect`). */
  listExpect(filter?: ExpectFilter): Expectation[] {
    return Array.from(this.dumpExpect(filter));
  }

  /** One expectation by its tuple (`conntrack -G expect`); undefined when there is none. */
  getExpect(key: ExpectKey): Expectation | undefined {
    return getExpectation(this.#socket(), this.#b, key);
  }

  /**
   * Creates an expectation (`conntrack -I expect`): `master` (the master connection's original
   * tuple and proto; it must exist, normally with a helper, e.g. created with `helper: "ftp"`),
   * `proto`, `tuple`, `timeout`; `mask` defaults to exact. Throws {@link NetlinkError}
   * `EEXIST` if it exists, `ENOENT` without the master. The helper's policy applies: FTP allows
   * one expectation per master, so a second one evicts the first.
   */
  createExpect(exp: Partial<Expectation> & Pick<Expectation, "proto" | "tuple" | "master">): void {
    createExpectation(this.#socket(), this.#b, exp);
  }

  /**
   * Deletes an expectation by its tuple (`conntrack -D expect`); given one with an `id` (as
   * dumped), only that exact one. Throws {@link NetlinkError} `ENOENT` if there is none.
   */
  deleteExpect(key: ExpectKey): void {
    deleteExpectation(this.#socket(), this.#b, key);
  }

  /**
   * Deletes every expectation (`conntrack -F expect`), or only those whose master uses
   * `helper`, and returns how many this call deleted: the expectations are listed and each is
   * deleted by its id, so the count is exact (one deleted meanwhile by someone else, or by its
   * master's end, is not counted). Expectation tables are small; `conntrack -F expect` sends one
   * request whose result the kernel does not count.
   */
  flushExpect(helper?: string): number {
    if (helper !== undefined) checkName(helper, HELPER_NAME_MAX, "expectation flush helper");
    let n = 0;
    for (const e of this.listExpect(helper === undefined ? undefined : { helper })) {
      try {
        const key: ExpectKey = { family: e.family, proto: e.proto, tuple: e.tuple };
        if (e.zone !== undefined) key.zone = e.zone;
        if (e.id !== undefined) key.id = e.id;
        this.deleteExpect(key);
        n++;
      } catch (err) {
        if (!(err instanceof NetlinkError && err.errno === ENOENT)) throw err;
      }
    }
    return n;
  }

  /** Per-CPU expectation statistics (`IPCTNL_MSG_EXP_GET_STATS_CPU`; conntrack-tools has no flag for it). */
  expectStats(): ExpectCpuStats[] {
    return expectationStats(this.#socket(), this.#b);
  }

  /** Closes the sockets; idempotent. */
  close(): void {
    try {
      this.#aux?.close();
    } finally {
      this.#sock.close(); // closes the namespace handle too, after every socket
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

