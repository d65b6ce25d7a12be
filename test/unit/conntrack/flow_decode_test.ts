// Decoding of ctnetlink messages against the golden capture (test/_helpers/golden.ts): every
// kernel reply is decoded and compared with a Flow written out by hand (test/_helpers/
// golden_flows.ts), checked against what `conntrack -L/-G -o extended,id,labels,ktimestamp`
// printed for the same table at capture time (kept as comments in the fixture); and malformed
// messages, which must be a RangeError.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HOST_LE, NLMSG_DONE, readHeader } from "../../../netlink/message.ts";
import * as C from "../../../conntrack/constants.ts";
import type { Flow } from "../../../conntrack/flow.ts";
import { decodeFlow, FlowDecoder } from "../../../conntrack/flow_decode.ts";
import { concat, golden, mangled, view } from "../../_helpers/golden.ts";
import { CLI_TCP_FLAGS, LIST, listed, V4A, V4B } from "../../_helpers/golden_flows.ts";
import { fromHex } from "../../_helpers/hex.ts";

function decodeGolden(key: string): Flow {
  const b = golden(key);
  return decodeFlow(view(b), 0, b.length);
}

// ---- decoding kernel replies ----------------------------------------------------------------

test("decodeFlow decodes every entry of a real `conntrack -L` dump as conntrack printed it", () => {
  for (let i = 0; i < LIST.length; i++) {
    assert.deepEqual(decodeGolden(`list.reply${i + 1}`), LIST[i], `list.reply${i + 1}`);
  }
  const done = golden(`list.reply${LIST.length + 1}`);
  assert.equal(readHeader(view(done), 0, done.length).type, NLMSG_DONE);
});

test("decodeFlow decodes real `conntrack -G` replies (use=2 while the CLI holds a reference)", () => {
  // -G replies were captured just before the dump, in the same second: same timeouts.
  const cases: [string, number][] = [
    ["get_tcp4", 2944905661],
    ["get_sctp4", 1066285593],
    ["get_icmp4", 1128089454],
    ["get_icmp6", 1360983111],
    ["get_gre4", 311691394],
    ["get_udp4_labels", 1711636562],
    ["get_live_udp4", 717969665],
    ["get_live_udp6", 180028002],
    ["get_live_tcp4", 4292160626],
    ["get_live_icmp4", 1052235032],
    ["get_live_icmp6", 3339541192],
  ];
  for (const [key, id] of cases) {
    assert.deepEqual(decodeGolden(`${key}.reply1`), { ...listed(id), use: 2 }, key);
  }
});

test("one FlowDecoder decodes a whole dump without state leaking between messages", () => {
  const dec = new FlowDecoder();
  // Concatenate the dump into one buffer, as a multi-message datagram would carry it.
  const all = concat(LIST.map((_, i) => golden(`list.reply${i + 1}`)));
  const dv = view(all);
  const got: Flow[] = [];
  for (let off = 0; off < all.length;) {
    const h = readHeader(dv, off, all.length);
    got.push(dec.decode(dv, off, h.len));
    off += h.len;
  }
  assert.deepEqual(got, LIST);
});

test("decoding the CLI's create requests gives back the flows they were built from", () => {
  // The CLI's own bytes (with its stale padding) decode to what nfct would encode for them.
  const f = decodeGolden("create_tcp4.request1");
  assert.deepEqual(f, {
    family: "ipv4",
    proto: "tcp",
    orig: { src: V4A, dst: V4B, sport: 40000, dport: 443 },
    reply: { src: V4B, dst: V4A, sport: 443, dport: 40000 },
    status: ["ASSURED", "CONFIRMED"],
    timeout: 120,
    mark: 5,
    tcp: { state: "ESTABLISHED", flagsOrig: CLI_TCP_FLAGS, flagsReply: CLI_TCP_FLAGS },
  });
  assert.deepEqual(decodeGolden("create_udp4_labels.request1").labels, [1, 66, 127]);
});

// ---- malformed input ----------------------------------------------------------------------------

test("decodeFlow throws RangeError on a message cut inside an attribute", () => {
  const full = golden("list.reply5");
  for (const cut of [21, 22, 23, 30, 60, 100, full.length - 2]) {
    // The message claims `cut` bytes: the last attribute no longer fits.
    const b = full.slice(0, cut);
    view(b).setUint32(0, cut, HOST_LE);
    assert.throws(() => decodeFlow(view(b), 0, cut), RangeError, `cut at ${cut}`);
  }
});

test("decodeFlow throws RangeError on attribute lengths that are too small or too large", () => {
  // list.reply5 (the live TCP flow): CTA_TUPLE_ORIG at offset 20, its CTA_TUPLE_IP at 24.
  const tooLong = mangled("list.reply5", (_b, dv) => dv.setUint16(20, 0x4000, HOST_LE));
  assert.throws(() => decodeFlow(view(tooLong), 0, tooLong.length), RangeError);
  const tooShort = mangled("list.reply5", (_b, dv) => dv.setUint16(20, 3, HOST_LE));
  assert.throws(() => decodeFlow(view(tooShort), 0, tooShort.length), RangeError);
  const nestedTooLong = mangled("list.reply5", (_b, dv) => dv.setUint16(24, 0x40, HOST_LE));
  assert.throws(() => decodeFlow(view(nestedTooLong), 0, nestedTooLong.length), RangeError);
});

test("decodeFlow throws RangeError on payloads of the wrong size", () => {
  // CTA_IP_V4_SRC (offset 28, payload at 32) claiming 3 bytes instead of 4.
  const shortAddr = mangled("list.reply5", (_b, dv) => dv.setUint16(28, 7, HOST_LE));
  assert.throws(
    () => decodeFlow(view(shortAddr), 0, shortAddr.length),
    /CTA_IP_V4_SRC has 3 bytes/,
  );
  // CTA_STATUS (first attribute after the two 52-byte tuples: offset 20 + 52 + 52) as 2 bytes.
  const shortStatus = mangled("list.reply5", (_b, dv) => {
    assert.equal(dv.getUint16(126, HOST_LE), C.CTA_STATUS);
    dv.setUint16(124, 6, HOST_LE);
  });
  assert.throws(() => decodeFlow(view(shortStatus), 0, shortStatus.length), RangeError);
});

test("decodeFlow throws RangeError on a message without nfgenmsg or without tuples", () => {
  const b = golden("list.reply5");
  assert.throws(() => decodeFlow(view(b), 0, 19), RangeError);
  const bare = b.slice(0, 20);
  view(bare).setUint32(0, 20, HOST_LE);
  assert.throws(() => decodeFlow(view(bare), 0, 20), /lacks CTA_TUPLE_ORIG/);
  assert.throws(() => decodeFlow(view(b), 0, b.length + 4), RangeError);
});

test("FlowDecoder rejects a CTA_NAT address that is not 4 or 16 bytes instead of reading past it", () => {
  // Found by scripts/fuzz.ts: CTA_NAT_DST { CTA_NAT_V4_MINIP of 3 bytes } as the last attribute
  // was formatted as IPv6 from 16 bytes, 13 of them after the message.
  const msg = fromHex(
    "9800000000010000ed5e000000000000020000003400018014000180080001000a000001080002000a0000021c00028005000100" +
      "060000000600020003e800000600030007d000003400028014000180080001000a000002080002000a0000011c000280050001" +
      "00060000000600020007d000000600030003e80000080007000000000114000d80070001000a090001080002000a090002",
  );
  const buf = new Uint8Array(msg.length + 32).fill(0xab);
  buf.set(msg);
  assert.throws(
    () => new FlowDecoder().decode(new DataView(buf.buffer), 0, msg.length),
    (e: unknown) => e instanceof RangeError && e.message.includes("CTA_NAT"),
  );
});
