/**
 * conntrack(8) as the oracle: on a throwaway namespace's table of thousands of entries of every
 * protocol (and a few made by real packets over lo, so counters and timestamps are not zero:
 * oracle_table.ts), `formatFlow()` over `ct.dump()` prints exactly the lines
 * `conntrack -L [-o …]` prints, but for the timeouts and delta-times that tick between the two
 * dumps (oracle_lines.ts). Filters against conntrack's options: oracle_filter_test.ts.
 * @module
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { formatFlow, parseConnlabelConf } from "../../mod.ts";
import { assertThrowawayNetns, conntrackCli } from "../_helpers/netns.ts";
import { assertSameLines, compare, lines, tolerance } from "../_helpers/oracle_lines.ts";
import { removeTable, table } from "../_helpers/oracle_table.ts";
import { conntrackWithLabelConf } from "../_helpers/run.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };
after(removeTable);

// Label names for the CLI's -o labels; bits 5 and 127 are left unnamed on purpose (conntrack
// skips them). Our formatter gets the same map, parsed the way libnetfilter_conntrack does.
const CONNLABEL_CONF =
  "# test labels\n0 zero\n1 one\n3 three-3\n64 sixty four\n100 hundred\n0x7e hex126\n3 dup-bit\nbad name! 9\n";
const LABELS = parseConnlabelConf(CONNLABEL_CONF);

/** conntrack(8) with CONNLABEL_CONF as its connlabel.conf; returns stdout. Throws on a non-zero exit. */
function conntrackWithLabels(args: string[]): string {
  const r = conntrackWithLabelConf(CONNLABEL_CONF, args);
  if (r.code !== 0) throw new Error(`conntrack ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

test(
  "the table: thousands of flows of every protocol, zones, marks, labels, and real traffic over lo",
  T,
  async () => {
    const ct = await table();
    const count = ct.count();
    assert.ok(count > 2000, `expected thousands of entries, got ${count}`);
    const all = ct.list();
    assert.ok(
      all.some((f) => f.counters && f.counters.orig.packets > 0),
      "real traffic made counters",
    );
    assert.ok(all.some((f) => f.timestamp && f.timestamp.start > 0n), "timestamps are on");
    assert.ok(all.some((f) => f.labels?.includes(100)), "the nft rule labelled a real flow");
    assert.ok(
      all.some((f) => f.orig.zone !== undefined) && all.some((f) => f.reply.zone !== undefined),
      "per-direction zones",
    );
  },
);

test("formatFlow() prints what `conntrack -L` prints, for every entry", T, async () => {
  const ct = await table();
  const n = compare(ct, undefined, [], {}, [], "conntrack -L");
  assert.ok(n > 2000);
});

test(
  "formatFlow({ extended, id }) prints what `conntrack -L -o extended,id` prints",
  T,
  async () => {
    const ct = await table();
    compare(
      ct,
      undefined,
      [],
      { extended: true, id: true },
      ["-o", "extended,id"],
      "conntrack -L -o extended,id",
    );
  },
);

test("formatFlow({ ktimestamp }) prints what `conntrack -L -o ktimestamp` prints", T, async () => {
  const ct = await table();
  compare(
    ct,
    undefined,
    [],
    { ktimestamp: true },
    ["-o", "ktimestamp"],
    "conntrack -L -o ktimestamp",
  );
  compare(ct, undefined, [], { ktimestamp: true, extended: true, id: true }, [
    "-o",
    "extended,ktimestamp,id",
  ], "-o extended,ktimestamp,id");
});

test(
  "formatFlow({ labels }) prints the names `conntrack -L -o labels` prints from connlabel.conf",
  T,
  async () => {
    const ct = await table();
    const n = compare(
      ct,
      undefined,
      [],
      { labels: LABELS },
      ["-o", "labels"],
      "conntrack -L -o labels",
      conntrackWithLabels,
    );
    assert.ok(n > 2000);
    const withLabels = lines(conntrackWithLabels(["-L", "-o", "labels"])).filter((l) =>
      l.includes(" labels=")
    );
    assert.ok(withLabels.length > 10, "some flows print labels");
    compare(
      ct,
      undefined,
      [],
      { labels: LABELS, extended: true, id: true },
      ["-o", "extended,id,labels"],
      "-o extended,id,labels",
      conntrackWithLabels,
    );
    // Without a map conntrack prints no labels at all; so does nfct.
    compare(ct, undefined, [], {}, ["-o", "labels"], "-o labels without connlabel.conf");
  },
);

test(
  "formatFlow({ save }) prints what `conntrack -L -o save` prints (HEARTBEAT_SENT by name, where 1.4.7 prints '(null)')",
  T,
  async () => {
    const ct = await table();
    // Deliberate difference (README): 1.4.7's SCTP state table ends at SHUTDOWN_ACK_SENT, so it
    // writes `--state (null)`, which nothing parses; nfct writes the state's name.
    let nulls = 0;
    const named = (args: string[]) =>
      conntrackCli(args).replace(
        / --state \(null\) /g,
        () => (nulls++, " --state HEARTBEAT_SENT "),
      );
    compare(ct, undefined, [], { save: true }, ["-o", "save"], "conntrack -L -o save", named);
    const heartbeat =
      Array.from(ct.dump({ proto: "sctp" })).filter((f) => f.sctp?.state === "HEARTBEAT_SENT")
        .length;
    assert.equal(nulls, heartbeat, "1.4.7 prints (null) for exactly the HEARTBEAT_SENT entries");
  },
);

test("formatFlow({ xml }) prints the <flow> lines of `conntrack -L -o xml`", T, async () => {
  const ct = await table();
  const t0 = Date.now();
  const ours = Array.from(ct.dump(), (f) => formatFlow(f, { xml: true }));
  const out = lines(conntrackCli(["-L", "-o", "xml"]));
  const tol = tolerance(Date.now() - t0);
  assert.equal(out[0], '<?xml version="1.0" encoding="utf-8"?>');
  assert.equal(out[1], "<conntrack>");
  assert.equal(out.at(-1), "</conntrack>");
  assertSameLines(ours, out.slice(2, -1), "conntrack -L -o xml", tol);
});
