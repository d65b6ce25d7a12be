/**
 * A short fuzzing run of the decoders and the reply reader (the long one is scripts/fuzz.ts).
 * The fuzzer mutates real kernel datagrams (test/fixtures/real_dump_*.hex); see
 * test/_helpers/fuzz.ts for what it checks. The inputs earlier runs found are kept as
 * regressions beside the code they broke (flow_decode_test.ts, ../netlink/message_test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { describeFailure, Fuzzer } from "../../_helpers/fuzz.ts";

test("20000 mutated kernel messages are decoded or rejected with RangeError, in a few seconds", () => {
  // CPU time, not wall time: on a loaded machine the process waits for a CPU, which is not
  // the decoders' doing.
  const t0 = performance.now(), cpu0 = process.cpuUsage();
  const report = new Fuzzer(0x6e666374).run(20_000, 3);
  const cpu = process.cpuUsage(cpu0);
  const secs = (cpu.user + cpu.system) / 1e6, wall = (performance.now() - t0) / 1000;
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
  assert.ok(secs < 20, `took ${secs.toFixed(1)} s of CPU (${wall.toFixed(1)} s)`);
});

test("the fuzzer is deterministic for a seed", () => {
  const a = new Fuzzer(42).run(2000);
  const b = new Fuzzer(42).run(2000);
  assert.deepEqual(a.targets, b.targets);
  assert.notDeepEqual(new Fuzzer(43).run(2000).targets, a.targets);
});
