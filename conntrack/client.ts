/**
 * {@link Conntrack}: the client. Its verbs mirror conntrack(8).
 *
 * Synchronous by design: the kernel answers ctnetlink requests inside the system call (nothing
 * waits on a network), so blocking calls never wait on anything but the kernel's own work,
 * and a dump yields flows from a plain iterator with no promise per flow. Waiting for events
 * is the one thing that can take unbounded time; that API is asynchronous.
 * @module
 */
import { NetlinkError } from "../netlink/errors.ts";
import { NLM_F_CREATE, NLM_F_EXCL } from "../netlink/message.ts";
import {
  createMany,
  type CreateResult,
  deleteMany,
  type DeleteResult,
  type FlowKey,
  restore,
} from "./batch.ts";
import * as C from "./constants.ts";
import { dump as dumpFlows, dumpList, type DumpOptions, lines as dumpLines } from "./dump.ts";
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
import { HELPER_NAME_MAX, validateFlow } from "./flow_validate.ts";
import {
  canFlushInKernel,
  type DumpFlushResult,
  flush,
  flushAll,
  type FlushOptions,
  type FlushResult,
} from "./flush.ts";
import type { FormatOptions } from "./format.ts";
import { checkArray, checkDumpOptions, checkName } from "./options.ts";
import { ENOENT, type OpenOptions, Session } from "./session.ts";
import type { CpuStats, GlobalStats } from "./stats.ts";

export type { CreateResult, DeleteResult, FlowKey } from "./batch.ts";
export type { DumpOptions } from "./dump.ts";
export type { DumpFlushResult, FlushOptions, FlushResult, KernelFlushResult } from "./flush.ts";
export type { OpenOptions } from "./session.ts";
export type { BatchStopped } from "./options.ts";

const ENOSPC = 28;

/**
 * A conntrack client on one netlink socket (plus a second one, opened on demand, for requests
 * made while a dump is being iterated).
 *
 * @example
 * ```ts
 * import { Conntrack } from "@nfct/nfct";
 * using ct = Conntrack.open();
 * for (const f of ct.dump({ proto: "udp", dport: 53 })) console.log(f.orig.src, f.timeout);
 * ```
 */
export class Conntrack {
  #s: Session;

  private constructor(s: Session) {
    this.#s = s;
  }

  /**
   * Opens a ctnetlink socket in the calling process's network namespace, or in `options.netns`
   * (`{ netns: "/run/netns/a" }`, `{ netns: pid }`, `{ netns: { fd } }`): one process can
   * hold clients for several namespaces at once, each seeing only its own table.
   * Needs `CAP_NET_ADMIN` there for anything but reading (run as root, or in `unshare -rn`).
   */
  static open(options: OpenOptions = {}): Conntrack {
    return new Conntrack(Session.open(options));
  }

  /**
   * Streams the table (`conntrack -L`), optionally filtered (an array of filters: the flows
   * that match any of them, in one dump): flows are decoded as datagrams arrive, so memory
   * stays flat however large the table is. Breaking out of the loop early
   * abandons the dump cleanly.
   */
  dump(filter?: Filters, options: DumpOptions = {}): Generator<Flow, void, void> {
    return dumpFlows(this.#s, filter, options);
  }

  /**
   * The lines `conntrack -L` prints (`-o extended`, `-o id`) for the flows {@link dump} yields:
   * `formatFlow(flow, format)` of each, made straight from the kernel's bytes where no
   * userspace check is needed ({@link formatWire}: about a third faster on big tables).
   *
   * @example
   * ```ts
   * import { Conntrack } from "@nfct/nfct";
   * using ct = Conntrack.open();
   * for (const line of ct.lines()) console.log(line); // conntrack -L
   * ```
   */
  lines(
    filter?: Filters,
    options: DumpOptions = {},
    format: Pick<FormatOptions, "extended" | "id"> = {},
  ): Generator<string, void, void> {
    return dumpLines(this.#s, filter, options, format);
  }

  /** {@link dump} collected into an array (read ahead on big tables). */
  list(filter?: Filters, options?: DumpOptions): Flow[] {
    checkDumpOptions(options);
    return Array.from(dumpFlows(this.#s, filter, { readAhead: "auto", ...options }));
  }

  /**
   * Streams the entries on the dying list (`conntrack -L dying`, `IPCTNL_MSG_CT_GET_DYING`):
   * entries already removed from the table whose destroy event could not be delivered to a
   * reliable listener (one with `NETLINK_BROADCAST_ERROR` whose buffer is full); the kernel
   * retries, and they still count in {@link count} until then. Their status includes `DYING`.
   * Empty unless such a listener falls behind. Not filtered, not per family.
   */
  dying(): Generator<Flow, void, void> {
    return dumpList(this.#s, C.IPCTNL_MSG_CT_GET_DYING, "Cannot dump dying flows");
  }

  /**
   * Streams unconfirmed entries (`conntrack -L unconfirmed`, `IPCTNL_MSG_CT_GET_UNCONFIRMED`):
   * entries created for a packet still traversing the stack, not yet in the table. Linux 6.1
   * removed the list: there the kernel accepts the request and always answers with no entry.
   */
  unconfirmed(): Generator<Flow, void, void> {
    return dumpList(this.#s, C.IPCTNL_MSG_CT_GET_UNCONFIRMED, "Cannot dump unconfirmed flows");
  }

  /** The entry with this key (`conntrack -G`), or `undefined` when there is none. */
  get(key: FlowKey): Flow | undefined {
    const f = validateFlow(key as Partial<Flow>, "key");
    try {
      return this.#s.flowRequest(C.IPCTNL_MSG_CT_GET, 0, f, "key", "Cannot get flow")[0];
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
    this.#s.flowRequest(
      C.IPCTNL_MSG_CT_NEW,
      NLM_F_CREATE | NLM_F_EXCL,
      validateFlow(flow, "create"),
      "create",
      "Cannot create flow",
    );
  }

  /**
   * Changes an existing entry (`conntrack -U`): mark, timeout, status, labels, protocol info,
   * helper. Throws {@link NetlinkError} `ENOENT` if it does not exist.
   */
  update(flow: Partial<Flow> & Pick<Flow, "proto">): void {
    this.#s.flowRequest(
      C.IPCTNL_MSG_CT_NEW,
      0,
      validateFlow(flow, "update"),
      "update",
      "Cannot update flow",
    );
  }

  /**
   * Sets label bits (0..127) on an entry and leaves its other bits as they are
   * (`conntrack -U --label-add`). One request: `CTA_LABELS` = `bits`, `CTA_LABELS_MASK` = `bits`.
   *
   * The kernel stores labels only in entries created while the namespace had label storage
   * switched on — by a ruleset that sets labels (nft `ct label set …`, iptables
   * `-m connlabel --set`); otherwise it answers `ENOSPC`.
   * @example
   * ```ts
   * import { Conntrack } from "@nfct/nfct";
   * using ct = Conntrack.open();
   * const orig = { src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 80 };
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

  #changeLabels(
    key: FlowKey,
    labels: readonly number[],
    mask: readonly number[],
    op: string,
  ): void {
    validateFlow(key as Partial<Flow>, "key"); // the whole key: the update below copies only some of its fields
    checkArray(mask, "label bits");
    // Only what identifies the entry: a whole Flow from a dump would also rewrite its mark, timeout...
    const f = validateFlow(
      {
        family: key.family,
        proto: key.proto,
        orig: key.orig,
        reply: key.reply,
        zone: key.zone,
        labels: [...labels],
        labelsMask: [...mask],
      } as Partial<Flow> & Pick<Flow, "proto">,
      "update",
    );
    try {
      this.#s.flowRequest(C.IPCTNL_MSG_CT_NEW, 0, f, "update", op);
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENOSPC) {
        e.message +=
          "; the entry has no label storage: it must be created while a rule that sets labels " +
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
    this.#s.flowRequest(
      C.IPCTNL_MSG_CT_DELETE,
      0,
      validateFlow(key as Partial<Flow>, "key"),
      "key",
      "Cannot delete flow",
    );
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
    return createMany(this.#s, flows);
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
  restore(flows: Iterable<Flow>): CreateResult {
    return restore(this.#s, flows);
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
    return deleteMany(this.#s, flows);
  }

  /**
   * Deletes every entry matching `filter` (`conntrack -D <filter>`; nfct's `-F <filter>`). The
   * filter must have at least one condition: `flush()`, `flush(undefined)`, `flush({})` and a
   * filter with an `undefined`/`null` value or an empty `reply` are a `TypeError` before
   * anything is sent. To empty the whole table, call {@link flushAll}. An array of filters
   * deletes what matches any of them (`flush([f1, f2, f3])`): one dump, or one kernel flush each.
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
   * import { Conntrack } from "@nfct/nfct";
   * using ct = Conntrack.open();
   * const r = ct.flush({ proto: "udp", dport: 8080 }, { via: "dump" });
   * console.log(`${r.deleted} entries deleted`);
   * ```
   */
  flush(
    filter: Filters,
    options:
      & FlushOptions
      & ({ via: "dump" } | { where: (flow: Flow) => boolean } | {
        onDeleted: (flow: Flow) => void;
      }),
  ): DumpFlushResult;
  /** Deletes the entries `filter` selects, in the kernel when proven, else by a dump (see above). */
  flush(filter: Filters, options?: FlushOptions): FlushResult;
  flush(filter: Filters, options: FlushOptions = {}): FlushResult {
    return flush(this.#s, filter, options);
  }

  /**
   * Empties the whole table (`conntrack -F`). By default one kernel request, which does not
   * say how many it deleted (`deleted: undefined`); `{ via: "dump" }` (implied by `where` or
   * `onDeleted`) dumps the table and deletes each entry, counting every acknowledged delete
   * (`conntrack -D` without a filter).
   */
  flushAll(
    options:
      & FlushOptions
      & ({ via: "dump" } | { where: (flow: Flow) => boolean } | {
        onDeleted: (flow: Flow) => void;
      }),
  ): DumpFlushResult;
  /** Empties the whole table (`conntrack -F`). */
  flushAll(options?: FlushOptions): FlushResult;
  flushAll(options: FlushOptions = {}): FlushResult {
    return flushAll(this.#s, options);
  }

  /**
   * Whether {@link flush} would delete the entries `filter` selects in the kernel (`"auto"`):
   * every condition is one the kernel applies, and a kernel flush of that shape deleted exactly
   * the right sentinels in a private scratch network namespace (tried once per client and shape;
   * this table is never touched). False without `CAP_SYS_ADMIN` (no scratch namespace) or with a
   * custom transport.
   */
  canFlushInKernel(filter: Filters): boolean {
    return canFlushInKernel(this.#s, filter);
  }

  /** The number of entries in the table (`conntrack -C`), from the kernel in O(1). */
  count(): number {
    return this.#s.count();
  }

  /** The table-wide statistics (entry count and limit). */
  globalStats(): GlobalStats {
    return this.#s.globalStats();
  }

  /** The per-CPU statistics (`conntrack -S`). */
  stats(): CpuStats[] {
    return this.#s.stats();
  }

  /** The netlink port id of the client's socket (events it causes carry it). */
  get portId(): number {
    return this.#s.sock.portId;
  }

  /**
   * Listens for events (`conntrack -E`): `new`, `update`, `destroy` of flows and
   * `expectNew`/`expectDestroy` of expectations, on a socket of its own in the client's
   * namespace (or `options.netns`). Returns an async iterator; waiting for events never blocks
   * the event loop (Deno: poll() on another thread; Bun: a Worker). Stop it with `break`,
   * `close()` or `options.signal`. When the kernel drops events (receive buffer full) the
   * stream yields `{ type: "overrun", lost }` and goes on; with `resync: true` it then yields
   * `{ type: "resync", flows }`, a fresh dump to rebuild from. `allNetns: true` listens to
   * every namespace at once (events carry `nsid` and `netnsName`); `reliable: true` loses no
   * `destroy` event (the kernel holds entries until delivered). See {@link EventOptions}.
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
    return openEventStream({ ...options, transportNetns: options.netns ?? this.#s.netns }, {
      dump: (f) => this.dump(f),
      dumpExpect: () => this.dumpExpect(),
    });
  }

  /**
   * Streams the expectation table (`conntrack -L expect`). `family` and `master` are filtered
   * by the kernel, the rest in userspace (see {@link ExpectFilter}).
   */
  *dumpExpect(filter?: ExpectFilter): Generator<Expectation, void, void> {
    yield* dumpExpectations(this.#s.socket(), this.#s.b, filter);
  }

  /** The expectations `filter` selects, as an array (`conntrack -L expect`). */
  listExpect(filter?: ExpectFilter): Expectation[] {
    return Array.from(this.dumpExpect(filter));
  }

  /** The expectation with this key (`conntrack -G expect`), or `undefined`. */
  getExpect(key: ExpectKey): Expectation | undefined {
    return getExpectation(this.#s.socket(), this.#s.b, key);
  }

  /**
   * Creates an expectation (`conntrack -I expect`): `master` (the master connection's original
   * tuple and proto; it must exist, normally with a helper, e.g. created with `helper: "ftp"`),
   * `proto`, `tuple`, `timeout`; `mask` defaults to exact. Throws {@link NetlinkError}
   * `EEXIST` if it exists, `ENOENT` without the master. The helper's policy applies: FTP allows
   * one expectation per master, so a second one evicts the first.
   */
  createExpect(exp: Partial<Expectation> & Pick<Expectation, "proto" | "tuple" | "master">): void {
    createExpectation(this.#s.socket(), this.#s.b, exp);
  }

  /**
   * Deletes an expectation by its tuple (`conntrack -D expect`); given one with an `id` (as
   * dumped), only that exact one. Throws {@link NetlinkError} `ENOENT` if there is none.
   */
  deleteExpect(key: ExpectKey): void {
    deleteExpectation(this.#s.socket(), this.#s.b, key);
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

  /** The per-CPU expectation statistics (`conntrack -S expect`). */
  expectStats(): ExpectCpuStats[] {
    return expectationStats(this.#s.socket(), this.#s.b);
  }

  /** Closes the client's sockets; a closed client refuses further calls. */
  close(): void {
    this.#s.close();
  }

  /** Closes the client (`using ct = Conntrack.open()`). */
  [Symbol.dispose](): void {
    this.close();
  }
}
