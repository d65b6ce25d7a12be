/**
 * The event stream's logic through a scripted source: overruns (ENOBUFS and silent drops),
 * resync by a fresh dump, the userspace filter, abort, all-namespace tags, reliable delivery.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SyscallError } from "../../../ffi/errno.ts";
import { EventStream } from "../../../conntrack/event_stream.ts";
import type { ConntrackEvent } from "../../../conntrack/events.ts";
import type { Flow } from "../../../conntrack/flow.ts";
import { decodeFlow } from "../../../conntrack/flow_decode.ts";
import type { EventSource } from "../../../netlink/subscription.ts";
import { EVENTS } from "../../_helpers/event_fixtures.ts";
import { view } from "../../_helpers/golden.ts";

/** A scripted event source: steps are datagrams, errors, or "empty" (EAGAIN). */
class ScriptedSource implements EventSource {
  readonly portId = 42;
  steps: (Uint8Array | { throws: unknown } | "empty")[] = [];
  dropCount = 0;
  closed = false;
  waits = 0;
  /** The nsid each datagram step carries (by position among datagram steps), for allNetns. */
  nsids: (number | undefined)[] = [];
  #nsid: number | undefined;
  recv(buf: Uint8Array): number {
    const s = this.steps.shift();
    if (s === undefined || s === "empty") return -1;
    if (s instanceof Uint8Array) {
      buf.set(s);
      this.#nsid = this.nsids.shift();
      return s.length;
    }
    throw s.throws;
  }
  nsid(): number | undefined {
    return this.#nsid;
  }
  wait(): Promise<unknown> {
    this.waits++;
    return new Promise((r) => setTimeout(r, 1));
  }
  wake(): void {}
  drops(): number {
    return this.dropCount;
  }
  receiveBufferSize(): number {
    return 4096;
  }
  close(): void {
    this.closed = true;
  }
}

async function take(stream: EventStream, n: number): Promise<ConntrackEvent[]> {
  const out: ConntrackEvent[] = [];
  for await (const ev of stream) {
    out.push(ev);
    if (out.length === n) break;
  }
  return out;
}

test("EventStream reports ENOBUFS as an overrun with the drop count, and keeps going", async () => {
  const src = new ScriptedSource();
  const stream = new EventStream(src, {
    types: ["new", "update", "destroy", "expectNew", "expectDestroy"],
  });
  src.dropCount = 5;
  src.steps = [
    EVENTS[0],
    { throws: new SyscallError("recvfrom", 105) },
    EVENTS[2],
    "empty",
    EVENTS[3],
  ];
  const evs = await take(stream, 4);
  assert.deepEqual(evs.map((e) => e.type), ["new", "overrun", "update", "destroy"]);
  assert.equal((evs[1] as { lost?: number }).lost, 5);
  assert.ok(src.closed, "break closes the source");
});

test("EventStream reports drops seen without ENOBUFS (NETLINK_NO_ENOBUFS) when the queue empties", async () => {
  const src = new ScriptedSource();
  const stream = new EventStream(src, {});
  src.steps = [EVENTS[0]];
  const it = stream[Symbol.asyncIterator]();
  assert.equal((await it.next()).value?.type, "new");
  src.dropCount = 3; // dropped silently
  const ev = (await it.next()).value;
  assert.deepEqual({ type: ev?.type, lost: (ev as { lost?: number }).lost }, {
    type: "overrun",
    lost: 3,
  });
  await stream.return();
  assert.ok(src.closed);
});

test("EventStream with resync drops stale queued events and yields a fresh dump after the overrun", async () => {
  const src = new ScriptedSource();
  const table = [decodeFlow(view(EVENTS[0]), 0, EVENTS[0].length)];
  let dumps = 0;
  const stream = new EventStream(src, { resync: true }, {
    dump: () => (dumps++, table),
    dumpExpect: () => [],
  });
  src.steps = [
    { throws: new SyscallError("recvfrom", 105) },
    EVENTS[0],
    EVENTS[2],
    "empty",
    EVENTS[3],
  ];
  const evs = await take(stream, 3);
  assert.deepEqual(evs.map((e) => e.type), ["overrun", "resync", "destroy"]);
  assert.equal(dumps, 1);
  assert.deepEqual((evs[1] as { flows: Flow[] }).flows, table);
  assert.equal((evs[1] as { expectations?: unknown }).expectations, undefined);
});

test("EventStream applies the filter to flow events in userspace and stops on abort", async () => {
  const src = new ScriptedSource();
  const ac = new AbortController();
  const stream = new EventStream(src, {
    filter: { dport: 22 },
    signal: ac.signal,
    types: ["new", "update", "destroy", "expectNew"],
  });
  src.steps = [EVENTS[0], EVENTS[1], EVENTS[2]];
  const got: string[] = [];
  setTimeout(() => ac.abort(), 20);
  for await (const ev of stream) got.push(ev.type);
  assert.deepEqual(got, ["expectNew"]); // flows go to port 21; expectation events are not filtered
  assert.ok(src.closed);
});

test("EventStream with allNetns tags events with nsid and name; own-namespace events carry neither", async () => {
  const src = new ScriptedSource();
  const lookups: number[] = [];
  let closed = false;
  const names = {
    self: 7, // the listener's namespace gave itself id 7: its own events are tagged with it
    name: (id: number) => (lookups.push(id), id === 3 ? "blue" : undefined),
    refresh: () => {},
    close: () => (closed = true),
  };
  const stream = new EventStream(
    src,
    { allNetns: true, types: ["new", "update", "destroy", "expectNew", "expectDestroy"] },
    undefined,
    names,
  );
  src.steps = [EVENTS[0], EVENTS[1], EVENTS[2], EVENTS[3]];
  src.nsids = [3, undefined, 7, 12];
  const evs = await take(stream, 4);
  assert.deepEqual(
    evs.map((e) => [e.type, "nsid" in e ? e.nsid : "-", "netnsName" in e ? e.netnsName : "-"]),
    [
      ["new", 3, "blue"],
      ["expectNew", "-", "-"],
      ["update", "-", "-"],
      ["destroy", 12, "-"],
    ],
  );
  assert.deepEqual(lookups, [3, 12], "names are looked up only for other namespaces");
  assert.ok(closed, "closing the stream closes the resolver");
});

test("EventStream with reliable destroy-only reports no overrun (destroys are redelivered); with new/update it does", async () => {
  for (
    const [types, want] of [[["destroy"], ["destroy", "destroy"]], [["new", "destroy"], [
      "destroy",
      "overrun",
      "destroy",
    ]]] as const
  ) {
    const src = new ScriptedSource();
    const stream = new EventStream(src, { reliable: true, types });
    src.steps = [EVENTS[3], { throws: new SyscallError("recvfrom", 105) }, EVENTS[3]];
    src.dropCount = 4;
    assert.deepEqual((await take(stream, want.length)).map((e) => e.type), want, types.join(","));
  }
});

test("refreshNetns() needs allNetns", () => {
  const stream = new EventStream(new ScriptedSource(), {});
  assert.throws(() => stream.refreshNetns(), TypeError);
  stream.close();
});
