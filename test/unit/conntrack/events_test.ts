/**
 * Event decoding (real kernel datagrams, test/fixtures/events.hex), the event stream's overrun
 * and resync logic through a scripted source, and the kernel-side BPF filter checked against
 * the userspace match with a BPF interpreter.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SyscallError } from "../../../ffi/errno.ts";
import { compileEventFilter } from "../../../conntrack/bpf.ts";
import * as C from "../../../conntrack/constants.ts";
import { EventStream } from "../../../conntrack/event_stream.ts";
import { type ConntrackEvent, decodeEvent, eventGroups } from "../../../conntrack/events.ts";
import { compileFilter, type Filter } from "../../../conntrack/filter.ts";
import type { Flow } from "../../../conntrack/flow.ts";
import { decodeFlow } from "../../../conntrack/flow_decode.ts";
import { encodeFlow } from "../../../conntrack/flow_encode.ts";
import { validateFlow } from "../../../conntrack/flow_validate.ts";
import { writeNfgenmsg } from "../../../conntrack/nfnl.ts";
import { MessageBuilder } from "../../../netlink/attribute.ts";
import { NLM_F_CREATE, NLM_F_EXCL } from "../../../netlink/message.ts";
import type { EventSource } from "../../../netlink/subscription.ts";
import { runBpf } from "../../_helpers/bpf_vm.ts";
import { fixtureUrl, readHexLines } from "../../_helpers/hex.ts";

const EVENTS = readHexLines(fixtureUrl("events.hex"));
const PID = 0xb471fb59;
const dvOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

test("decodeEvent() reads the kernel's new, expectNew, update, destroy and expectDestroy messages", () => {
  assert.equal(EVENTS.length, 5);
  const evs = EVENTS.map((d) => decodeEvent(dvOf(d), 0, d.length, 123n)!);
  assert.deepEqual(evs.map((e) => e.type), [
    "new",
    "expectNew",
    "update",
    "destroy",
    "expectDestroy",
  ]);
  assert.deepEqual(evs.map((e) => e.portId), [PID, PID, PID, PID, 0]);
  const [nw, en, up, de, ed] = evs;
  assert.ok("flow" in nw && "flow" in up && "flow" in de);
  assert.deepEqual(nw.flow.orig, { src: "10.9.0.1", dst: "10.9.0.2", sport: 40000, dport: 21 });
  assert.equal(nw.flow.proto, "tcp");
  assert.equal(nw.flow.helper, "ftp");
  assert.equal(nw.flow.mark, 7);
  assert.equal(nw.flow.tcp?.state, "ESTABLISHED");
  assert.equal(up.flow.mark, 9);
  assert.equal(de.flow.id, nw.flow.id);
  // No kernel timestamp (nf_conntrack_timestamp was off): the receive time is used.
  for (const e of evs) {
    assert.equal(e.time, 123n);
    assert.equal(e.kernelTime, false);
  }
  assert.ok("expectation" in en && "expectation" in ed);
  assert.deepEqual(en.expectation, {
    family: "ipv4",
    proto: "tcp",
    tuple: { src: "10.9.0.2", dst: "10.9.0.1", sport: 0, dport: 50000 },
    mask: { src: "255.255.255.255", dst: "255.255.255.255", sport: 0, dport: 65535 },
    master: { src: "10.9.0.1", dst: "10.9.0.2", sport: 40000, dport: 21, proto: "tcp" },
    timeout: 300,
    id: 851651971,
    flags: [],
    class: 0,
    helper: "ftp",
  });
  assert.equal(ed.expectation.id, en.expectation.id);
});

test("decodeEvent() takes the event time from CTA_TIMESTAMP's stop time when present", () => {
  const b = new MessageBuilder();
  const at = b.begin((C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_DELETE, 0, 0, 77);
  writeNfgenmsg(b, C.AF_INET);
  encodeFlow(
    b,
    validateFlow({
      proto: "udp",
      orig: { src: "1.2.3.4", dst: "5.6.7.8", sport: 1, dport: 2 },
      timeout: 1,
    }, "create"),
    "create",
  );
  const ts = b.nest(C.CTA_TIMESTAMP);
  b.u64(C.CTA_TIMESTAMP_START, 1_700_000_000_000_000_000n);
  b.u64(C.CTA_TIMESTAMP_STOP, 1_700_000_001_000_000_123n);
  b.endNest(ts);
  b.end(at);
  const ev = decodeEvent(b.dv, 0, b.length, 5n)!;
  assert.equal(ev.type, "destroy");
  assert.equal(ev.time, 1_700_000_001_000_000_123n);
  assert.equal(ev.timeSource, "stop");
  assert.equal(ev.kernelTime, true);
  assert.equal(ev.portId, 77);
});

test("decodeEvent() prefers CTA_TIMESTAMP_EVENT (Linux 6.14+) and keeps it on the flow as eventTime", () => {
  const b = new MessageBuilder();
  const at = b.begin((C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_NEW, NLM_F_CREATE, 0, 0);
  writeNfgenmsg(b, C.AF_INET);
  encodeFlow(
    b,
    validateFlow({
      proto: "udp",
      orig: { src: "1.2.3.4", dst: "5.6.7.8", sport: 1, dport: 2 },
      timeout: 1,
    }, "create"),
    "create",
  );
  b.u64(C.CTA_TIMESTAMP_EVENT, 1_700_000_002_000_000_456n);
  b.end(at);
  const ev = decodeEvent(b.dv, 0, b.length, 5n)!;
  assert.equal(ev.type, "new");
  assert.equal(ev.time, 1_700_000_002_000_000_456n);
  assert.equal(ev.timeSource, "event");
  assert.ok("flow" in ev && ev.flow.eventTime === 1_700_000_002_000_000_456n);
  assert.ok("flow" in ev && ev.flow.unknown === undefined, "not kept raw");
  assert.throws(
    () => decodeEvent(b.dv, 0, b.length - 12, 5n),
    RangeError,
    "a cut message is refused, not guessed",
  );
});

test("eventGroups() maps event types to NFNLGRP_CONNTRACK_* bits and refuses unknown ones", () => {
  assert.equal(eventGroups(["new", "update", "destroy"]), 0b111);
  assert.equal(eventGroups(["expectNew", "expectDestroy"]), 0b101000);
  assert.throws(() => eventGroups(["bogus" as never]), TypeError);
  assert.throws(() => eventGroups([]), TypeError);
});

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
  const table = [decodeFlow(dvOf(EVENTS[0]), 0, EVENTS[0].length)];
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

// --- The BPF filter against the userspace match ---

function eventBytes(f: Partial<Flow> & Pick<Flow, "proto">): Uint8Array {
  const v = validateFlow(f, "create");
  const b = new MessageBuilder();
  const at = b.begin(
    (C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_NEW,
    NLM_F_CREATE | NLM_F_EXCL,
    0,
    0,
  );
  writeNfgenmsg(b, v.family === "ipv6" ? C.AF_INET6 : C.AF_INET);
  encodeFlow(b, v, "create");
  b.end(at);
  return b.bytes().slice();
}

function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
}

test("the kernel BPF filter never drops an event the userspace match keeps (2000 random flows x filters)", () => {
  const r = rng(7);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const flows: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) {
    const v6 = r() < 0.3;
    const proto = pick(["tcp", "udp", "icmp", "sctp"] as const);
    const icmp = proto === "icmp";
    const f: Partial<Flow> & Pick<Flow, "proto"> = {
      proto: icmp && v6 ? "icmpv6" : proto,
      timeout: 30,
      orig: v6
        ? {
          src: `fd00::${pick([1, 2, 3])}`,
          dst: `fd00:1::${pick([1, 2])}`,
          ...(icmp
            ? { type: 128, code: 0, id: 1 }
            : { sport: pick([1000, 2000]), dport: pick([53, 80, 443]) }),
        }
        : {
          src: `10.${pick([0, 1])}.${pick([0, 255])}.${pick([1, 2])}`,
          dst: `192.168.${pick([0, 1])}.1`,
          ...(icmp
            ? { type: 8, code: 0, id: 1 }
            : { sport: pick([1000, 2000]), dport: pick([53, 80, 443]) }),
        },
    };
    if (r() < 0.5) f.mark = pick([0, 1, 7, 0x100]);
    if (r() < 0.3) f.zone = pick([0, 1, 2]);
    if (r() < 0.5) {
      f.status = pick([["ASSURED"], ["SEEN_REPLY"], ["ASSURED", "SEEN_REPLY"]] as never);
    }
    flows.push(eventBytes(f));
  }
  const filters: Filter[] = [
    { family: "ipv4" },
    { family: "ipv6" },
    { proto: "tcp" },
    { proto: "udp", dport: 53 },
    { src: "10.0.0.0/16" },
    { src: "10.1.255.2" },
    { dst: "192.168.1.1", proto: "tcp", sport: 1000 },
    { src: "fd00::/126" },
    { dst: "fd00:1::2" },
    { reply: { src: "192.168.0.0/24" } },
    { reply: { dport: 1000 }, proto: "udp" },
    { mark: 7 },
    { mark: 0 },
    { mark: { value: 0, mask: 0xff } },
    { zone: 1 },
    { zone: 0 },
    { status: ["ASSURED"] },
    { status: { value: [], mask: ["SEEN_REPLY"] } },
    { proto: "icmp" },
    { family: "ipv4", proto: "sctp", mark: 1, dport: 80 },
  ];
  for (const filter of filters) {
    const prog = compileEventFilter(filter);
    assert.ok(prog, `a program for ${JSON.stringify(filter)}`);
    const cf = compileFilter(filter);
    let kept = 0, dropped = 0;
    for (const bytes of flows) {
      const verdict = runBpf(prog, bytes);
      const match = cf.match(decodeFlow(dvOf(bytes), 0, bytes.length));
      if (match) {
        assert.notEqual(verdict, 0, `BPF dropped a matching flow for ${JSON.stringify(filter)}`);
      }
      if (verdict === 0) dropped++;
      else kept++;
    }
    assert.ok(dropped > 0, `BPF dropped nothing for ${JSON.stringify(filter)} (kept ${kept})`);
  }
});

test("the kernel BPF filter passes expectation events and refuses nothing when the filter is empty", () => {
  assert.equal(compileEventFilter(undefined), undefined);
  assert.equal(compileEventFilter({}), undefined);
  assert.equal(compileEventFilter({ state: "ESTABLISHED" }), undefined); // userspace only
  assert.equal(compileEventFilter({ sport: 2000 }), undefined); // ports without a protocol: userspace only
  const prog = compileEventFilter({ proto: "udp" })!;
  assert.notEqual(runBpf(prog, EVENTS[1]), 0); // expectNew
  assert.equal(runBpf(prog, EVENTS[0]), 0); // a TCP flow
});
