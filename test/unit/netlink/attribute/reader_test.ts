/**
 * {@link AttributeReader} on hostile bytes: every length is checked (trailing bytes, `nla_len`
 * below the header or past the region, typed getters on payloads of the wrong size), the flag
 * bits are masked off the type, and it walks exactly as the step it is built on (nla_test.ts)
 * does. (Writing and reading back well-formed attributes: builder_test.ts.)
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AttributeReader } from "../../../../netlink/attribute/reader.ts";
import { MessageBuilder } from "../../../../netlink/attribute/builder.ts";
import {
  NLA_ALIGN,
  NLA_F_NESTED,
  NLA_F_NET_BYTEORDER,
  NLA_HDRLEN,
  nlaLength,
  nlaType,
} from "../../../../netlink/attribute/nla.ts";
import { attr } from "../../../_helpers/nla.ts";
import { Rng } from "../../../_helpers/rng.ts";

/** A reader over `bytes`, walking all of them. */
function reader(bytes: number[]): AttributeReader {
  const b = new Uint8Array(bytes);
  return new AttributeReader().reset(new DataView(b.buffer), 0, b.length, "test attributes");
}

/** Every (type, payload) the reader finds, or the RangeError message it throws. */
function walk(bytes: number[]): [number, number[]][] | string {
  const r = reader(bytes);
  const out: [number, number[]][] = [];
  try {
    while (r.next()) out.push([r.type, [...r.bytes()]]);
  } catch (e) {
    assert.ok(e instanceof RangeError, `threw ${String(e)}`);
    return e.message;
  }
  return out;
}

test("the type has NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off; the nested flag is kept apart", () => {
  const r = reader([
    ...attr(5 | NLA_F_NESTED, [1, 2, 3, 4]),
    ...attr(6 | NLA_F_NET_BYTEORDER, [0, 53]),
    ...attr(0x3fff | NLA_F_NESTED | NLA_F_NET_BYTEORDER, []),
  ]);
  assert.ok(r.next());
  assert.deepEqual([r.type, r.nestedFlag, r.len], [5, true, 4]);
  assert.ok(r.next());
  assert.deepEqual([r.type, r.nestedFlag, r.u16()], [6, false, 53]);
  assert.ok(r.next());
  assert.deepEqual([r.type, r.nestedFlag, r.len], [0x3fff, true, 0]);
  assert.equal(r.next(), false);
  assert.equal(r.next(), false, "stays at the end");
});

test("a last attribute without its padding is read, and the walk ends there", () => {
  // The kernel pads every attribute, but the end of a message may cut the padding off.
  const bytes = [...attr(1, [7]).slice(0, 5)];
  assert.deepEqual(walk(bytes), [[1, [7]]]);
});

test("trailing bytes too short for an attribute header are a RangeError naming the count", () => {
  for (const extra of [1, 2, 3]) {
    const msg = walk([...attr(1, [1, 2, 3, 4]), ...new Array(extra).fill(0)]);
    assert.equal(typeof msg, "string", `${extra} trailing bytes`);
    assert.match(
      msg as string,
      new RegExp(`Cannot read test attributes: ${extra} trailing bytes are too short`),
    );
  }
});

test("nla_len below the header or past the region is a RangeError naming the offset", () => {
  for (const len of [0, 1, 2, 3]) {
    assert.match(
      walk(attr(1, [1, 2, 3, 4], len)) as string,
      /attribute length \d+ at offset 0 does not fit/,
    );
  }
  assert.match(
    walk(attr(1, [1, 2, 3, 4], 9)) as string,
    /attribute length 9 at offset 0 does not fit \(8 bytes left\)/,
  );
  assert.match(walk(attr(1, [1, 2, 3, 4], 0xffff)) as string, /attribute length 65535/);
  // The second of two: its offset is named.
  assert.match(
    walk([...attr(1, [1]), ...attr(2, [1, 2], 200)]) as string,
    /at offset 8 does not fit/,
  );
});

test("a nested walk stays inside its parent's payload", () => {
  // CTA_TUPLE_ORIG { CTA_TUPLE_IP { src } } followed by CTA_STATUS: the inner walk must not
  // run into CTA_STATUS, and an inner length past the parent is refused even if the buffer
  // has the bytes.
  const inner = attr(1, [10, 0, 0, 1]);
  const good = [...attr(1 | NLA_F_NESTED, inner), ...attr(3, [0, 0, 0, 8])];
  const outer = reader(good);
  assert.ok(outer.next());
  const r = new AttributeReader().enter(outer, "tuple");
  assert.ok(r.next());
  assert.deepEqual([r.type, [...r.bytes()]], [1, [10, 0, 0, 1]]);
  assert.equal(r.next(), false);
  assert.ok(outer.next());
  assert.equal(outer.u32(), 8);

  const bad = [...attr(1 | NLA_F_NESTED, attr(1, [10, 0, 0, 1], 12)), ...attr(3, [0, 0, 0, 8])];
  const o2 = reader(bad);
  assert.ok(o2.next());
  const r2 = new AttributeReader().enter(o2, "tuple");
  assert.throws(
    () => r2.next(),
    /Cannot read tuple: attribute length 12 at offset 4 does not fit \(8 bytes left\)/,
  );
});

test("typed getters refuse a payload of any other size than theirs", () => {
  const getters: [string, number, (r: AttributeReader) => unknown][] = [
    ["u8", 1, (r) => r.u8()],
    ["u16", 2, (r) => r.u16()],
    ["u32", 4, (r) => r.u32()],
    ["u64", 8, (r) => r.u64()],
    ["u64", 8, (r) => r.u64n()],
  ];
  for (const [kind, size, get] of getters) {
    for (let n = 0; n <= 9; n++) {
      const r = reader(attr(7, new Array(n).fill(0xab)));
      assert.ok(r.next());
      if (n === size) {
        get(r);
        continue;
      }
      assert.throws(() => get(r), (e: unknown) => {
        assert.ok(e instanceof RangeError);
        assert.equal(
          (e as Error).message,
          `Cannot read test attributes: attribute 7 should hold ${kind} (${size} bytes), has ${n}`,
        );
        return true;
      }, `${kind} on ${n} bytes`);
    }
  }
});

test("integers are read big-endian at their full width", () => {
  const r = reader([
    ...attr(1, [0xff]),
    ...attr(2, [0xfe, 0xdc]),
    ...attr(3, [0xff, 0xff, 0xff, 0xfe]),
    ...attr(4, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd]),
    ...attr(5, [0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
  ]);
  const got: unknown[] = [];
  while (r.next()) {
    const read: (() => unknown)[] = [
      () => r.u8(),
      () => r.u16(),
      () => r.u32(),
      () => r.u64(),
      () => r.u64n(),
    ];
    got.push(read[r.type - 1]());
  }
  assert.deepEqual(got, [0xff, 0xfedc, 0xfffffffe, 0xfffffffffffffffdn, Number.MAX_SAFE_INTEGER]);
});

test("string() stops at the first NUL, reads an unterminated payload whole, and bytes() is a copy", () => {
  const r = reader([
    ...attr(1, [0x66, 0x74, 0x70, 0, 0x78]),
    ...attr(2, [0x61, 0x62]),
    ...attr(3, [0]),
  ]);
  assert.ok(r.next());
  assert.equal(r.string(), "ftp");
  const copy = r.bytes();
  copy[0] = 0;
  assert.equal(r.string(), "ftp", "writing to bytes() left the message alone");
  assert.ok(r.next());
  assert.equal(r.string(), "ab");
  assert.ok(r.next());
  assert.equal(r.string(), "");
});

test("reset() refuses a region outside the buffer, and works on a DataView with an offset", () => {
  const b = new Uint8Array(16);
  assert.throws(
    () => new AttributeReader().reset(new DataView(b.buffer), 0, 17),
    /region 0\.\.17 is outside the 16-byte buffer/,
  );
  assert.throws(() => new AttributeReader().reset(new DataView(b.buffer), 9, 8), RangeError);
  const big = new Uint8Array([0xee, 0xee, ...attr(9, [1, 2, 3, 4])]);
  const dv = new DataView(big.buffer, 2);
  const r = new AttributeReader().reset(dv, 0, dv.byteLength);
  assert.ok(r.next());
  assert.deepEqual([r.type, r.u32(), [...r.bytes()]], [9, 0x01020304, [1, 2, 3, 4]]);
});

test("whatever the bytes, a walk ends with attributes inside the region or a RangeError", () => {
  const rng = new Rng(0xa77);
  const b = new MessageBuilder();
  const at = b.begin(0x100, 0, 0);
  b.u32(1, 7);
  const n = b.nest(2);
  b.u16(1, 53);
  b.string(2, "ftp");
  b.endNest(n);
  b.u64(3, 1n);
  b.end(at);
  const good = b.bytes().slice(16);
  for (let i = 0; i < 10000; i++) {
    const m = good.slice(0, rng.int(good.length + 1));
    for (let k = rng.int(4); k >= 0; k--) if (m.length) m[rng.int(m.length)] = rng.int(256);
    const dv = new DataView(m.buffer);
    const stack = [new AttributeReader().reset(dv, 0, m.length)];
    try {
      while (stack.length) {
        const r = stack[stack.length - 1];
        if (!r.next()) {
          stack.pop();
          continue;
        }
        assert.ok(
          r.pos >= 4 && r.pos + r.len <= m.length,
          `attribute at ${r.pos}+${r.len} in ${m.length}`,
        );
        if (r.nestedFlag && stack.length < 8) stack.push(new AttributeReader().enter(r, "nest"));
      }
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }
});

test("reset() refuses a negative or NaN start", () => {
  const dv = new DataView(new ArrayBuffer(8));
  for (const start of [-4, -1, NaN]) {
    assert.throws(() => new AttributeReader().reset(dv, start, 4), RangeError, String(start));
  }
});

test("AttributeReader walks exactly as the step does: same attributes, and a RangeError where nlaLength gives 0", () => {
  const rng = new Rng(0x5732);
  for (let i = 0; i < 3000; i++) {
    const bytes: number[] = [];
    for (let n = rng.int(5); n >= 0; n--) {
      const payload = new Array(rng.int(9)).fill(rng.int(256));
      const len = rng.chance(0.15)
        ? rng.pick([0, 2, 3, 4 + payload.length + 4, 0xffff])
        : undefined;
      bytes.push(...attr(rng.u32() & 0xffff, payload, len));
    }
    const end = rng.chance(0.7) ? bytes.length : rng.int(bytes.length + 1);
    const dv = new DataView(new Uint8Array(bytes).buffer);
    const stepped: number[][] = [];
    let stepEnds = "end";
    for (let p = 0, len = 0; p < end; p += NLA_ALIGN(len)) {
      len = nlaLength(dv, p, end);
      if (len === 0) {
        stepEnds = "misfit";
        break;
      }
      stepped.push([p + NLA_HDRLEN, nlaType(dv, p), len - NLA_HDRLEN]);
    }
    const walked: number[][] = [];
    let walkEnds = "end";
    const r = new AttributeReader().reset(dv, 0, end);
    try {
      while (r.next()) walked.push([r.pos, r.type, r.len]);
    } catch (e) {
      assert.ok(e instanceof RangeError);
      walkEnds = "misfit";
    }
    assert.deepEqual([walked, walkEnds], [stepped, stepEnds], `bytes ${bytes} end ${end}`);
  }
});
