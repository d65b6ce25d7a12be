// Decoding of the statistics replies (`conntrack -C`, `conntrack -S`) captured from the real
// kernel (test/_helpers/golden.ts), checked against what conntrack printed for them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type CpuStats, decodeCpuStats, decodeGlobalStats } from "../../../conntrack/stats.ts";
import { golden, view } from "../../_helpers/golden.ts";

/** What `conntrack -S` printed for stats.reply1 and stats.reply2 (test/fixtures/golden.hex). */
const PRINTED = [
  "cpu=0   \tfound=0 invalid=0 insert=2 insert_failed=0 drop=0 early_drop=0 error=0 " +
  "search_restart=0 clash_resolve=0 chaintoolong=0 ",
  "cpu=1   \tfound=0 invalid=0 insert=7 insert_failed=0 drop=0 early_drop=0 error=0 " +
  "search_restart=0 clash_resolve=0 chaintoolong=0 ",
];

/** A `conntrack -S` line's `name=value` pairs, each name as CpuStats spells it. */
function printedStats(line: string): CpuStats {
  const s: Record<string, number> = {};
  for (const [, name, value] of line.matchAll(/(\w+)=(\d+)/g)) {
    const key = name === "chaintoolong"
      ? "chainTooLong"
      : name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
    s[key] = Number(value);
  }
  return s as unknown as CpuStats;
}

test("decodeGlobalStats and decodeCpuStats read real -C and -S replies", () => {
  const c = golden("count.reply1");
  assert.deepEqual(decodeGlobalStats(view(c), 0, c.length), { entries: 13, maxEntries: 262144 });
  const replies = [golden("stats.reply1"), golden("stats.reply2")];
  assert.deepEqual(
    replies.map((r) => decodeCpuStats(view(r), 0, r.length)),
    PRINTED.map(printedStats),
  );
});
