import { test } from "node:test";
import assert from "node:assert/strict";
import {
  formatAddress,
  formatIPv4,
  formatIPv6,
  parseAddress,
  parsePrefix,
  prefixContains,
} from "../../../conntrack/address.ts";
import { Rng } from "../../_helpers/rng.ts";

// Expected strings are what glibc's inet_ntop prints (checked with python3's socket.inet_ntop).
const V6_CASES: [string, string][] = [
  ["0:0:0:0:0:0:0:0", "::"],
  ["0:0:0:0:0:0:0:1", "::1"],
  ["fd00:0:0:0:0:0:0:2", "fd00::2"],
  ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
  ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
  ["0:0:0:0:0:ffff:102:304", "::ffff:1.2.3.4"],
  ["0:0:0:0:0:0:102:304", "::1.2.3.4"],
  ["1:0:0:0:0:0:0:0", "1::"],
  ["fe80:0:0:0:1:2:3:4", "fe80::1:2:3:4"],
  ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
];

test("formatIPv6 prints what inet_ntop prints", () => {
  for (const [input, want] of V6_CASES) assert.equal(formatIPv6(parseAddress(input)), want, input);
});

test("formatIPv6 gives the same text however often and in whatever order addresses come", () => {
  const cases = V6_CASES.map(([input, want]) => [parseAddress(input), want] as const);
  const buf = new Uint8Array(40);
  for (let round = 0; round < 3000; round++) {
    const [bytes, want] = cases[Math.floor(Math.random() * cases.length)];
    const o = Math.floor(Math.random() * 25);
    buf.fill(round & 255);
    buf.set(bytes, o);
    assert.equal(formatIPv6(buf, o), want);
  }
});

test("formatIPv4 gives the dotted quad of any 4 bytes, however often and in whatever order", () => {
  const rand = (n: number) => Math.floor(Math.random() * n);
  const b = new Uint8Array(64);
  const text = (o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  for (let round = 0; round < 5000; round++) {
    // Few distinct values, many repeats and collisions in its memory of recent texts.
    for (let i = 0; i < b.length; i++) b[i] = rand(4) === 0 ? rand(256) : [0, 1, 9, 255][rand(4)];
    const o = rand(61);
    assert.equal(formatIPv4(b, o), text(o));
  }
  assert.equal(formatIPv4(new Uint8Array([0, 0, 0, 0])), "0.0.0.0");
  assert.equal(formatIPv4(new Uint8Array([255, 255, 255, 255])), "255.255.255.255");
  assert.equal(formatIPv4(new Uint8Array([128, 0, 0, 1])), "128.0.0.1"); // int32 sign bit
  // Bytes beyond the array are not an address: not remembered, so later calls stay right.
  assert.equal(formatIPv4(new Uint8Array([1, 2]), 0), "1.2.undefined.undefined");
  assert.equal(formatIPv4(new Uint8Array([0, 0, 0, 0])), "0.0.0.0");
});

test("parseAddress rejects bad input with TypeError naming the value", () => {
  for (
    const bad of [
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4",
      "::1::2",
      "g::1",
      "",
      "1.2.3.4/8",
      "1:2:3:4:5:6:7:8:9",
    ]
  ) {
    assert.throws(
      () => parseAddress(bad),
      (e: unknown) => e instanceof TypeError && String(e).includes(`"${bad}"`),
      bad,
    );
  }
  assert.throws(() => parseAddress("::1", "ipv4"), TypeError);
});

test("parsePrefix and prefixContains implement CIDR", () => {
  const p = parsePrefix("10.88.0.0/16");
  assert.equal(p.bits, 16);
  assert.ok(prefixContains(p, parseAddress("10.88.7.1")));
  assert.ok(!prefixContains(p, parseAddress("10.89.0.1")));
  assert.ok(!prefixContains(p, parseAddress("::1")));
  assert.ok(prefixContains(parsePrefix("fd00::/8"), parseAddress("fdff::1")));
  assert.ok(prefixContains(parsePrefix("1.2.3.4/31"), parseAddress("1.2.3.5")));
  assert.throws(() => parsePrefix("10.0.0.0/33"), RangeError);
});

test("an offset that is no index (fractional, NaN) is never remembered: later texts stay right", () => {
  const b = new Uint8Array(48);
  b.set([10, 0, 0, 8], 0); // 10.0.0.8 and 0.0.0.0 share a slot of formatIPv4's memory
  const v6 = parseAddress("fd00::10"); // its slot is that of "::"
  b.set(v6, 32);
  for (const off of [0.5, 1.25, NaN, 1e-9]) {
    assert.equal(formatIPv4(b, 0), "10.0.0.8");
    assert.equal(formatAddress(b, off, 4), "undefined.undefined.undefined.undefined", `${off}`);
    assert.equal(formatIPv4(b, 4), "0.0.0.0", `after offset ${off}`);
    assert.equal(formatIPv6(b, 32), "fd00::10");
    formatAddress(b, off, 16);
    assert.equal(formatIPv6(b, 4), "::", `after offset ${off}`);
    assert.equal(formatIPv6(b, 32), "fd00::10", `after offset ${off}`);
  }
});

test("formatIPv6 of addresses that share a slot of its memory, mapped and compatible ones among them, reads back as the same bytes", () => {
  const r = new Rng(6);
  const pool: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const a = new Uint8Array(16);
    const kind = r.int(4);
    if (kind === 0) a.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 0); // ::ffff:a.b.c.d
    else if (kind === 1) a.set([0x20, 0x01, 0x0d, 0xb8], 0);
    else if (kind === 2) { for (let k = 0; k < 16; k++) a[k] = r.chance(0.5) ? 0 : r.int(256); }
    for (let k = 12; k < 15; k++) a[k] = r.pick([0, 1, 128, 255]);
    a[15] = 8 * r.int(32) + 5; // all in the same slot (the low 3 bits of the last byte)
    pool.push(a);
  }
  const first = new Map<Uint8Array, string>();
  const buf = new Uint8Array(64);
  for (let round = 0; round < 4000; round++) {
    const a = r.pick(pool), off = r.int(49);
    buf.set(a, off);
    const s = formatIPv6(buf, off);
    assert.deepEqual(parseAddress(s, "ipv6"), a, s);
    if (!first.has(a)) first.set(a, s);
    assert.equal(s, first.get(a));
    if (a[10] === 0xff && a.subarray(0, 10).every((x) => x === 0)) {
      assert.equal(s, `::ffff:${formatIPv4(a, 12)}`, "mapped: the IPv4 part in dotted quad");
    }
  }
});
