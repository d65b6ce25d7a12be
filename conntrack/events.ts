/**
 * Conntrack events (`conntrack -E`): {@link ConntrackEvent}, their decoding, and
 * {@link EventStream}, the async iterator that delivers them.
 *
 * The kernel multicasts one message per event to the `NFNLGRP_CONNTRACK_*` groups a socket is
 * bound to:
 *
 * | group | message | nlmsg_flags | event |
 * |---|---|---|---|
 * | `NFNLGRP_CONNTRACK_NEW` (1) | `IPCTNL_MSG_CT_NEW` | `NLM_F_CREATE\|NLM_F_EXCL` | `new` |
 * | `NFNLGRP_CONNTRACK_UPDATE` (2) | `IPCTNL_MSG_CT_NEW` | 0 | `update` |
 * | `NFNLGRP_CONNTRACK_DESTROY` (3) | `IPCTNL_MSG_CT_DELETE` | 0 | `destroy` |
 * | `NFNLGRP_CONNTRACK_EXP_NEW` (4) | `IPCTNL_MSG_EXP_NEW` | `NLM_F_CREATE\|NLM_F_EXCL` | `expectNew` |
 * | `NFNLGRP_CONNTRACK_EXP_DESTROY` (6) | `IPCTNL_MSG_EXP_DELETE` | 0 | `expectDestroy` |
 *
 * `nlmsg_pid` is the netlink port id of the process whose request caused the event (0 when
 * packets did). An event carries what changed: tuples, id, status and timeout always; protocol
 * info, helper, labels, NAT sequence adjustment only when they changed; the mark when it is set
 * or changed; counters and `CTA_TIMESTAMP` only on `destroy` (with `nf_conntrack_acct` /
 * `nf_conntrack_timestamp` on).
 * @module
 */
import { SyscallError } from "../ffi/errno.ts";
import {
  NETLINK_NETFILTER,
  NLM_F_CREATE,
  NLMSG_ALIGN,
  NLMSG_MIN_TYPE,
  NLMSG_OVERRUN,
  readHeader,
} from "../netlink/message.ts";
import { type Netns, NetnsHandle } from "../netlink/netns.ts";
import { DEFAULT_RECEIVE_BUFFER, type LibcTransportOptions } from "../netlink/socket.ts";
import { NetnsNames, type NetnsResolver, NsidTable } from "../netlink/nsid.ts";
import { type EventSource, Subscription } from "../netlink/subscription.ts";
import { compileEventFilter } from "./bpf.ts";
import * as C from "./constants.ts";
import { type ExpectDecoder as ExpectDecoderT, ExpectDecoder, type Expectation } from "./expect.ts";
import { compileFilter, type Filters } from "./filter.ts";
import { type Flow, FlowDecoder } from "./flow.ts";
import {
  type Check,
  checkOptions,
  isAbortSignal,
  isBoolean,
  isNetns,
  isReceiveBufferSize,
} from "./options.ts";

/** Flow event types. */
export type FlowEventType = "new" | "update" | "destroy";
/** Expectation event types. */
export type ExpectEventType = "expectNew" | "expectDestroy";
/** Event types one can subscribe to. */
export type EventType = FlowEventType | ExpectEventType;

/** Multicast group of each event type (linux/netfilter/nfnetlink.h). */
export const EVENT_GROUPS: Readonly<Record<EventType, number>> = {
  new: C.NFNLGRP_CONNTRACK_NEW,
  update: C.NFNLGRP_CONNTRACK_UPDATE,
  destroy: C.NFNLGRP_CONNTRACK_DESTROY,
  expectNew: C.NFNLGRP_CONNTRACK_EXP_NEW,
  expectDestroy: C.NFNLGRP_CONNTRACK_EXP_DESTROY,
};

interface EventBase {
  /**
   * When it happened, in nanoseconds since the epoch (CLOCK_REALTIME): the kernel's event
   * timestamp when the event carries one (`CTA_TIMESTAMP_EVENT`: Linux 6.14+ with
   * `net.netfilter.nf_conntrack_timestamp=1`), else its `CTA_TIMESTAMP` stop time (`destroy`
   * with timestamps on, older kernels), else the time nfct received it. {@link timeSource}
   * says which.
   */
  time: bigint;
  /** Where {@link time} comes from: `"event"`, `"stop"` (both the kernel's clock) or `"received"`. */
  timeSource: "event" | "stop" | "received";
  /** True when {@link time} is the kernel's timestamp (`timeSource` is not `"received"`). */
  kernelTime: boolean;
  /** Netlink port id of the process whose request caused it (`nlmsg_pid`); 0 for packets. */
  portId: number;
  /**
   * Streams with {@link EventOptions.allNetns} only: the id the listener's namespace gives the
   * namespace the event happened in (`ip netns list-id`). Absent for events of the listener's
   * own namespace.
   */
  nsid?: number;
  /**
   * Streams with {@link EventOptions.allNetns} only: the name under `/run/netns` of the
   * namespace the event happened in (`ip netns add NAME`), when it has one.
   */
  netnsName?: string;
}

/** A flow was created, changed or destroyed. */
export interface FlowEvent extends EventBase {
  type: FlowEventType;
  flow: Flow;
}

/** An expectation was created or destroyed. */
export interface ExpectEvent extends EventBase {
  type: ExpectEventType;
  expectation: Expectation;
}

/**
 * The kernel dropped events because the receive buffer was full (`ENOBUFS`, or drops seen in
 * the socket's drop counter). Anything built from events is out of date: resync (see
 * {@link EventOptions.resync}).
 */
export interface OverrunEvent {
  type: "overrun";
  /** How many events were dropped since the last report (`SK_MEMINFO_DROPS`), when known. */
  lost?: number;
  time: bigint;
}

/**
 * A fresh copy of the table, taken after an overrun ({@link EventOptions.resync}): replace
 * whatever was built from earlier events with it, then keep applying events (applying a `new`
 * for a flow already present, or a `destroy` for one already gone, must be harmless).
 */
export interface ResyncEvent {
  type: "resync";
  /** Every flow matching the filter (present when flow events are subscribed). */
  flows: Flow[];
  /** Every expectation (present when expectation events are subscribed). */
  expectations?: Expectation[];
  time: bigint;
}

/** What an {@link EventStream} yields. */
export type ConntrackEvent = FlowEvent | ExpectEvent | OverrunEvent | ResyncEvent;

/** Options of `Conntrack.events()` / {@link openEventStream}. */
export interface EventOptions {
  /** Which events (multicast groups); default `["new", "update", "destroy"]`. */
  types?: readonly EventType[];
  /**
   * Only flow events whose flow matches (an array: any of the filters; expectation events are
   * not filtered). Applied in the
   * kernel by a socket BPF filter where it can be expressed, and always in userspace too, so the
   * results are the same either way. A flow event only carries what changed (see the module
   * doc), so e.g. `state` only matches events that carry protocol info.
   */
  filter?: Filters;
  /** Attach the BPF filter (default true); false filters in userspace only. */
  kernelFilter?: boolean;
  /** Receive buffer in bytes (default 8 MiB; `SO_RCVBUFFORCE` when privileged, else capped by `rmem_max`). */
  receiveBufferSize?: number;
  /** `NETLINK_NO_ENOBUFS`: the kernel does not signal drops; nfct still reports them from the drop counter. */
  noEnobufs?: boolean;
  /**
   * After an overrun, drop the stale queued events, dump the table (with the filter) and yield
   * a {@link ResyncEvent} right after the {@link OverrunEvent}; then continue. Default false.
   */
  resync?: boolean;
  /** Stops the stream (the iterator ends; no error). */
  signal?: AbortSignal;
  /** Network namespace to listen in (see `OpenOptions.netns`); default: the client's. */
  netns?: Netns;
  /**
   * Events from every network namespace at once (`NETLINK_LISTEN_ALL_NSID`; needs
   * `CAP_NET_BROADCAST`, Linux 4.2+): each event from another namespace carries its
   * {@link FlowEvent.nsid} and, for a named one, its {@link FlowEvent.netnsName}; events without
   * `nsid` are the listener's own namespace's.
   *
   * The kernel only delivers events of namespaces that have an nsid in the listener's
   * namespace. Container runtimes' namespaces usually have one (the kernel assigns it when a
   * veth pair spans the two); named namespaces (`/run/netns/*`) get one from nfct when they
   * lack it, see {@link assignNsids}. Not with {@link resync} (a dump sees one namespace).
   */
  allNetns?: boolean;
  /**
   * With {@link allNetns}: give every named namespace (`/run/netns/*`) that has no nsid in the
   * listener's namespace one (`RTM_NEWNSID`, like `ip netns set NAME auto`), so that its events
   * are delivered; done when the stream opens and by `refreshNetns()`. Default true. The ids
   * stay as long as both namespaces live (harmless; `ip netns list-id` shows them). Needs
   * `CAP_NET_ADMIN` in the listener's namespace.
   */
  assignNsids?: boolean;
  /**
   * Reliable destroy events, like conntrackd's `NetlinkEventsReliable`
   * (`NETLINK_BROADCAST_ERROR` + `NETLINK_NO_ENOBUFS`): when the receive buffer is full, a
   * `destroy` is not dropped; the kernel keeps the entry on its dying list (`ct.dying()`,
   * `conntrack -L dying`) and delivers it again every ~100 ms until the socket takes it. No
   * destroy is lost, but they can arrive late and out of order, and twice when another
   * reliable listener missed one. `new`/`update` events can still be dropped (the kernel folds
   * what they said into the entry's next event): an {@link OverrunEvent} then counts failed
   * deliveries, redelivered destroys included; a stream of `destroy` events only reports none.
   *
   * Cost: while a listener lags, deleted and expired entries are not freed: they stay on the
   * dying list, still count in `ct.count()` and `nf_conntrack_max`, and the kernel retries
   * delivering them; a listener that stops reading without closing holds them all. Every
   * reliable listener slows every namespace's deletes it receives events of.
   */
  reliable?: boolean;
}

/** What a stream needs to resync: the client's dumps. */
export interface ResyncClient {
  dump(filter?: Filters): Iterable<Flow>;
  dumpExpect(): Iterable<Expectation>;
}

/** The bind mask of `types`. @throws {TypeError} on an unknown type. */
export function eventGroups(types: readonly EventType[]): number {
  if (!Array.isArray(types) || types.length === 0) throw new TypeError("Invalid event types: expected a non-empty array");
  let mask = 0;
  for (const t of types) {
    const g = EVENT_GROUPS[t as EventType];
    if (g === undefined) throw new TypeError(`Invalid event type "${String(t)}": expected ${Object.keys(EVENT_GROUPS).join(", ")}`);
    mask |= 1 << (g - 1);
  }
  return mask;
}

/** Now, in nanoseconds since the epoch (microsecond resolution). */
export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/**
 * Decodes the event message at `offset` (its `nlmsghdr`); undefined for a message that is not
 * an event. `received` is the time to report when the event has no kernel timestamp.
 */
export function decodeEvent(
  dv: DataView,
  offset: number,
  length: number,
  received: bigint,
  flows: FlowDecoder = new FlowDecoder(),
  expects: ExpectDecoderT = new ExpectDecoder(),
): FlowEvent | ExpectEvent | undefined {
  const h = readHeader(dv, offset, offset + length);
  if (h.type < NLMSG_MIN_TYPE) return undefined;
  const subsys = h.type >> 8, msg = h.type & 0xff;
  if (subsys === C.NFNL_SUBSYS_CTNETLINK) {
    let type: FlowEventType;
    if (msg === C.IPCTNL_MSG_CT_NEW) type = h.flags & NLM_F_CREATE ? "new" : "update";
    else if (msg === C.IPCTNL_MSG_CT_DELETE) type = "destroy";
    else return undefined;
    const flow = flows.decode(dv, offset, h.len);
    const kernel = flow.eventTime ?? flow.timestamp?.stop;
    const timeSource = flow.eventTime !== undefined ? "event" : kernel !== undefined ? "stop" : "received";
    return { type, flow, time: kernel ?? received, timeSource, kernelTime: kernel !== undefined, portId: h.pid };
  }
  if (subsys === C.NFNL_SUBSYS_CTNETLINK_EXP) {
    let type: ExpectEventType;
    if (msg === C.IPCTNL_MSG_EXP_NEW) type = "expectNew";
    else if (msg === C.IPCTNL_MSG_EXP_DELETE) type = "expectDestroy";
    else return undefined;
    return {
      type,
      expectation: expects.decode(dv, offset, h.len),
      time: received,
      timeSource: "received",
      kernelTime: false,
      portId: h.pid,
    };
  }
  return undefined;
}

const ENOBUFS = 105;
const RX_SIZE = 64 * 1024;

/**
 * A stream of conntrack events: `for await (const ev of stream)`. Waiting never blocks the
 * event loop (see ffi/wait.ts). Ends cleanly on `break`, {@link close}, or the abort signal.
 */
export class EventStream implements AsyncIterableIterator<ConntrackEvent>, AsyncDisposable {
  #src: EventSource;
  #gen: AsyncGenerator<ConntrackEvent, void, void>;
  #closed = false;
  #match: ((f: Flow) => boolean) | undefined;
  #filter: Filters | undefined;
  #resync: ResyncClient | undefined;
  #flowTypes: boolean;
  #expectTypes: boolean;
  #drops: number | undefined;
  #signal: AbortSignal | undefined;
  #onAbort = () => this.close();
  #names: NetnsResolver | undefined;
  #dropsMatter: boolean;

  /**
   * Wraps an event source (the real one is opened by {@link openEventStream}). `client` is used
   * to resync when `options.resync` is set; `names` tags events with their namespace (with
   * `options.allNetns`; the stream closes it).
   */
  constructor(source: EventSource, options: EventOptions = {}, client?: ResyncClient, names?: NetnsResolver) {
    this.#src = source;
    this.#names = names;
    const types = options.types ?? ["new", "update", "destroy"];
    this.#flowTypes = types.some((t) => t === "new" || t === "update" || t === "destroy");
    this.#expectTypes = types.some((t) => t === "expectNew" || t === "expectDestroy");
    // Reliable destroys are delivered again, so drops lose nothing on a destroy-only stream.
    this.#dropsMatter = !(options.reliable && types.every((t) => t === "destroy"));
    const cf = compileFilter(options.filter);
    this.#match = cf.empty ? undefined : (f) => cf.match(f);
    this.#filter = options.filter;
    if (options.resync) {
      if (!client) throw new TypeError("Cannot resync events without a client to dump the table with");
      this.#resync = client;
    }
    this.#drops = source.drops();
    this.#gen = this.#run();
    this.#signal = options.signal;
    if (this.#signal?.aborted) this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The event socket's netlink port id. */
  get portId(): number {
    return this.#src.portId;
  }

  /** The receive buffer the kernel granted, in bytes. */
  receiveBufferSize(): number {
    return this.#src.receiveBufferSize();
  }

  /**
   * With `allNetns`: scans `/run/netns` again, giving new named namespaces an nsid (unless
   * `assignNsids: false`) so their events start arriving, and learning their names. Names of
   * unknown nsids are also looked up by themselves, at most once a second.
   */
  refreshNetns(): void {
    if (!this.#names) throw new TypeError("Cannot refresh namespaces: the stream was not opened with allNetns");
    this.#names.refresh();
  }

  next(): Promise<IteratorResult<ConntrackEvent, void>> {
    return this.#gen.next();
  }

  return(): Promise<IteratorResult<ConntrackEvent, void>> {
    this.close();
    return this.#gen.return(undefined);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stops the stream: a pending `next()` resolves `done`; the socket is closed. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    try {
      this.#names?.close();
    } finally {
      this.#src.close(); // wakes a pending wait first, closes once it returned
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  /** Drops counted since the last report (and resets the baseline). */
  #lost(): number | undefined {
    if (!this.#dropsMatter) return 0;
    const d = this.#src.drops();
    if (d === undefined || this.#drops === undefined) return undefined;
    const lost = (d - this.#drops) >>> 0;
    this.#drops = d;
    return lost;
  }

  async *#run(): AsyncGenerator<ConntrackEvent, void, void> {
    const rx = new Uint8Array(RX_SIZE);
    const dv = new DataView(rx.buffer);
    const flows = new FlowDecoder();
    const expects = new ExpectDecoder();
    const src = this.#src;
    try {
      while (!this.#closed) {
        let n: number;
        try {
          n = src.recv(rx);
        } catch (e) {
          if (e instanceof SyscallError && e.errno === ENOBUFS) {
            if (!this.#dropsMatter) continue;
            yield* this.#overrun(this.#lost());
            continue;
          }
          throw e;
        }
        if (n < 0) {
          // The queue is empty. Were events dropped with no ENOBUFS (NETLINK_NO_ENOBUFS, or
          // more drops while the socket was still marked congested)?
          const lost = this.#lost();
          if (lost) {
            yield* this.#overrun(lost);
            continue;
          }
          await src.wait();
          continue;
        }
        if (n > rx.length) throw new RangeError(`Cannot read event: a ${n}-byte datagram did not fit the ${rx.length}-byte buffer`);
        const received = nowNs();
        const names = this.#names;
        let nsid = names ? src.nsid?.() : undefined;
        if (nsid !== undefined && nsid === names?.self) nsid = undefined;
        const netnsName = nsid !== undefined ? names?.name(nsid) : undefined;
        let off = 0;
        while (off < n && !this.#closed) {
          const h = readHeader(dv, off, n);
          const at = off;
          off += NLMSG_ALIGN(h.len);
          if (h.type === NLMSG_OVERRUN) {
            yield* this.#overrun(this.#lost());
            break;
          }
          const ev = decodeEvent(dv, at, h.len, received, flows, expects);
          if (!ev) continue;
          if ("flow" in ev && this.#match && !this.#match(ev.flow)) continue;
          if (nsid !== undefined) {
            ev.nsid = nsid;
            if (netnsName !== undefined) ev.netnsName = netnsName;
          }
          yield ev;
        }
      }
    } finally {
      this.close();
    }
  }

  async *#overrun(lost: number | undefined): AsyncGenerator<ConntrackEvent, void, void> {
    const ev: OverrunEvent = { type: "overrun", time: nowNs() };
    if (lost !== undefined) ev.lost = lost;
    yield ev;
    if (!this.#resync || this.#closed) return;
    // Events queued before the dump are older than it: drop them (the dump reflects them).
    const rx = new Uint8Array(RX_SIZE);
    for (let i = 0; i < 1 << 20; i++) {
      try {
        if (this.#src.recv(rx) < 0) break;
      } catch (e) {
        if (!(e instanceof SyscallError && e.errno === ENOBUFS)) throw e;
      }
    }
    this.#lost(); // new baseline: anything dropped from here on is reported again
    const r: ResyncEvent = { type: "resync", flows: [], time: nowNs() };
    if (this.#flowTypes) r.flows = Array.from(this.#resync.dump(this.#filter));
    if (this.#expectTypes) r.expectations = Array.from(this.#resync.dumpExpect());
    yield r;
  }
}

/** Options of {@link openEventStream}: {@link EventOptions} plus the socket's namespace handle. */
export interface OpenEventOptions extends EventOptions {
  /** The namespace as the transport takes it (a path, pid, `{ fd }` or an open handle). */
  transportNetns?: LibcTransportOptions["netns"];
}

const EVENT_OPTION_CHECKS: Record<keyof EventOptions, Check> = {
  types: (v) => void eventGroups(v as EventType[]),
  filter: (v) => void compileFilter(v as Filters),
  kernelFilter: isBoolean,
  receiveBufferSize: isReceiveBufferSize,
  noEnobufs: isBoolean,
  resync: isBoolean,
  signal: isAbortSignal,
  netns: isNetns,
  allNetns: isBoolean,
  assignNsids: isBoolean,
  reliable: isBoolean,
};

/**
 * Checks {@link EventOptions} (unknown keys, `null`, wrong types and ranges) before a socket is
 * opened: `TypeError` or `RangeError` naming the option.
 */
export function checkEventOptions(options: unknown): EventOptions {
  const o = checkOptions<EventOptions>(options, EVENT_OPTION_CHECKS, "event options");
  checkEventCombination(o);
  return o;
}

function checkEventCombination(o: EventOptions): void {
  if (o.allNetns && o.resync) {
    throw new TypeError("Invalid event options: resync cannot be combined with allNetns (a dump sees one namespace)");
  }
  if (o.assignNsids !== undefined && !o.allNetns) {
    throw new TypeError("Invalid event options: assignNsids needs allNetns: true");
  }
}

/**
 * Opens an event socket subscribed to `options.types`, with the kernel filter attached, and
 * returns its stream. `client` serves resyncs (it must see the same namespace).
 */
export function openEventStream(options: OpenEventOptions = {}, client?: ResyncClient): EventStream {
  checkOptions<OpenEventOptions>(options, {
    ...EVENT_OPTION_CHECKS,
    transportNetns: (v, what) => {
      if (!(v instanceof NetnsHandle)) isNetns(v, what);
    },
  }, "event options");
  checkEventCombination(options);
  const groups = eventGroups(options.types ?? ["new", "update", "destroy"]);
  const program = options.kernelFilter === false ? undefined : compileEventFilter(options.filter);
  if (options.resync && !client) throw new TypeError("Cannot resync events without a client to dump the table with");
  const netns = options.transportNetns ?? options.netns;
  // Ids first: the kernel delivers nothing from a namespace that has none here.
  let names: NetnsNames | undefined;
  if (options.allNetns) {
    const table = NsidTable.open(netns);
    try {
      names = new NetnsNames(table, { assign: options.assignNsids ?? true });
    } catch (e) {
      table.close();
      throw e;
    }
  }
  let src: Subscription;
  try {
    src = new Subscription(NETLINK_NETFILTER, {
      groups,
      receiveBufferSize: options.receiveBufferSize ?? DEFAULT_RECEIVE_BUFFER,
      noEnobufs: options.noEnobufs || options.reliable,
      broadcastError: options.reliable,
      listenAllNsid: options.allNetns,
      filter: program,
      netns,
    });
  } catch (e) {
    names?.close();
    throw e;
  }
  try {
    return new EventStream(src, options, client, names);
  } catch (e) {
    names?.close();
    src.close();
    throw e;
  }
}
