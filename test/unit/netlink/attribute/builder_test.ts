/**
 * {@link MessageBuilder} and {@link AttributeReader}: golden bytes both ways, and the length
 * checks that keep a long payload from being read by the kernel as further attributes.
 *
 * The golden rows are written by hand from the layout in netlink/attribute.ts (`nla_len` and
 * `nla_type` host-endian, payload big-endian, padded to 4 bytes); the same attributes appear in
 * the kernel captures of test/fixtures (e.g. `08 00 08 00 <mark>` is `CTA_MARK`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AttributeReader,
  MessageBuilder,
  NLA_F_NESTED,
  NLA_MAX_LEN,
  NLA_MAX_PAYLOAD,
} from "../../../../netlink/attribute.ts";
import { HOST_LE, NLMSG_HDRLEN } from "../../../../netlink/message.ts";
import { toHex } from "../../../_helpers/hex.ts";

/** `nla_len`/`nla_type` as the host writes them (little- or big-endian). */
function u16h(v: number): number[] {
  return HOST_LE ? [v & 0xff, v >> 8] : [v >> 8, v & 0xff];
}

interface Row {
  name: string;
  write: (b: MessageBuilder) => void;
  bytes: number[];
  read: (r: AttributeReader) => unknown;
  value: unknown;
}

const ROWS: Row[] = [
  {
    name: "u8 (CTA_PROTO_NUM = 17): 5-byte attribute padded to 8",
    write: (b) => b.u8(1, 17),
    bytes: [...u16h(5), ...u16h(1), /* payload */ 17, /* pad */ 0, 0, 0],
    read: (r) => r.u8(),
    value: 17,
  },
  {
    name: "u16 big-endian (CTA_PROTO_DST_PORT = 53)",
    write: (b) => b.u16(3, 53),
    bytes: [...u16h(6), ...u16h(3), 0x00, 0x35, /* pad */ 0, 0],
    read: (r) => r.u16(),
    value: 53,
  },
  {
    name: "u32 big-endian (CTA_MARK = 0x01020304)",
    write: (b) => b.u32(8, 0x01020304),
    bytes: [...u16h(8), ...u16h(8), 0x01, 0x02, 0x03, 0x04],
    read: (r) => r.u32(),
    value: 0x01020304,
  },
  {
    name: "u32 from a negative int32 (~0) is its two's complement",
    write: (b) => b.u32(21, ~0),
    bytes: [...u16h(8), ...u16h(21), 0xff, 0xff, 0xff, 0xff],
    read: (r) => r.u32(),
    value: 0xffffffff,
  },
  {
    name: "u64 big-endian (CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ)",
    write: (b) => b.u64(3, 0x0102030405060708n),
    bytes: [...u16h(12), ...u16h(3), 1, 2, 3, 4, 5, 6, 7, 8],
    read: (r) => r.u64(),
    value: 0x0102030405060708n,
  },
  {
    name: "NUL-terminated string (CTA_HELP_NAME = ftp)",
    write: (b) => b.string(1, "ftp"),
    bytes: [...u16h(8), ...u16h(1), 0x66, 0x74, 0x70, 0x00],
    read: (r) => r.string(),
    value: "ftp",
  },
  {
    name: "raw bytes (CTA_PROTOINFO_TCP_FLAGS_ORIGINAL { flags, mask })",
    write: (b) => b.data(4, new Uint8Array([0x0a, 0xff])),
    bytes: [...u16h(6), ...u16h(4), 0x0a, 0xff, /* pad */ 0, 0],
    read: (r) => Array.from(r.bytes()),
    value: [0x0a, 0xff],
  },
  {
    name: "nest (CTA_TUPLE_PROTO { CTA_PROTO_NUM 6 }) with NLA_F_NESTED",
    write: (b) => {
      const n = b.nest(2);
      b.u8(1, 6);
      b.endNest(n);
    },
    bytes: [...u16h(12), ...u16h(2 | NLA_F_NESTED), ...u16h(5), ...u16h(1), 6, 0, 0, 0],
    read: (r) => {
      const inner = new AttributeReader().enter(r, "nest");
      assert.equal(r.nestedFlag, true);
      assert.equal(inner.next(), true);
      return [inner.type, inner.u8(), inner.next()];
    },
    value: [1, 6, false],
  },
];

for (const row of ROWS) {
  test(`MessageBuilder writes and AttributeReader reads back: ${row.name}`, () => {
    const b = new MessageBuilder(16);
    row.write(b);
    assert.equal(toHex(b.bytes(), " "), toHex(row.bytes, " "));
    const bytes = new Uint8Array(row.bytes);
    const r = new AttributeReader().reset(new DataView(bytes.buffer), 0, bytes.length, "golden");
    assert.equal(r.next(), true);
    assert.deepEqual(row.read(r), row.value);
    assert.equal(r.next(), false);
  });
}

test("MessageBuilder frames a message: nlmsg_len covers header, body and padding", () => {
  const b = new MessageBuilder(8); // grows
  const at = b.begin(0x0101, 0x0005, 7, 0x1234);
  b.raw([2, 0, 0, 0]); // nfgenmsg
  b.u8(1, 1);
  b.end(at);
  const dv = new DataView(b.buf.buffer);
  assert.equal(b.length, NLMSG_HDRLEN + 4 + 8);
  assert.equal(dv.getUint32(0, HOST_LE), b.length);
  assert.equal(dv.getUint16(4, HOST_LE), 0x0101);
  assert.equal(dv.getUint16(6, HOST_LE), 0x0005);
  assert.equal(dv.getUint32(8, HOST_LE), 7);
  assert.equal(dv.getUint32(12, HOST_LE), 0x1234);
});

test("an attribute payload of exactly 65531 bytes is written with nla_len 65535", () => {
  const b = new MessageBuilder();
  b.data(9, new Uint8Array(NLA_MAX_PAYLOAD).fill(7));
  assert.equal(b.length, NLA_MAX_LEN + 1); // 65535 padded to 65536
  assert.equal(new DataView(b.buf.buffer).getUint16(0, HOST_LE), NLA_MAX_LEN);
  const r = new AttributeReader().reset(new DataView(b.buf.buffer), 0, b.length);
  assert.equal(r.next(), true);
  assert.equal(r.len, NLA_MAX_PAYLOAD);
  assert.equal(r.next(), false);
});

test("a payload one byte over 65531 is refused before anything is written", () => {
  const b = new MessageBuilder();
  assert.throws(() => b.data(9, new Uint8Array(NLA_MAX_PAYLOAD + 1)), {
    name: "RangeError",
    message: "Cannot encode attribute 9: payload of 65532 bytes exceeds 65531",
  });
  assert.equal(b.length, 0);
  // dataFrom and string (65531 characters + NUL) take the same path.
  assert.throws(() => b.dataFrom(9, new Uint8Array(70000), 70000), RangeError);
  assert.throws(
    () => b.string(1, "x".repeat(NLA_MAX_PAYLOAD)),
    /payload of 65532 bytes exceeds 65531/,
  );
  b.string(1, "x".repeat(NLA_MAX_PAYLOAD - 1)); // 65530 + NUL fits
  assert.equal(new DataView(b.buf.buffer).getUint16(0, HOST_LE), NLA_MAX_LEN);
});

test("the injection of issue 10 cannot be built: its 16-bit length would wrap", () => {
  // A helper name of 65,536+ bytes: with an unchecked u16 its nla_len wraps to a few bytes and
  // the rest of the "string" is read by the kernel as attributes (here a CTA_MARK).
  const helper = "\0\0\0\0" + "\x08\x00\x08\x00\x01\x02\x03\x04" + "\x04\x00\x7f\x00".repeat(16381);
  const b = new MessageBuilder();
  const at = b.begin(0x0100, 0x0005, 1);
  b.raw([2, 0, 0, 0]);
  const help = b.nest(5);
  assert.throws(() => b.string(1, helper), RangeError);
  assert.equal(b.length, 0, "the half-built message is dropped");
  assert.ok(at === 0 && help === NLMSG_HDRLEN + 4);
});

test("a nest that grows past 65535 bytes is refused and its message dropped", () => {
  const b = new MessageBuilder();
  const first = b.begin(1, 0, 1);
  b.u32(1, 1);
  b.end(first);
  const kept = b.length;
  const at = b.begin(1, 0, 2);
  const n = b.nest(4);
  b.data(1, new Uint8Array(40000));
  b.data(2, new Uint8Array(40000));
  assert.throws(() => b.endNest(n), {
    name: "RangeError",
    message: "Cannot encode nested attribute 4: 80012 bytes exceed 65535",
  });
  assert.equal(b.length, kept, "only the completed message is left");
  assert.ok(at === kept);
  // The builder goes on from there.
  const m = b.begin(1, 0, 3);
  b.u8(1, 1);
  b.end(m);
  assert.equal(b.length, kept + NLMSG_HDRLEN + 8);
});

test("integers outside their attribute's width are refused, not wrapped", () => {
  const cases: [string, (b: MessageBuilder) => void][] = [
    ["u8 256", (b) => b.u8(1, 256)],
    ["u8 -1", (b) => b.u8(1, -1)],
    ["u8 1.5", (b) => b.u8(1, 1.5)],
    ["u8 NaN", (b) => b.u8(1, NaN)],
    ["u16 65536", (b) => b.u16(1, 65536)],
    ["u16 -1", (b) => b.u16(1, -1)],
    ["u32 2^32", (b) => b.u32(1, 2 ** 32)],
    ["u32 -2^31-1", (b) => b.u32(1, -(2 ** 31) - 1)],
    ["u32 Infinity", (b) => b.u32(1, Infinity)],
    ["u32host 2^33", (b) => b.u32host(1, 2 ** 33)],
    ["u64 -1n", (b) => b.u64(1, -1n)],
    ["u64 2^64", (b) => b.u64(1, 2n ** 64n)],
    ["u64 2^53 as a number", (b) => b.u64(1, 2 ** 53)],
    ["type 65536", (b) => b.u8(65536, 0)],
    ["type -1", (b) => b.u8(-1, 0)],
    ["string with a NUL", (b) => b.string(1, "ft\0p")],
  ];
  for (const [name, write] of cases) {
    const b = new MessageBuilder();
    const at = b.begin(1, 0, 1);
    assert.throws(() => write(b), RangeError, name);
    assert.equal(b.length, 0, `${name}: message dropped`);
    assert.equal(at, 0);
  }
});

test("an error outside any message rolls the builder back to empty", () => {
  const b = new MessageBuilder();
  b.u8(1, 1);
  assert.throws(() => b.u16(2, 1 << 16), RangeError);
  assert.equal(b.length, 0);
  assert.equal(b.bytes().length, 0);
});
