/**
 * Netlink message framing (netlink/message.ts) on real bytes: the kernel's ACKs and errors from
 * the golden capture (test/_helpers/golden.ts) and the real dumps (test/fixtures/
 * real_dump_*.hex), malformed headers, and the inputs scripts/fuzz.ts found, kept as regressions.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as C from "../../../conntrack/constants.ts";
import {
  HOST_LE,
  NLM_F_ACK_TLVS,
  NLMSG_ERROR,
  readError,
  readHeader,
} from "../../../netlink/message.ts";
import { golden, mangled, view } from "../../_helpers/golden.ts";
import { errorMessage, loadRealDump, splitMessages } from "../../_helpers/scripted.ts";

const ct = (m: number) => (C.NFNL_SUBSYS_CTNETLINK << 8) | m;

test("readError reads the kernel's ACKs and errors (EEXIST on duplicate -I, ENOENT on -G)", () => {
  const ack = golden("create_tcp4.reply1");
  const h = readHeader(view(ack), 0, ack.length);
  assert.equal(h.type, NLMSG_ERROR);
  const e0 = readError(view(ack), 0, h.len, h.flags);
  assert.equal(e0.errno, 0);
  assert.equal(e0.request.type, ct(C.IPCTNL_MSG_CT_NEW));
  assert.equal(e0.request.len, golden("create_tcp4.request1").length);

  for (const [key, errno] of [["create_tcp4_dup.reply1", 17], ["get_missing.reply1", 2]] as const) {
    const b = golden(key);
    const hh = readHeader(view(b), 0, b.length);
    const e = readError(view(b), 0, hh.len, hh.flags);
    assert.equal(e.errno, errno, key);
    assert.equal(e.message, undefined, key); // the CLI does not ask for extended ACKs
  }
});

test("readHeader throws RangeError when nlmsg_len is below the header or beyond the buffer", () => {
  const b = golden("list.reply5");
  assert.throws(() => readHeader(view(b), 0, 15), RangeError);
  const big = mangled("list.reply5", (_b, dv) => dv.setUint32(0, b.length + 4, HOST_LE));
  assert.throws(() => readHeader(view(big), 0, big.length), RangeError);
  const small = mangled("list.reply5", (_b, dv) => dv.setUint32(0, 8, HOST_LE));
  assert.throws(() => readHeader(view(small), 0, small.length), RangeError);
});

test("readError rejects a positive error code, which no kernel sends, with RangeError", () => {
  const ack = splitMessages(loadRealDump("get")[1])[0].bytes.slice();
  new DataView(ack.buffer).setInt32(16, 64, HOST_LE);
  assert.throws(() => readError(new DataView(ack.buffer), 0, ack.length, 0), RangeError);
});

test("readError ignores extended ACK when the echoed request's length is corrupt", () => {
  const req = splitMessages(loadRealDump("flows")[0])[0];
  const m = errorMessage(req, 22, { capped: false, message: "bad" });
  const dv = new DataView(m.buffer);
  for (const len of [0, 15, 0x7fffffff, 0x80000000, 0xffffffff]) {
    dv.setUint32(20, len, HOST_LE);
    const e = readError(dv, 0, m.length, NLM_F_ACK_TLVS);
    assert.equal(e.errno, 22);
    assert.equal(e.message, undefined, `request length ${len}`);
  }
});

test("an acknowledgement decodes to errno 0, not -0", () => {
  const ack = loadRealDump("get")[1];
  assert.ok(Object.is(readError(new DataView(ack.buffer), 0, ack.length, 0).errno, 0));
});
