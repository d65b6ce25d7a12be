/**
 * `-o save` output replayed by `nfct -R` (file and stdin) rebuilds the same table, in a
 * throwaway network namespace with the rich table of cli_table.ts. (The installed conntrack
 * 1.4.7 has `-R file` too, only as the first argument: its replay is compared as well.)
 * @module
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { test } from "node:test";
import {
  closeTraffic,
  listed,
  onRichTable,
  richTable,
  tableChanged,
} from "../_helpers/cli_table.ts";
import { sorted } from "../_helpers/masked.ts";
import { assertThrowawayNetns } from "../_helpers/netns.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };
const { dir: TMP, nfct, conntrack } = onRichTable("nfct-cli-restore-");

test(
  "`-o save` replayed by nfct -R (file and stdin) rebuilds the table; conntrack -R agrees",
  T,
  async () => {
    await richTable();
    tableChanged();
    await closeTraffic();
    const save = nfct(["-L", "-o", "save"]).stdout;
    const before = sorted(save);
    assert.ok(before.length > 700);
    const file = `${TMP}/table.save`;
    writeFileSync(file, "# a comment, then blank lines are skipped\n\n" + save);

    conntrack(["-F"]);
    const r = nfct(["-R", file]);
    assert.equal(r.code, 0, r.stderr);
    const replayed = sorted(nfct(["-L", "-o", "save"]).stdout);
    assert.deepEqual(replayed, before);

    conntrack(["-F"]);
    const s = nfct(["-R", "-"], save);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(sorted(nfct(["-L", "-o", "save"]).stdout), before);

    conntrack(["-F"]);
    const c = conntrack(["-R", file]);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(sorted(conntrack(["-L", "-o", "save"]).stdout), before);

    // -A on existing entries is not an error; -I is.
    assert.equal(nfct(["-R", file]).code, 0);
    const dup = `${TMP}/dup.save`;
    writeFileSync(dup, save.split("\n")[0].replace(/^-A/, "-I") + "\n");
    const d = nfct(["-R", dup]);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /Such conntrack exists/);
    // Only -I/-A/-U/-D/-F lines; everything is checked before anything runs.
    writeFileSync(dup, "-F\n-L\n");
    const l = nfct(["-R", dup]);
    assert.equal(l.code, 2);
    assert.match(l.stderr, /Cannot use command `-L' with --load-file/);
    assert.ok(listed().length > 700, "the -F before the bad line did not run");
    assert.equal(nfct(["-R", `${TMP}/missing`]).code, 2);
  },
);
