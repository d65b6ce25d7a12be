/**
 * A short fuzzing run (the long one is scripts/fuzz.ts), and the inputs earlier runs found, kept
 * as regressions. The fuzzer mutates real kernel datagrams (test/fixtures/real_dump_*.hex); see
 * test/_helpers/fuzz.ts for what it checks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FlowDecoder } from "../../../conntrack/flow.ts";
import { HOST_LE, NLM_F_ACK_TLVS, readError } from "../../../netlink/message.ts";
import { describeFailure, Fuzzer } from "../../_helpers/fuzz.ts";
import { errorMessage, loadRealDump, splitMessages } from "../../_helpers/scripted.ts";

const fromHex = (h: string) => new Uint8Array(h.match(/../g)!.map((x) => parseInt(x, 16)));

test("20000 mutated kernel messages are decoded or rejected with RangeError, in a few seconds", () => {
  const t0 = performance.now();
  const report = new Fuzzer(0x6e666374).run(20_000, 3);
  const secs = (performance.now() - t0) / 1000;
  assert.deepEqual(report.failures.map(describeFailure), []);
  for (
    const target of [
      "FlowDecoder.decode",
      "decodeCpuStats",
      "decodeGlobalStats",
      "readError",
      "readDone",
      "NetlinkSocket.replies",
      "NetlinkSocket.drainBatch",
      "NetlinkSocket.drainErrors",
    ]
  ) {
    const t = report.targets[target];
    assert.ok(t && t.ok > 0, `${target} decoded some inputs`);
    // readDone never rejects: a DONE's body is only an optional errno and advisory TLVs.
    if (target !== "readDone") assert.ok(t.rejected > 0, `${target} rejected some inputs`);
  }
  assert.ok(secs < 20, `took ${secs.toFixed(1)} s`);
});

test("the fuzzer is deterministic for a seed", () => {
  const a = new Fuzzer(42).run(2000);
  const b = new Fuzzer(42).run(2000);
  assert.deepEqual(a.targets, b.targets);
  assert.notDeepEqual(new Fuzzer(43).run(2000).targets, a.targets);
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
  assert.throws(() => new FlowDecoder().decode(new DataView(buf.buffer), 0, msg.length), (e: unknown) =>
    e instanceof RangeError && e.message.includes("CTA_NAT"));
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
