/**
 * Flows as JSON (conntrack/json.ts, through mod.ts): every flow of the golden capture and flows
 * with every BigInt and byte field survive `JSON.stringify` → `JSON.parse` → {@link flowFromJSON};
 * keys come out in one fixed order; malformed JSON is refused with TypeError.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Flow, flowFromJSON, flowToJSON, restorable } from "../../../mod.ts";
import { LIST } from "../../_helpers/golden_flows.ts";

const roundTrip = (f: Flow) => flowFromJSON(JSON.parse(JSON.stringify(flowToJSON(f))));

/** `f` without an all-zero synproxy (flowToJSON leaves it out: the kernel reports one for every entry). */
function withoutZeroSynproxy(f: Flow): Flow {
  const { synproxy, ...rest } = f;
  return synproxy && (synproxy.isn || synproxy.its || synproxy.tsoff) ? f : rest as Flow;
}

const RICH: Flow = {
  family: "ipv4",
  proto: "dccp",
  orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 2000, zone: 3 },
  reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 2000, dport: 1000 },
  status: ["SEEN_REPLY", "ASSURED", "CONFIRMED"],
  timeout: 120,
  mark: 0xdeadbeef,
  zone: 7,
  id: 4294967295,
  use: 1,
  dccp: { state: "OPEN", role: 1, handshakeSeq: 2n ** 64n - 1n },
  counters: { orig: { packets: 2 ** 40, bytes: 2 ** 50 }, reply: { packets: 0, bytes: 0 } },
  timestamp: { start: 1795500917611044523n, stop: 1795500917611044524n },
  eventTime: 18446744073709551615n,
  labels: [0, 64, 127],
  labelsMask: [0, 127],
  helper: "ftp",
  helperInfo: new Uint8Array([0, 1, 0xfe, 0xff]),
  natSrc: { minIp: "10.9.0.1", maxIp: "10.9.0.9", minPort: 1, maxPort: 65535 },
  seqAdjOrig: { correctionPos: 1, offsetBefore: 2, offsetAfter: 3 },
  synproxy: { isn: 1, its: 2, tsoff: 3 },
  master: { proto: "tcp", src: "10.0.0.1", dst: "10.0.0.2", sport: 21, dport: 2100 },
  unknown: [{ type: 99, data: new Uint8Array([1, 2, 3]) }, { type: 100, data: new Uint8Array(0) }],
};

test("every flow of the golden capture survives flowToJSON, JSON text and flowFromJSON", () => {
  for (const f of LIST) assert.deepEqual(roundTrip(f), withoutZeroSynproxy(f), `id ${f.id}`);
});

test("BigInts (timestamps, eventTime, DCCP handshake sequence) and bytes survive at their full range", () => {
  assert.deepEqual(roundTrip(RICH), RICH);
  const j = flowToJSON(RICH) as Record<string, unknown>;
  assert.deepEqual(j.timestamp, { start: "1795500917611044523", stop: "1795500917611044524" });
  assert.equal(j.eventTime, "18446744073709551615");
  assert.equal((j.dccp as { handshakeSeq: string }).handshakeSeq, "18446744073709551615");
  assert.equal(j.helperInfo, "0001feff");
  assert.deepEqual(j.unknown, [{ type: 99, data: "010203" }, { type: 100, data: "" }]);
});

test("keys come out in one order whatever order the flow's fields were set in", () => {
  const reversed = Object.fromEntries(Object.entries(RICH).reverse()) as unknown as Flow;
  const tuple = { dport: 2000, sport: 1000, zone: 3, dst: "10.0.0.2", src: "10.0.0.1" };
  const a = JSON.stringify(flowToJSON(RICH));
  const b = JSON.stringify(flowToJSON({ ...reversed, orig: tuple }));
  assert.equal(b, a);
  assert.deepEqual(Object.keys(flowToJSON(RICH)).slice(0, 6), [
    "family",
    "proto",
    "orig",
    "reply",
    "status",
    "timeout",
  ]);
  assert.deepEqual(Object.keys(flowToJSON(RICH).orig as object), [
    "src",
    "dst",
    "sport",
    "dport",
    "zone",
  ]);
});

test("flowFromJSON refuses what is not a flow's JSON with TypeError saying what is wrong", () => {
  const good = flowToJSON(RICH);
  const cases: [unknown, RegExp][] = [
    [null, /expected an object/],
    [[good], /expected an object/],
    ["{}", /expected an object/],
    [{ ...good, family: undefined }, /"family" is missing/],
    [{ ...good, reply: undefined }, /"reply" is missing/],
    [{ ...good, timestamp: { start: "-1" } }, /timestamp\.start: expected a decimal string/],
    [{ ...good, timestamp: { start: 5 } }, /timestamp\.start/],
    [{ ...good, timestamp: null }, /timestamp: expected \{ start, stop \}/],
    [{ ...good, eventTime: "1e3" }, /eventTime/],
    [{ ...good, helperInfo: "abc" }, /helperInfo: expected an even number of hex digits/],
    [{ ...good, helperInfo: "zz" }, /helperInfo/],
    [{ ...good, dccp: { state: "OPEN", handshakeSeq: 5 } }, /dccp\.handshakeSeq/],
    [{ ...good, unknown: "00" }, /unknown: expected an array/],
    [{ ...good, unknown: [{ type: 1, data: "0" }] }, /unknown\[0\]\.data/],
  ];
  for (const [bad, re] of cases) {
    assert.throws(
      () => flowFromJSON(bad),
      (e: unknown) => e instanceof TypeError && re.test((e as Error).message),
      String(re),
    );
  }
});

test("restorable keeps what a create can set again and drops what belonged to the entry", () => {
  const r = restorable(RICH);
  assert.deepEqual(r, {
    family: "ipv4",
    proto: "dccp",
    orig: RICH.orig,
    reply: RICH.reply,
    status: ["SEEN_REPLY", "ASSURED"],
    timeout: 120,
    mark: 0xdeadbeef,
    zone: 7,
    dccp: RICH.dccp,
    labels: [0, 64, 127],
    helper: "ftp",
    seqAdjOrig: RICH.seqAdjOrig,
    synproxy: RICH.synproxy,
  });
  assert.notEqual(r.orig, RICH.orig, "a copy");
  assert.throws(() => restorable({ proto: "tcp" } as never), TypeError);
});

// --- the shape of -o json lines and snapshots ---

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
