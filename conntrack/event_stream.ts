/**
 * {@link EventStream}: the async iterator that delivers conntrack events (see events.ts for
 * what they are), and {@link openEventStream}, which opens its socket: subscribed to the
 * event types' multicast groups, with the filter compiled to a socket BPF program.
 * @module
 */
import { ENOBUFS, SyscallError } from "../ffi/errno.ts";
import { NETLINK_NETFILTER, NLMSG_ALIGN, NLMSG_OVERRUN, readHeader } from "../netlink/message.ts";
import { NetnsHandle } from "../netlink/netns.ts";
import { DEFAULT_RECEIVE_BUFFER, type LibcTransportOptions } from "../netlink/socket.ts";
import { NetnsNames, type NetnsResolver, NsidTable } from "../netlink/nsid.ts";
import { type EventSource, Subscription } from "../netlink/subscription.ts";
import { compileEventFilter } from "./bpf.ts";
import {
  type ConntrackEvent,
  decodeEvent,
  eventGroups,
  type EventOptions,
  type EventType,
  type OverrunEvent,
  type ResyncEvent,
} from "./events.ts";
import type { Expectation } from "./expect.ts";
import { ExpectDecoder } from "./expect_decode.ts";
import { compileFilter, type Filters } from "./filter.ts";
import type { Flow } from "./flow.ts";
import { FlowDecoder } from "./flow_decode.ts";
import {
  type Check,
  checkOptions,
  isAbortSignal,
  isBoolean,
  isNetns,
  isReceiveBufferSize,
} from "./options.ts";

/** What a stream needs to resync: the client's dumps (a `Conntrack` is one). */
export interface ResyncClient {
  /** Every flow matching `filter` (`Conntrack.dump`). */
  dump(filter?: Filters): Iterable<Flow>;
  /** Every expectation (`Conntrack.dumpExpect`). */
  dumpExpect(): Iterable<Expectation>;
}

/** Now, in nanoseconds since the epoch (microsecond resolution). */
function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

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
  constructor(
    source: EventSource,
    options: EventOptions = {},
    client?: ResyncClient,
    names?: NetnsResolver,
  ) {
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
      if (!client) {
        throw new TypeError("Cannot resync events without a client to dump the table with");
      }
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
    if (!this.#names) {
      throw new TypeError("Cannot refresh namespaces: the stream was not opened with allNetns");
    }
    this.#names.refresh();
  }

  /** The next event; `done` once the stream is closed. */
  next(): Promise<IteratorResult<ConntrackEvent, void>> {
    return this.#gen.next();
  }

  /** Closes the stream (what `break` out of `for await` calls). */
  return(): Promise<IteratorResult<ConntrackEvent, void>> {
    this.close();
    return this.#gen.return(undefined);
  }

  /** The stream itself: it is its own iterator, so it can be iterated once. */
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

  /** Closes the stream at the end of an `await using` block. */
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
        if (n > rx.length) {
          throw new RangeError(
            `Cannot read event: a ${n}-byte datagram did not fit the ${rx.length}-byte buffer`,
          );
        }
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
    throw new TypeError(
      "Invalid event options: resync cannot be combined with allNetns (a dump sees one namespace)",
    );
  }
  if (o.assignNsids !== undefined && !o.allNetns) {
    throw new TypeError("Invalid event options: assignNsids needs allNetns: true");
  }
}

/**
 * Opens an event socket subscribed to `options.types`, with the kernel filter attached, and
 * returns its stream. `client` serves resyncs (it must see the same namespace).
 */
export function openEventStream(
  options: OpenEventOptions = {},
  client?: ResyncClient,
): EventStream {
  checkOptions<OpenEventOptions>(options, {
    ...EVENT_OPTION_CHECKS,
    transportNetns: (v, what) => {
      if (!(v instanceof NetnsHandle)) isNetns(v, what);
    },
  }, "event options");
  checkEventCombination(options);
  const groups = eventGroups(options.types ?? ["new", "update", "destroy"]);
  const program = options.kernelFilter === false ? undefined : compileEventFilter(options.filter);
  if (options.resync && !client) {
    throw new TypeError("Cannot resync events without a client to dump the table with");
  }
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
