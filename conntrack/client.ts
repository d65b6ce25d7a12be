/**
 * {@link Conntrack}: the client, a facade. Each verb hands its job to the file that does it
 * (dump.ts, requests.ts, batch.ts, flush.ts, expect_requests.ts, event_stream.ts), all on one
 * {@link Session}. Verbs of one job share one example: dump (reads), create (one entry),
 * createMany (batches), flush (flushes), count (statistics), dumpExpect (expectations).
 * @module
 */
import { createMany, type CreateResult, deleteMany, type DeleteResult } from "./batch.ts";
import { type FlowKey, restore } from "./batch.ts";
import * as C from "./constants.ts";
import { dump, dumpList, type DumpOptions, lines, text, type TextChunk } from "./dump.ts";
import { checkEventOptions, type EventStream, openEventStream } from "./event_stream.ts";
import type { EventOptions } from "./events.ts";
import type { Expectation, ExpectCpuStats, ExpectFilter, ExpectKey } from "./expect.ts";
import {
  createExpectation,
  deleteExpectation,
  dumpExpectations,
  expectationStats,
  getExpectation,
} from "./expect_requests.ts";
import type { Filters } from "./filter.ts";
import type { Flow } from "./flow.ts";
import type { CountedFlushOptions, DumpFlushResult, FlushOptions, FlushResult } from "./flush.ts";
import { canFlushInKernel, flush, flushAll, flushExpectations } from "./flush.ts";
import type { FormatOptions } from "./format.ts";
import { changeLabels, createFlow, deleteFlow, getFlow, updateFlow } from "./requests.ts";
import { type OpenOptions, Session } from "./session.ts";
import type { CpuStats, GlobalStats } from "./stats.ts";

/**
 * A conntrack client: the table of one network namespace, through one netlink socket (and more,
 * opened on demand, for requests made while a dump is being iterated). Its verbs mirror
 * conntrack(8): `dump`/`list` (`-L`), `get` (`-G`), `create` (`-I`), `update` (`-U`), `delete`
 * (`-D`), `flush`/`flushAll` (`-D <filter>`, `-F`), `events` (`-E`), `count` (`-C`), `stats`
 * (`-S`), and the same for expectations (`-L/-G/-I/-D/-F/-S expect`).
 *
 * Needs `CAP_NET_ADMIN` in the namespace for anything but reading (run as root, or in
 * `unshare -rn`); Deno needs `--allow-ffi`. Errors: {@link NetlinkError} when the kernel
 * refuses, {@link SyscallError} when libc fails, `TypeError`/`RangeError` for bad arguments
 * (before anything is sent). Synchronous: the kernel answers inside the system call, and a dump
 * is a plain iterator; only {@link events} waits (asynchronously) for what has not happened yet.
 * @example
 * ```ts
 * import { Conntrack } from "@nfct/nfct";
 * using ct = Conntrack.open();
 * for (const f of ct.dump({ proto: "udp", dport: 53 })) console.log(f.orig.src, f.timeout);
 * using blue = Conntrack.open({ netns: "/run/netns/blue" }); // another namespace's table
 * ```
 */
export class Conntrack {
  #s: Session;

  /** Private: made by {@link Conntrack.open}, whose name says it opens a socket. */
  private constructor(s: Session) {
    this.#s = s;
  }

  /**
   * Opens a client of the calling thread's network namespace, or of `options.netns` (one
   * process can hold clients of several namespaces). Close it with `close()` or `using`.
   * @throws {SyscallError} e.g. `EPROTONOSUPPORT` (no nf_conntrack_netlink), `EPERM`.
   */
  static open(options: OpenOptions = {}): Conntrack {
    return new Conntrack(Session.open(options));
  }

  /**
   * Streams the table (`conntrack -L`), optionally filtered (an array: the flows that match any
   * filter, in one dump). Flows are decoded as datagrams arrive, so memory stays flat however
   * large the table is; breaking out of the loop ends the dump cleanly.
   * @example Reading the table: dump, list, lines, text, dying, unconfirmed
   * ```ts
   * import { Conntrack } from "@nfct/nfct";
   * using ct = Conntrack.open();
   * for (const f of ct.dump([{ proto: "tcp", dport: 443 }, { proto: "udp" }])) console.log(f.orig);
   * const assured = ct.list({ status: ["ASSURED"] }); // an array
   * for (const line of ct.lines({ proto: "tcp" }, {}, { extended: true })) console.log(line);
   * for (const { bytes, lines } of ct.text()) console.error(lines, bytes.length); // -L as bytes
   * console.log([...ct.dying()].length, [...ct.unconfirmed()].length);
   * ```
   */
  dump(filter?: Filters, options: DumpOptions = {}): Generator<Flow, void, void> {
    return dump(this.#s, filter, options);
  }

  /**
   * The lines `conntrack -L` prints (`-o extended`, `-o id`) for the flows {@link dump}
   * yields: `formatFlow(flow, format)` of each, made from the kernel's bytes where it can
   * (example: {@link dump}).
   */
  lines(
    filter?: Filters,
    options: DumpOptions = {},
    format: Pick<FormatOptions, "extended" | "id"> = {},
  ): Generator<string, void, void> {
    return lines(this.#s, filter, options, format);
  }

  /**
   * {@link lines} as UTF-8 bytes: chunks of whole lines, each ended by a newline, with no string
   * made per line (what `nfct -L` writes; example: {@link dump}).
   */
  text(
    filter?: Filters,
    options: DumpOptions = {},
    format: Pick<FormatOptions, "extended" | "id"> = {},
  ): Generator<TextChunk, void, void> {
    return text(this.#s, filter, options, format);
  }

  /**
   * {@link dump} into an array (`conntrack -L`), read ahead on a worker thread on big tables as
   * `dump` does by default. Example: {@link dump}.
   */
  list(filter?: Filters, options?: DumpOptions): Flow[] {
    return Array.from(dump(this.#s, filter, options));
  }

  /**
   * Streams the dying list (`conntrack -L dying`): entries removed from the table whose destroy
   * event a reliable listener (`events({ reliable: true })`) has not taken yet; the kernel
   * retries, and they still count in {@link count}. Their status includes `DYING`.
   */
  dying(): Generator<Flow, void, void> {
    return dumpList(this.#s, C.IPCTNL_MSG_CT_GET_DYING, "Cannot dump dying flows");
  }

  /**
   * Streams unconfirmed entries (`conntrack -L unconfirmed`): created for a packet still
   * traversing the stack. Linux 6.1 removed the list: there it is always empty.
   */
  unconfirmed(): Generator<Flow, void, void> {
    return dumpList(this.#s, C.IPCTNL_MSG_CT_GET_UNCONFIRMED, "Cannot dump unconfirmed flows");
  }

  /** The entry `key` identifies (`conntrack -G`), or `undefined` (example: {@link create}). */
  get(key: FlowKey): Flow | undefined {
    return getFlow(this.#s, key);
  }

  /**
   * Creates an entry (`conntrack -I`). `timeout` is required; `reply` defaults to the inverted
   * `orig`. Throws {@link NetlinkError} `EEXIST` if it exists already.
   * @example One entry: create, get, update, delete
   * ```ts
   * import { Conntrack } from "@nfct/nfct";
   * using ct = Conntrack.open();
   * const key = { proto: "udp" as const, orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 9, dport: 53 } };
   * ct.create({ ...key, timeout: 30 }); // conntrack -I
   * const f = ct.get(key); // conntrack -G
   * if (f) ct.update({ ...f, mark: 1 }); // conntrack -U
   * ct.delete(key); // conntrack -D
   * ```
   */
  create(flow: Partial<Flow> & Pick<Flow, "proto">): void {
    createFlow(this.#s, flow);
  }

  /**
   * Changes an existing entry (`conntrack -U`): mark, timeout, status, labels, protocol info,
   * helper. Throws {@link NetlinkError} `ENOENT` if it does not exist (example: {@link create}).
   */
  update(flow: Partial<Flow> & Pick<Flow, "proto">): void {
    updateFlow(this.#s, flow);
  }

  /**
   * Sets label bits (0..127) on an entry, leaving its other bits (`conntrack -U --label-add`).
   * The kernel stores labels only in entries created while a rule that sets labels existed in
   * the namespace (nft `ct label set`, iptables `-m connlabel --set`); otherwise: `ENOSPC`.
   * @example
   * ```ts
   * import { Conntrack } from "@nfct/nfct";
   * using ct = Conntrack.open();
   * for (const f of ct.list({ proto: "tcp", dport: 80 })) ct.addLabels(f, [1, 64]);
   * for (const f of ct.list({ labels: { any: [64] } })) ct.delLabels(f, [64]);
   * ```
   */
  addLabels(key: FlowKey, bits: readonly number[]): void {
    changeLabels(this.#s, key, { set: bits, mask: bits, op: "Cannot add labels" });
  }

  /** Clears label bits (0..127), leaving the others (`-U --label-del`); see {@link addLabels}. */
  delLabels(key: FlowKey, bits: readonly number[]): void {
    changeLabels(this.#s, key, { set: [], mask: bits, op: "Cannot delete labels" });
  }

  /**
   * Deletes one entry (`conntrack -D` with a full tuple); given a flow with an `id`, only that
   * exact entry. Throws {@link NetlinkError} `ENOENT` if there is none (example: {@link create}).
   */
  delete(key: FlowKey): void {
    deleteFlow(this.#s, key);
  }

  /**
   * Creates many entries, pipelined (many requests per system call); every outcome is counted.
   * A bad item is refused before anything is sent (an array), or stops a lazy iterable after
   * the items before it ({@link BatchStopped}).
   * @example
   * ```ts
   * import { Conntrack } from "@nfct/nfct";
   * using ct = Conntrack.open();
   * const orig = (i: number) => ({ src: "10.0.0.1", dst: "10.0.0.2", sport: 1024 + i, dport: 53 });
   * const r = ct.createMany([0, 1, 2].map((i) => ({ proto: "udp" as const, orig: orig(i), timeout: 60 })));
   * const { deleted, missing } = ct.deleteMany(ct.list({ proto: "udp", dport: 53 }));
   * ```
   */
  createMany(flows: Iterable<Partial<Flow> & Pick<Flow, "proto">>): CreateResult {
    return createMany(this.#s, flows);
  }

  /**
   * Creates the entries of a snapshot (`nfct -R` of `nfct -L -o json` lines), each flow as
   * {@link restorable} keeps it (tuples, zones, mark, timeout, settable status, labels,
   * protocol state, helper; not counters, ids, timestamps), pipelined like {@link createMany}.
   * @example Copy one namespace's table into another
   * ```ts
   * import { Conntrack } from "@nfct/nfct";
   * using src = Conntrack.open({ netns: "/run/netns/old" });
   * using dst = Conntrack.open({ netns: "/run/netns/new" });
   * console.log(dst.restore(src.dump()).created);
   * ```
   */
  restore(flows: Iterable<Flow>): CreateResult {
    return restore(this.#s, flows);
  }

  /**
   * Deletes many entries, pipelined, each guarded by its id (when known) so an entry re-created
   * meanwhile is spared. `deleted + missing + failed.length` is the number of flows given; bad
   * input as in {@link createMany} (and its example).
   */
  deleteMany(flows: Iterable<FlowKey>): DeleteResult {
    return deleteMany(this.#s, flows);
  }

  /**
   * Deletes every entry matching `filter` (`conntrack -D <filter>`; nfct's `-F <filter>`), in
   * the kernel or by a dump ({@link FlushOptions.via}); an array deletes what matches any
   * filter. A filter without a condition is a `TypeError` (to empty the table: {@link flushAll}).
   * @example
   * ```ts
   * import { Conntrack } from "@nfct/nfct";
   * using ct = Conntrack.open();
   * ct.flush({ family: "ipv4", reply: { src: "10.88.0.5" } }); // a container's entries
   * console.log(ct.flush({ proto: "udp", dport: 8080 }, { via: "dump" }).deleted);
   * console.log(ct.canFlushInKernel({ proto: "udp", dport: 53 }));
   * const { deleted } = ct.flushAll({ onDeleted: (f) => console.log(f.orig) }); // conntrack -D
   * ```
   */
  flush(filter: Filters, options: CountedFlushOptions): DumpFlushResult;
  /** {@link flush} that may take the kernel way, whose result carries no count. */
  flush(filter: Filters, options?: FlushOptions): FlushResult;
  flush(filter: Filters, options: FlushOptions = {}): FlushResult {
    return flush(this.#s, filter, options);
  }

  /**
   * Empties the whole table (`conntrack -F`): one kernel request, which does not count
   * (`deleted: undefined`); by a dump (`via: "dump"`, `where`, `onDeleted`) every delete is
   * counted (`conntrack -D`). Example: {@link flush}.
   */
  flushAll(options: CountedFlushOptions): DumpFlushResult;
  /** {@link flushAll} the kernel way (the default), whose result carries no count. */
  flushAll(options?: FlushOptions): FlushResult;
  flushAll(options: FlushOptions = {}): FlushResult {
    return flushAll(this.#s, options);
  }

  /**
   * Whether {@link flush} (`"auto"`) would delete what `filter` selects in the kernel: every
   * condition is one the kernel applies, and proven on a scratch namespace (see
   * {@link FlushOptions.via}). Example: {@link flush}.
   */
  canFlushInKernel(filter: Filters): boolean {
    return canFlushInKernel(this.#s, filter);
  }

  /**
   * The number of entries in the table (`conntrack -C`); O(1) in the kernel.
   * @example Statistics: count, globalStats, stats
   * ```ts
   * import { Conntrack } from "@nfct/nfct";
   * using ct = Conntrack.open();
   * const { entries, maxEntries } = ct.globalStats();
   * console.log(ct.count(), entries, maxEntries);
   * for (const s of ct.stats()) console.log(s.cpu, s.found, s.insertFailed, s.drop); // -S
   * ```
   */
  count(): number {
    return this.#s.count();
  }

  /** The entry count and `nf_conntrack_max` (`IPCTNL_MSG_CT_GET_STATS`); example: {@link count}. */
  globalStats(): GlobalStats {
    return this.#s.globalStats();
  }

  /** Per-CPU statistics (`conntrack -S`), one entry per CPU; example: {@link count}. */
  stats(): CpuStats[] {
    return this.#s.stats();
  }

  /** The netlink port id of the client's main socket. */
  get portId(): number {
    return this.#s.sock.portId;
  }

  /**
   * Listens for events (`conntrack -E`) of flows and expectations, on a socket of its own, as
   * an async iterator that never blocks the event loop; stop it with `break`, `close()` or
   * `options.signal`. Drops by the kernel are reported (`overrun`), and with `resync` followed
   * by a fresh dump; see {@link EventOptions} (filters, all namespaces, reliable delivery).
   * @example
   * ```ts
   * import { Conntrack } from "@nfct/nfct";
   * using ct = Conntrack.open();
   * for await (const ev of ct.events({ types: ["new", "destroy"], filter: { proto: "tcp" } })) {
   *   if (ev.type === "new" || ev.type === "destroy") console.log(ev.type, ev.flow.orig);
   * }
   * ```
   */
  events(options: EventOptions = {}): EventStream {
    checkEventOptions(options);
    return openEventStream({ ...options, transportNetns: options.netns ?? this.#s.netns }, {
      dump: (f) => this.dump(f),
      dumpExpect: () => this.dumpExpect(),
    });
  }

  /**
   * Streams the expectation table (`conntrack -L expect`); `family` and `master` are filtered
   * by the kernel, the rest in userspace.
   * @example Expectations: dumpExpect, listExpect, getExpect, deleteExpect, flushExpect, expectStats
   * ```ts
   * import { Conntrack } from "@nfct/nfct";
   * using ct = Conntrack.open();
   * for (const e of ct.dumpExpect({ helper: "ftp" })) console.log(e.tuple, e.timeout);
   * const tuple = { src: "10.0.0.1", dst: "10.0.0.2", sport: 0, dport: 2000 };
   * const e = ct.getExpect({ proto: "tcp", tuple }); // conntrack -G expect
   * for (const x of ct.listExpect({ proto: "tcp" })) ct.deleteExpect(x); // -D expect
   * console.log(ct.flushExpect("ftp"), ct.expectStats().length); // -F expect, -S expect
   * ```
   */
  *dumpExpect(filter?: ExpectFilter): Generator<Expectation, void, void> {
    yield* dumpExpectations(this.#s.socket(), this.#s.b, filter);
  }

  /** {@link dumpExpect} into an array (`conntrack -L expect`; example: {@link dumpExpect}). */
  listExpect(filter?: ExpectFilter): Expectation[] {
    return Array.from(this.dumpExpect(filter));
  }

  /** The expectation `key` identifies (`-G expect`) or `undefined`; example: {@link dumpExpect}. */
  getExpect(key: ExpectKey): Expectation | undefined {
    return getExpectation(this.#s.socket(), this.#s.b, key);
  }

  /**
   * Creates an expectation (`conntrack -I expect`) of an existing master connection (normally
   * one with a helper); `mask` defaults to exact. Throws {@link NetlinkError} `EEXIST` if it
   * exists, `ENOENT` without the master. The helper's policy applies (FTP: one per master).
   * @example
   * ```ts
   * import { Conntrack } from "@nfct/nfct";
   * using ct = Conntrack.open();
   * const master = { proto: "tcp" as const, src: "10.0.0.1", dst: "10.0.0.2", sport: 4000, dport: 21 };
   * ct.createExpect({ master, proto: "tcp", tuple: { src: "10.0.0.1", dst: "10.0.0.2", sport: 0, dport: 2000 }, timeout: 60 });
   * ```
   */
  createExpect(exp: Partial<Expectation> & Pick<Expectation, "proto" | "tuple" | "master">): void {
    createExpectation(this.#s.socket(), this.#s.b, exp);
  }

  /**
   * Deletes an expectation by its tuple (`conntrack -D expect`); given one with an `id` (as
   * dumped), only that exact one. Throws {@link NetlinkError} `ENOENT` if there is none
   * (example: {@link dumpExpect}).
   */
  deleteExpect(key: ExpectKey): void {
    deleteExpectation(this.#s.socket(), this.#s.b, key);
  }

  /**
   * Deletes every expectation (`conntrack -F expect`), or those whose master uses `helper`, one
   * by one by id, and returns how many this call deleted (exact, unlike `conntrack -F expect`;
   * example: {@link dumpExpect}).
   */
  flushExpect(helper?: string): number {
    return flushExpectations(this.#s, helper);
  }

  /** Per-CPU expectation statistics (`conntrack -S expect`; example: {@link dumpExpect}). */
  expectStats(): ExpectCpuStats[] {
    return expectationStats(this.#s.socket(), this.#s.b);
  }

  /** Closes the client's sockets; idempotent. */
  close(): void {
    this.#s.close();
  }

  /** {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
