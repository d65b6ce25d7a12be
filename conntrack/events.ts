/**
 * Conntrack events (`conntrack -E`): {@link ConntrackEvent} and its kinds, the options of a
 * stream of them, and {@link decodeEvent}; event_stream.ts holds `EventStream`, the async
 * iterator that delivers them.
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
import { NLM_F_CREATE, NLMSG_MIN_TYPE, readHeader } from "../netlink/message.ts";
import type { Netns } from "../netlink/netns.ts";
import * as C from "./constants.ts";
import type { Expectation } from "./expect.ts";
import { ExpectDecoder } from "./expect_decode.ts";
import type { Filters } from "./filter.ts";
import type { Flow } from "./flow.ts";
import { FlowDecoder } from "./flow_decode.ts";

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

/** What every flow and expectation event carries besides its subject: when, and who caused it. */
export interface EventBase {
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

/**
 * A flow was created, changed or destroyed.
 *
 * @example Print new and destroyed flows for a minute, as `conntrack -E -e NEW,DESTROY`
 * ```ts
 * import { Conntrack } from "@nfct/nfct";
 * using ct = Conntrack.open();
 * const signal = AbortSignal.timeout(60_000);
 * for await (const ev of ct.events({ types: ["new", "destroy"], signal })) {
 *   if (ev.type === "new" || ev.type === "destroy") {
 *     console.log(ev.type, ev.flow.proto, ev.flow.orig.src, ev.flow.orig.dst, ev.time);
 *   }
 * }
 * ```
 */
export interface FlowEvent extends EventBase {
  /** `new` (`IPCTNL_MSG_CT_NEW` with `NLM_F_CREATE`), `update` or `destroy`. */
  type: FlowEventType;
  /** The flow, with what the event carries (see the module doc: not every field, every time). */
  flow: Flow;
}

/** An expectation was created or destroyed. */
export interface ExpectEvent extends EventBase {
  /** `expectNew` (`IPCTNL_MSG_EXP_NEW`) or `expectDestroy` (`IPCTNL_MSG_EXP_DELETE`). */
  type: ExpectEventType;
  /** The expectation. */
  expectation: Expectation;
}

/**
 * The kernel dropped events because the receive buffer was full (`ENOBUFS`, or drops seen in
 * the socket's drop counter). Anything built from events is out of date: resync (see
 * {@link EventOptions.resync}).
 */
export interface OverrunEvent {
  /** Always `"overrun"`. */
  type: "overrun";
  /** How many events were dropped since the last report (`SK_MEMINFO_DROPS`), when known. */
  lost?: number;
  /** When nfct noticed, in nanoseconds since the epoch. */
  time: bigint;
}

/**
 * A fresh copy of the table, taken after an overrun ({@link EventOptions.resync}): replace
 * whatever was built from earlier events with it, then keep applying events (applying a `new`
 * for a flow already present, or a `destroy` for one already gone, must be harmless).
 */
export interface ResyncEvent {
  /** Always `"resync"`. */
  type: "resync";
  /** Every flow matching the filter (present when flow events are subscribed). */
  flows: Flow[];
  /** Every expectation (present when expectation events are subscribed). */
  expectations?: Expectation[];
  /** When the dump started, in nanoseconds since the epoch. */
  time: bigint;
}

/** What an `EventStream` yields (`Conntrack.events()`). */
export type ConntrackEvent = FlowEvent | ExpectEvent | OverrunEvent | ResyncEvent;

/** Options of `Conntrack.events()` (`conntrack -E`) and `openEventStream()`. */
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
/** The bind mask of `types`. @throws {TypeError} on an unknown type. */
export function eventGroups(types: readonly EventType[]): number {
  if (!Array.isArray(types) || types.length === 0) {
    throw new TypeError("Invalid event types: expected a non-empty array");
  }
  let mask = 0;
  for (const t of types) {
    const g = EVENT_GROUPS[t as EventType];
    if (g === undefined) {
      throw new TypeError(
        `Invalid event type "${String(t)}": expected ${Object.keys(EVENT_GROUPS).join(", ")}`,
      );
    }
    mask |= 1 << (g - 1);
  }
  return mask;
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
  expects: ExpectDecoder = new ExpectDecoder(),
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
    const timeSource = flow.eventTime !== undefined
      ? "event"
      : kernel !== undefined
      ? "stop"
      : "received";
    return {
      type,
      flow,
      time: kernel ?? received,
      timeSource,
      kernelTime: kernel !== undefined,
      portId: h.pid,
    };
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
