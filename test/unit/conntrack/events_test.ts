/**
 * Event decoding: the kernel's real datagrams (test/fixtures/events.hex), event times from the
 * kernel's timestamps, and the event types' multicast groups.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as C from "../../../conntrack/constants.ts";
import { decodeEvent, eventGroups } from "../../../conntrack/events.ts";
import { NLM_F_CREATE } from "../../../netlink/message.ts";
import { EVENTS, EVENTS_PORT_ID as PID, FTP_EXPECTATION } from "../../_helpers/event_fixtures.ts";
import { flowMessage } from "../../_helpers/flow_message.ts";
import { view } from "../../_helpers/golden.ts";

const UDP = {
  proto: "udp",
  orig: { src: "1.2.3.4", dst: "5.6.7.8", sport: 1, dport: 2 },
  timeout: 1,
} as const;

test("decodeEvent() reads the kernel's new, expectNew, update, destroy and expectDestroy messages", () => {
  assert.equal(EVENTS.length, 5);
  const evs = EVENTS.map((d) => decodeEvent(view(d), 0, d.length, 123n)!);
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
  assert.deepEqual(en.expectation, FTP_EXPECTATION);
  assert.equal(ed.expectation.id, en.expectation.id);
});

test("decodeEvent() takes the event time from CTA_TIMESTAMP's stop time when present", () => {
  const msg = flowMessage(UDP, {
    type: C.IPCTNL_MSG_CT_DELETE,
    portId: 77,
    more: (b) => {
      const ts = b.nest(C.CTA_TIMESTAMP);
      b.u64(C.CTA_TIMESTAMP_START, 1_700_000_000_000_000_000n);
      b.u64(C.CTA_TIMESTAMP_STOP, 1_700_000_001_000_000_123n);
      b.endNest(ts);
    },
  });
  const ev = decodeEvent(view(msg), 0, msg.length, 5n)!;
  assert.equal(ev.type, "destroy");
  assert.equal(ev.time, 1_700_000_001_000_000_123n);
  assert.equal(ev.timeSource, "stop");
  assert.equal(ev.kernelTime, true);
  assert.equal(ev.portId, 77);
});

test("decodeEvent() prefers CTA_TIMESTAMP_EVENT (Linux 6.14+) and keeps it on the flow as eventTime", () => {
  const msg = flowMessage(UDP, {
    flags: NLM_F_CREATE,
    more: (b) => b.u64(C.CTA_TIMESTAMP_EVENT, 1_700_000_002_000_000_456n),
  });
  const ev = decodeEvent(view(msg), 0, msg.length, 5n)!;
  assert.equal(ev.type, "new");
  assert.equal(ev.time, 1_700_000_002_000_000_456n);
  assert.equal(ev.timeSource, "event");
  assert.ok("flow" in ev && ev.flow.eventTime === 1_700_000_002_000_000_456n);
  assert.ok("flow" in ev && ev.flow.unknown === undefined, "not kept raw");
  assert.throws(
    () => decodeEvent(view(msg), 0, msg.length - 12, 5n),
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
