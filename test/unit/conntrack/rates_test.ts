/**
 * RateMeter and rankRates: flow rates from the counter deltas of successive dumps, and the
 * busiest flows by each order. Pure: flows are built here as a dump returns them.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Flow, flowIdentity, rankRates, RateMeter } from "../../../mod.ts";

/** A UDP flow from 10.0.0.N with the given counters (orig + reply split 3:1). */
function udp(n: number, bytes?: number, packets?: number, id = n): Flow {
  const orig = { src: `10.0.0.${n}`, dst: "10.0.1.1", sport: 1000 + n, dport: 53 };
  return {
    family: "ipv4",
    proto: "udp",
    id,
    orig,
    reply: { src: orig.dst, dst: orig.src, sport: orig.dport, dport: orig.sport },
    ...(bytes === undefined ? {} : {
      counters: {
        orig: { bytes: bytes * 3 / 4, packets: packets! * 3 / 4 },
        reply: { bytes: bytes / 4, packets: packets! / 4 },
      },
    }),
  };
}

test("the first sample has every flow at rate 0 and seconds 0", () => {
  const m = new RateMeter();
  const s = m.sample([udp(1, 400, 4), udp(2)], 1000);
  assert.equal(s.seconds, 0);
  assert.deepEqual(s.rates.map((r) => [r.counted, r.bytes, r.packets, r.bytesPerSecond]), [
    [true, 400, 4, 0],
    [false, 0, 0, 0],
  ]);
});

test("rates are the counter growth in both directions over the seconds between samples", () => {
  const m = new RateMeter();
  m.sample([udp(1, 400, 4), udp(2, 800, 8)], 1000);
  const s = m.sample([udp(1, 1400, 12), udp(2, 800, 8)], 1500);
  assert.equal(s.seconds, 0.5);
  assert.deepEqual(s.rates.map((r) => [r.bytesPerSecond, r.packetsPerSecond]), [[2000, 16], [
    0,
    0,
  ]]);
});

test("a flow new since the previous sample counts all its traffic; a zeroed counter counts from 0", () => {
  const m = new RateMeter();
  m.sample([udp(1, 4000, 40)], 0);
  const s = m.sample([udp(1, 100, 4), udp(3, 800, 8)], 2000);
  assert.deepEqual(s.rates.map((r) => [r.flow.orig.src, r.bytesPerSecond, r.packetsPerSecond]), [
    ["10.0.0.1", 50, 2],
    ["10.0.0.3", 400, 4],
  ]);
});

test("a reused id with another tuple is a new flow, and gone flows are forgotten", () => {
  const m = new RateMeter();
  m.sample([udp(1, 4000, 40, 7)], 0);
  const other = udp(2, 100, 4, 7);
  assert.notEqual(flowIdentity(other), flowIdentity(udp(1, 0, 0, 7)));
  assert.equal(m.sample([other], 1000).rates[0].bytesPerSecond, 100);
  assert.equal(m.sample([udp(1, 4000, 40, 7)], 2000).rates[0].bytesPerSecond, 4000);
});

test("a sample earlier than the previous one is a RangeError", () => {
  const m = new RateMeter();
  m.sample([], 10);
  assert.throws(() => m.sample([], 5), RangeError);
});

test("rankRates orders counted flows by each order, breaks ties, and keeps at most limit", () => {
  const m = new RateMeter();
  m.sample([udp(1, 0, 0), udp(2, 0, 0), udp(3, 5000, 5), udp(4, 0, 0)], 0);
  // 1: many small packets; 2: few big ones; 3: big total, idle now; 4: same rate as 2, less total.
  const { rates } = m.sample([
    udp(1, 800, 80),
    udp(2, 3000, 4),
    udp(3, 5000, 5),
    udp(4, 3000, 4),
    udp(5),
  ], 1000);
  const src = (rs: { flow: Flow }[]) => rs.map((r) => r.flow.orig.src.slice(7));
  assert.deepEqual(src(rankRates(rates, "bytesPerSecond")), ["2", "4", "1", "3"]);
  assert.deepEqual(src(rankRates(rates, "packetsPerSecond")), ["1", "2", "4", "3"]);
  assert.deepEqual(src(rankRates(rates, "bytes")), ["3", "2", "4", "1"]);
  assert.deepEqual(src(rankRates(rates, "packets")), ["1", "3", "2", "4"]);
  assert.deepEqual(src(rankRates(rates, "bytesPerSecond", 2)), ["2", "4"]);
  assert.deepEqual(rankRates(rates, "bytes", 0), []);
  assert.throws(() => rankRates(rates, "bps" as never), TypeError);
});
