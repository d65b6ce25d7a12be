/**
 * The cttimeout codec against bytes captured from Debian's nfct(8) 1.4.7 (strace -xx of
 * `nfct add timeout t1 inet udp unreplied 10 replied 20`), and validation.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeTimeoutPolicy,
  encodeTimeoutPolicy,
  MessageBuilder,
  TIMEOUT_STATES,
  type TimeoutPolicy,
  validateTimeoutPolicy,
} from "../../../mod.ts";

// The attributes after nlmsghdr + nfgenmsg, as nfct(8) sent them.
const NFCT_ADD_UDP = [
  [0x07, 0x00, 0x01, 0x00, 0x74, 0x31, 0x00, 0x00], // CTA_TIMEOUT_NAME "t1\0" + pad
  [0x06, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00], // CTA_TIMEOUT_L3PROTO be16 AF_INET + pad
  [0x05, 0x00, 0x03, 0x00, 0x11, 0x00, 0x00, 0x00], // CTA_TIMEOUT_L4PROTO u8 17 + pad
  [0x14, 0x00, 0x04, 0x80], //                         CTA_TIMEOUT_DATA, NLA_F_NESTED
  [0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x0a], //   CTA_TIMEOUT_UDP_UNREPLIED be32 10
  [0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x14], //   CTA_TIMEOUT_UDP_REPLIED be32 20
].flat();

const policy: TimeoutPolicy = {
  name: "t1",
  family: "ipv4",
  proto: "udp",
  timeouts: { unreplied: 10, replied: 20 },
};

test("encodeTimeoutPolicy writes the attributes nfct(8) sends", () => {
  const b = new MessageBuilder();
  encodeTimeoutPolicy(b, policy);
  assert.deepEqual([...b.bytes()], NFCT_ADD_UDP);
});

test("decodeTimeoutPolicy reads them back, with CTA_TIMEOUT_USE and unknown states kept", () => {
  const use = [0x08, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x02]; // CTA_TIMEOUT_USE be32 2
  const extra = [0x08, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x07]; // state 9: not a UDP state
  const attrs = [...NFCT_ADD_UDP, ...use];
  attrs[24] += 8; // CTA_TIMEOUT_DATA grows by the extra state
  attrs.splice(24 + 20, 0, ...extra);
  const msg = new Uint8Array(16 + 4 + attrs.length);
  new DataView(msg.buffer).setUint32(0, msg.length, true);
  msg.set(attrs, 20);
  const p = decodeTimeoutPolicy(new DataView(msg.buffer), 0, msg.length);
  assert.equal(p.name, "t1");
  assert.equal(p.family, "ipv4");
  assert.equal(p.proto, "udp");
  assert.deepEqual(p.timeouts, { unreplied: 10, replied: 20 });
  assert.equal(p.use, 2);
  assert.deepEqual(p.otherStates, { 9: 7 });
});

test("validateTimeoutPolicy refuses unknown keys and states, bad ranges and names", () => {
  const rows: [string, unknown, ErrorConstructor][] = [
    ["unknown field", { ...policy, extra: 1 }, TypeError],
    ["state of another protocol", { ...policy, timeouts: { established: 1 } }, TypeError],
    ["no state", { ...policy, timeouts: {} }, TypeError],
    ["negative", { ...policy, timeouts: { replied: -1 } }, RangeError],
    ["fraction", { ...policy, timeouts: { replied: 0.5 } }, TypeError],
    ["past HZ wrap", { ...policy, timeouts: { replied: 4294968 } }, RangeError],
    ["string seconds", { ...policy, timeouts: { replied: "5" } }, TypeError],
    ["name of 32 bytes", { ...policy, name: "n".repeat(32) }, RangeError],
    ["empty name", { ...policy, name: "" }, RangeError],
    ["NUL in name", { ...policy, name: "a\0b" }, RangeError],
    ["family", { ...policy, family: "inet" }, TypeError],
    ["proto", { ...policy, proto: "esp" }, TypeError],
    ["not an object", "t1", TypeError],
  ];
  for (const [what, p, E] of rows) assert.throws(() => validateTimeoutPolicy(p), E, what);
  assert.equal(validateTimeoutPolicy({ ...policy, name: "n".repeat(31) }).name.length, 31);
});

test("TIMEOUT_STATES numbers every tracker's states like nfnetlink_cttimeout.h", () => {
  assert.equal(TIMEOUT_STATES.tcp.length, 11); // CTA_TIMEOUT_TCP_MAX
  assert.equal(TIMEOUT_STATES.sctp.length, 9); // CTA_TIMEOUT_SCTP_MAX
  assert.equal(TIMEOUT_STATES.dccp.length, 7);
  assert.equal(TIMEOUT_STATES.tcp[8][1], "SYN_SENT2");
});
