/**
 * Flows as JSON (conntrack/json.ts): the shape of `nfct -L -o json` lines and snapshots, read
 * back, and what a restore keeps.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Flow, flowFromJSON, flowToJSON, restorable } from "../../../mod.ts";

const dumped: Flow = {
  family: "ipv4",
  proto: "tcp",
  orig: { dst: "10.0.0.2", src: "10.0.0.1", dport: 80, sport: 40000 },
  reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 80, dport: 40000 },
  id: 42,
  timeout: 431999,
  status: ["SEEN_REPLY", "ASSURED", "CONFIRMED"],
  mark: 7,
  use: 1,
  tcp: { state: "ESTABLISHED", wscaleOrig: 7 },
  counters: { orig: { packets: 3, bytes: 180 }, reply: { packets: 2, bytes: 120 } },
  timestamp: { start: 1700000000123456789n },
  labels: [1, 66],
  helperInfo: new Uint8Array([0xde, 0xad]),
  helper: "ftp",
  synproxy: { isn: 0, its: 0, tsoff: 0 },
  unknown: [{ type: 30, data: new Uint8Array([1, 2, 3]) }],
};

test("flowToJSON writes keys in Flow's order, BigInts as decimal strings, bytes as hex", () => {
  const j = flowToJSON(dumped);
  assert.deepEqual(Object.keys(j), [
    "family",
    "proto",
    "orig",
    "reply",
    "status",
    "timeout",
    "mark",
    "id",
    "use",
    "tcp",
    "counters",
    "timestamp",
    "labels",
    "helper",
    "helperInfo",
    "unknown",
  ]);
  assert.deepEqual(Object.keys(j.orig as object), ["src", "dst", "sport", "dport"]);
  assert.deepEqual(j.timestamp, { start: "1700000000123456789" });
  assert.equal(j.helperInfo, "dead");
  assert.deepEqual(j.unknown, [{ type: 30, data: "010203" }]);
  assert.equal(j.synproxy, undefined, "an all-zero synproxy is left out");
});

test("flowFromJSON(JSON.parse(JSON.stringify(flowToJSON(f)))) gives f back", () => {
  const back = flowFromJSON(JSON.parse(JSON.stringify(flowToJSON(dumped))));
  const { synproxy: _, ...expected } = dumped;
  assert.deepEqual(back, expected);
});

test("flowFromJSON refuses what is not a flow: TypeError naming the field", () => {
  const j = flowToJSON(dumped);
  assert.throws(() => flowFromJSON(null), TypeError);
  assert.throws(() => flowFromJSON({ ...j, orig: undefined }), /"orig" is missing/);
  assert.throws(() => flowFromJSON({ ...j, helperInfo: "abc" }), /helperInfo/);
  assert.throws(() => flowFromJSON({ ...j, timestamp: { start: 1 } }), /timestamp.start/);
  assert.throws(() => flowFromJSON({ ...j, unknown: "x" }), /unknown/);
});

test("restorable keeps what a create can set and drops what belonged to the old entry", () => {
  const r = restorable(dumped);
  assert.deepEqual(r, {
    family: "ipv4",
    proto: "tcp",
    orig: dumped.orig,
    reply: dumped.reply,
    status: ["SEEN_REPLY", "ASSURED"],
    timeout: 431999,
    mark: 7,
    tcp: { state: "ESTABLISHED", wscaleOrig: 7 },
    labels: [1, 66],
    helper: "ftp",
  });
  assert.notEqual(r.orig, dumped.orig, "tuples are copies");
  assert.throws(() => restorable({} as Flow), TypeError);
});
