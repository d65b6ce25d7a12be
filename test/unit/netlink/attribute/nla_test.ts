/**
 * The attribute layout and the walker's step (netlink/attribute/nla.ts): the constants equal
 * linux/netlink.h's, `nlaLength` gives a length only when the attribute fits (never one that
 * would loop or overrun), `nlaType` masks the flags off, and the payload readers read big-endian
 * at exactly their width. (The cursor built on the step: reader_test.ts.)
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  NLA_ALIGN,
  NLA_ALIGNTO,
  NLA_F_NESTED,
  NLA_F_NET_BYTEORDER,
  NLA_HDRLEN,
  NLA_TYPE_MASK,
  nlaLength,
  nlaType,
  payloadU16,
  payloadU32,
  payloadU64n,
  payloadU8,
} from "../../../../netlink/attribute/nla.ts";
import { attr } from "../../../_helpers/nla.ts";

test("the netlink attribute constants equal linux/netlink.h's", () => {
  // #define NLA_F_NESTED (1 << 15), NLA_F_NET_BYTEORDER (1 << 14),
  // NLA_TYPE_MASK ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER), NLA_ALIGNTO 4,
  // NLA_HDRLEN ((int) NLA_ALIGN(sizeof(struct nlattr))) with a 4-byte struct nlattr.
  assert.equal(NLA_F_NESTED, 0x8000);
  assert.equal(NLA_F_NET_BYTEORDER, 0x4000);
  assert.equal(NLA_TYPE_MASK, 0x3fff, "as a 16-bit nla_type");
  assert.equal(NLA_ALIGNTO, 4);
  assert.equal(NLA_HDRLEN, 4);
  for (
    const [len, aligned] of [[0, 0], [1, 4], [3, 4], [4, 4], [5, 8], [65531, 65532], [65535, 65536]]
  ) {
    assert.equal(NLA_ALIGN(len), aligned, `NLA_ALIGN(${len})`);
  }
});

test("nlaLength is nla_len when the attribute fits before the end, else 0 (never a length that would loop or overrun)", () => {
  const dv = (bytes: number[]) => new DataView(new Uint8Array(bytes).buffer);
  const one = attr(1, [1, 2, 3, 4]); // nla_len 8
  assert.equal(nlaLength(dv(one), 0, 8), 8);
  assert.equal(nlaLength(dv([...one, ...one]), 8, 16), 8, "at an offset");
  assert.equal(nlaLength(dv(attr(1, [7])), 0, 5), 5, "unpadded last attribute");
  for (const end of [0, 1, 2, 3]) assert.equal(nlaLength(dv(one), 0, end), 0, `${end} bytes left`);
  assert.equal(nlaLength(dv(one), 0, 7), 0, "one byte short of its payload");
  for (const len of [0, 1, 2, 3, 9, 0xffff]) {
    assert.equal(nlaLength(dv(attr(1, [1, 2, 3, 4], len)), 0, 8), 0, `nla_len ${len}`);
  }
});

test("nlaType masks NLA_F_NESTED and NLA_F_NET_BYTEORDER off", () => {
  const b = new Uint8Array([
    ...attr(0x3fff | NLA_F_NESTED | NLA_F_NET_BYTEORDER, []),
    ...attr(5 | NLA_F_NESTED, []),
    ...attr(6, []),
  ]);
  const dv = new DataView(b.buffer);
  assert.deepEqual([nlaType(dv, 0), nlaType(dv, 4), nlaType(dv, 8)], [0x3fff, 5, 6]);
});

test("payload readers give the big-endian value at exactly their width, else -1", () => {
  const dv = new DataView(
    new Uint8Array([0xff, 0xfe, 0xdc, 0xba, 0x00, 0x1f, 0xff, 0xff, 0xff]).buffer,
  );
  const readers: [(dv: DataView, pos: number, len: number) => number, number, number][] = [
    [payloadU8, 1, 0xff],
    [payloadU16, 2, 0xfffe],
    [payloadU32, 4, 0xfffedcba],
    [payloadU64n, 8, 0xfffedcba001fffff],
  ];
  for (const [read, width, value] of readers) {
    for (let len = 0; len <= 9; len++) {
      assert.equal(read(dv, 0, len), len === width ? value : -1, `${read.name} of ${len} bytes`);
    }
  }
});
