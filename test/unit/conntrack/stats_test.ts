// Decoding of the statistics replies (`conntrack -C`, `conntrack -S`) captured from the real
// kernel (test/_helpers/golden.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeCpuStats, decodeGlobalStats } from "../../../conntrack/stats.ts";
import { golden, view } from "../../_helpers/golden.ts";

test("decodeGlobalStats and decodeCpuStats read real -C and -S replies", () => {
  const c = golden("count.reply1");
  assert.deepEqual(decodeGlobalStats(view(c), 0, c.length), { entries: 13, maxEntries: 262144 });
  // cpu=0 found=0 invalid=0 insert=2 ... / cpu=1 ... insert=7 ...
  const zero = {
    found: 0,
    invalid: 0,
    insert: 0,
    insertFailed: 0,
    drop: 0,
    earlyDrop: 0,
    error: 0,
    searchRestart: 0,
    clashResolve: 0,
    chainTooLong: 0,
  };
  const s1 = golden("stats.reply1"), s2 = golden("stats.reply2");
  assert.deepEqual(decodeCpuStats(view(s1), 0, s1.length), { ...zero, cpu: 0, insert: 2 });
  assert.deepEqual(decodeCpuStats(view(s2), 0, s2.length), { ...zero, cpu: 1, insert: 7 });
});
