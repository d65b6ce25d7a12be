/** Connlabel bitmaps (conntrack/labels.ts): bit numbers ↔ the kernel's 16 host-endian bytes. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeLabels, encodeLabels } from "../../../conntrack/labels.ts";
import { HOST_LE } from "../../../netlink/message.ts";

test("encodeLabels sets bit n of 32-bit word n / 32, in host order", () => {
  const b = encodeLabels([0, 1, 33, 127]);
  assert.equal(b.length, 16);
  const dv = new DataView(b.buffer, b.byteOffset);
  assert.equal(dv.getUint32(0, HOST_LE), 0b11);
  assert.equal(dv.getUint32(4, HOST_LE), 0b10);
  assert.equal(dv.getUint32(8, HOST_LE), 0);
  assert.equal(dv.getUint32(12, HOST_LE), 0x80000000);
});

test("decodeLabels gives the set bits in ascending order, from any offset", () => {
  const bits = [127, 5, 64, 31, 32];
  const framed = new Uint8Array(3 + 16);
  framed.set(encodeLabels(bits), 3);
  assert.deepEqual(decodeLabels(framed, 3, 16), [5, 31, 32, 64, 127]);
  assert.deepEqual(decodeLabels(new Uint8Array(16), 0, 16), []);
});

test("encodeLabels refuses bits outside 0..127 and fractions with RangeError", () => {
  for (const bit of [-1, 128, 1.5, NaN]) {
    assert.throws(() => encodeLabels([bit]), RangeError, String(bit));
  }
});
