/**
 * LineText, the bytes lines are written into: numbers as String() writes them, UTF-8 strings,
 * IPv4 bytes as formatIPv4 writes them, and growth past its first size; StringText, the same
 * as a string.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatIPv4 } from "../../../../conntrack/address.ts";
import { LineText, StringText, textOf, type TextOut } from "../../../../conntrack/format/text.ts";
import { Rng } from "../../../_helpers/rng.ts";

const utf8 = new TextDecoder();
const written = (write: (out: LineText) => void, size?: number) => {
  const out = new LineText(size);
  write(out);
  return utf8.decode(out.bytes.subarray(0, out.length));
};

test("num() writes what String() writes, integers in range or not", () => {
  const values: (number | bigint)[] = [
    0,
    1,
    9,
    10,
    99,
    100,
    65535,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32 - 1,
    2 ** 53 - 1,
    1.5,
    -1,
    -0,
    NaN,
    Infinity,
    1e21,
    0n,
    18446744073709551615n,
  ];
  const r = new Rng(7);
  for (let i = 0; i < 2000; i++) values.push(Math.floor((r.u32() / 2 ** 32) * 2 ** (1 + (i % 40))));
  for (const v of values) assert.equal(written((o) => o.num(v), 1), String(v), String(v));
});

test("str() writes UTF-8, an ASCII head then any other text, and grows the buffer", () => {
  for (
    const s of ["", "udp      17", "secctx=système_u:object_r", "ключ", "😀 x", "a".repeat(5000)]
  ) {
    assert.equal(written((o) => o.str(s), 4), s);
    assert.equal(written((o) => (o.str("head "), o.str(s), o.byte(10)), 2), `head ${s}\n`);
  }
});

test("ipv4() writes the dotted quad formatIPv4 writes, at any offset", () => {
  const r = new Rng(11);
  const b = new Uint8Array(64).map(() => r.int(256));
  b.set([0, 0, 0, 0, 255, 255, 255, 255, 10, 0, 100, 9], 0);
  for (let off = 0; off + 4 <= b.length; off++) {
    assert.equal(written((o) => o.ipv4(b, off), 3), formatIPv4(b, off));
  }
  for (let v = 0; v < 256; v++) { // every octet value in every position
    const q = new Uint8Array([v, 255 - v, (v * 7) & 255, v >> 1]);
    assert.equal(written((o) => o.ipv4(q, 0), 3), `${q[0]}.${q[1]}.${q[2]}.${q[3]}`);
  }
});

test("StringText writes what LineText writes, as a string", () => {
  const r = new Rng(3);
  for (let i = 0; i < 500; i++) {
    const b = new Uint8Array(4).map(() => r.int(256));
    const v = r.chance(0.1) ? BigInt(r.u32()) * 2n ** 32n : r.int(2 ** (1 + (i % 33)));
    const write = (o: TextOut) => (o.str(" x=ü"), o.num(v), o.ipv4(b, 0));
    const st = new StringText();
    write(st);
    assert.equal(st.s, written(write));
  }
});

test("textOf() gives what the writer wrote as a string, from a fresh start each time", () => {
  const w = (o: TextOut, a: string, n: number) => (o.str(a), o.num(n));
  assert.equal(textOf(w, "x=", 42), "x=42");
  assert.equal(textOf(w, "é=", 7), "é=7");
});
