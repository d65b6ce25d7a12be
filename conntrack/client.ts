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
  type TransportFactory,
} from "../netlink/socket.ts";
import * as C from "./constants.ts";
import { compileFilter, type Filter } from "./filter.ts";
import { encodeFlow, familyNumber, type Flow, FlowDecoder, validateFlow, writeNfgenmsg } from "./flow.ts";
import { type CpuStats, decodeCpuStats, decodeGlobalStats, type GlobalStats } from "./stats.ts";
import type { Proto, Tuple } from "./tuple.ts";

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
}

/** Options of {@link Conntrack.open}. */
export interface OpenOptions {
  /** Receive buffer to ask for, in bytes (default 8 MiB; `SO_RCVBUFFORCE` when privileged). */
  receiveBufferSize?: number;
  /** Replaces the kernel socket (tests use a scripted transport). */
  transport?: TransportFactory;
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

const ENOENT = 2;
const msgType = (m: number) => (C.NFNL_SUBSYS_CTNETLINK << 8) | m;
/** Replies per batch: an acknowledgement costs about 1 KiB of receive buffer (truesize). */
const REPLY_COST = 1024;
/** Request bytes per batch: well below the send buffer nfct asks for. */
const BATCH_BYTES = 256 * 1024;

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
  #dec = new FlowDecoder();
  #batchMax = 0;

  private constructor(factory: TransportFactory) {
    this.#factory = factory;
    this.#sock = new NetlinkSocket(factory);
  }

  /**
   * Opens a ctnetlink socket in the calling process's network namespace.
   * Needs `CAP_NET_ADMIN` there for anything but reading (run as root, or in `unshare -rn`).
   */
  static open(options: OpenOptions = {}): Conntrack {
    const opts: LibcTransportOptions = { receiveBufferSize: options.receiveBufferSize ?? DEFAULT_RECEIVE_BUFFER };
    return new Conntrack(options.transport ?? (() => new LibcTransport(NETLINK_NETFILTER, opts)));
  }

  /** A socket that is not in the middle of a dump. */
  #socket(): NetlinkSocket {
    if (!this.#sock.busy) return this.#sock;
    this.#aux ??= new NetlinkSocket(this.#factory);
    if (this.#aux.busy) throw new TypeError("Cannot start a request: two dumps are already being iterated");
    return this.#aux;
  }

  #reqSeq = 0;

  #begin(sock: NetlinkSocket, msg: number, flags: number, family: number): number {
    const b = this.#b.reset();
    this.#reqSeq = sock.nextSeq();
    const at = b.begin(msgType(msg), NLM_F_REQUEST | flags, this.#reqSeq);
    writeNfgenmsg(b, family);
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
    const cf = compileFilter(filter);
    const recheck = !cf.empty && !options.kernelFilterOnly;
    const sock = this.#socket();
    const dec = this.#dec;
    for (const fam of cf.families) {
      const seq = sock.nextSeq();
      const b = this.#b.reset();
      const at = b.begin(msgType(C.IPCTNL_MSG_CT_GET), NLM_F_REQUEST | NLM_F_DUMP, seq);
      writeNfgenmsg(b, fam);
      cf.encode(b, fam);
      b.end(at);
      sock.send(b.bytes());
      for (const r of sock.replies(seq, "Cannot dump flows", true)) {
        const f = dec.decode(r.dv, r.offset, r.length);
        if (!recheck || cf.match(f)) yield f;
      }
    }
  }

  /** Collects {@link dump} into an array (`conntrack -L`). */
  list(filter?: Filter): Flow[] {
    return Array.from(this.dump(filter));
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
   * Sends one message per item in batches (many per `sendto`), each acknowledged, and reports
   * every outcome. Batches are sized so the receive buffer holds all their replies.
   */
  #batch<T>(items: Iterable<T>, op: string, write: (item: T, seq: number) => void, outcome: (item: T, errno: number, msg?: string) => void): void {
    const sock = this.#socket();
    const limit = this.#batchLimit(sock);
    const b = this.#b;
    let pending: T[] = [];
    let first = 0;
    const flush = () => {
      if (pending.length === 0) return;
      sock.send(b.bytes());
      const batch = pending;
      sock.drainBatch(first, batch.length, op, (o) => {
        const item = batch[(o.seq - first) >>> 0];
        outcome(item, o.errno, o.message);
      });
      pending = [];
      b.reset();
    };
    b.reset();
    for (const item of items) {
      if (pending.length === 0) first = sock.nextSeq(limit);
      write(item, (first + pending.length) >>> 0);
      pending.push(item);
      if (pending.length >= limit || b.length >= BATCH_BYTES) flush();
    }
    flush();
  }

  /**
   * Creates many entries, pipelined (many requests per system call). Every outcome is counted.
   * Validation errors are thrown before anything is sent.
   */
  createMany(flows: Iterable<Partial<Flow> & Pick<Flow, "proto">>): CreateResult {
    const checked = Array.from(flows, (f) => validateFlow(f, "create"));
    const res: CreateResult = { created: 0, failed: [] };
    this.#batch(checked, "Cannot create flows", (f, seq) => {
      const b = this.#b;
      const at = b.begin(msgType(C.IPCTNL_MSG_CT_NEW), NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
      writeNfgenmsg(b, familyNumber(f.family));
      encodeFlow(b, f, "create");
      b.end(at);
    }, (f, errno, msg) => {
      if (errno === 0) res.created++;
      else res.failed.push({ flow: f, error: new NetlinkError("Cannot create flow", errno, { message: msg }) });
    });
    return res;
  }

  /**
   * Deletes many entries, pipelined; each delete carries the flow's id (when known) so an entry
   * re-created meanwhile is left alone. Returns how many were deleted, already gone, or failed.
   */
  deleteMany(flows: Iterable<FlowKey>): DeleteResult {
    const res: DeleteResult = { deleted: 0, missing: 0, failed: [] };
    this.#batch(flows, "Cannot delete flows", (k, seq) => {
      const f = validateFlow(k as Partial<Flow>, "key");
      const b = this.#b;
      const at = b.begin(msgType(C.IPCTNL_MSG_CT_DELETE), NLM_F_REQUEST | NLM_F_ACK, seq);
      writeNfgenmsg(b, familyNumber(f.family));
      encodeFlow(b, f, "key");
      b.end(at);
    }, (k, errno, msg) => {
      if (errno === 0) res.deleted++;
      else if (errno === ENOENT) res.missing++;
      else res.failed.push({ flow: k, error: new NetlinkError("Cannot delete flow", errno, { message: msg }) });
    });
    return res;
  }

  /**
   * Deletes every entry matching `filter`, or the whole table without one (`conntrack -F`,
   * `conntrack -D <filter>`). Returns how many entries were deleted. Without a filter that
   * figure is the table size before minus after, so it is exact only if nothing else
   * changes the table meanwhile; with a filter each delete is counted.
   */
  flush(filter?: Filter): number {
    const cf = compileFilter(filter);
    if (cf.empty) {
      const before = this.count();
      const sock = this.#socket();
      const at = this.#begin(sock, C.IPCTNL_MSG_CT_DELETE, NLM_F_ACK, C.AF_UNSPEC);
      this.#request(sock, at, "Cannot flush the table");
      return Math.max(0, before - this.count());
    }
    let deleted = 0;
    const failures: NetlinkError[] = [];
    let chunk: Flow[] = [];
    const drain = () => {
      const r = this.deleteMany(chunk);
      deleted += r.deleted;
      for (const f of r.failed) failures.push(f.error);
      chunk = [];
    };
    for (const f of this.dump(filter)) {
      chunk.push(f);
      if (chunk.length >= 2048) drain();
    }
    drain();
    if (failures.length) {
      throw new NetlinkError(`Cannot flush: ${failures.length} deletes failed (${deleted} done); first`, failures[0].errno, {
        message: failures[0].kernelMessage,
      }, { cause: failures });
    }
    return deleted;
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

  /** Closes the sockets; idempotent. */
  close(): void {
    this.#sock.close();
    this.#aux?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

