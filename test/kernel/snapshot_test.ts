/**
 * Snapshots that move: a varied table dumped as JSON lines (flowToJSON, what `nfct -L -o json`
 * prints) and restored into a fresh namespace (flowFromJSON + restore) lists the same in
 * conntrack(8) as the original, timeouts aside: zones (entry and per direction), marks, labels,
 * statuses, NAT'd reply tuples, TCP/SCTP state.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { Conntrack, flowFromJSON, flowToJSON } from "../../mod.ts";
import { randomTable } from "../_helpers/filter_property_table.ts";
import { Rng } from "../_helpers/rng.ts";
import { addNetns, assertThrowawayNetns, sh } from "../_helpers/netns.ts";
import { ROOT, RUN_TS } from "../_helpers/run.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };
const NFCT = [...RUN_TS, `${ROOT}cli.ts`];

/** Label storage on: a rule that sets a label, in the namespace the command runs in. */
const LABEL_RULES = `table inet nfct_snap {
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport 9 ct label set 127
  }
}`;

/** conntrack -L lines with what a restore cannot keep blanked: the timeout, and sorted. */
function listing(prefix: string[]): string[] {
  const out = execFileSync(prefix[0] ?? "conntrack", [...prefix.slice(1), "-L"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  return out.split("\n").filter(Boolean).map((l) => l.replace(/^(\S+\s+\d+ )\d+ /, "$1T ")).sort();
}

test(
  "a varied table restored from its JSON lines into a fresh namespace lists the same in conntrack(8)",
  T,
  () => {
    const ns = addNetns("nfct-snap");
    try {
      sh(`nft -f - <<'EOF'\n${LABEL_RULES}\nEOF`);
      sh(`ip netns exec ${ns.name} nft -f - <<'EOF'\n${LABEL_RULES}\nEOF`);
      using src = Conntrack.open();
      src.flushAll();
      const specs = randomTable(new Rng(0x5a9), 400);
      specs.forEach((s, i) => {
        if (i % 7 === 0) s.labels = [i % 128, 127];
      });
      assert.equal(src.createMany(specs).created, specs.length);

      const lines = [...src.dump()].map((f) => JSON.stringify(flowToJSON(f)));
      assert.equal(lines.length, specs.length);
      using dst = Conntrack.open({ netns: ns.path });
      const r = dst.restore(lines.map((l) => flowFromJSON(JSON.parse(l))));
      assert.equal(r.failed.length, 0, r.failed[0]?.error.message);
      assert.equal(r.created, specs.length);

      const a = listing(["conntrack"]);
      const b = listing(["ip", "netns", "exec", ns.name, "conntrack"]);
      assert.equal(a.length, specs.length);
      assert.ok(
        a.some((l) => /zone-orig=/.test(l)) && a.some((l) => / zone=/.test(l)),
        "the table is varied",
      );
      assert.deepEqual(b, a);
      // Labels (conntrack prints them only by name, with a connlabel.conf): compare the bits.
      const bits = (ct: Conntrack) =>
        ct.list().filter((f) => f.labels).map((f) =>
          `${f.orig.src} ${f.orig.sport ?? f.orig.id} ${f.labels}`
        ).sort();
      assert.ok(bits(src).length > 40);
      assert.deepEqual(bits(dst), bits(src));
      src.flushAll();
    } finally {
      ns.remove();
      sh("nft delete table inet nfct_snap");
    }
  },
);

test("flowToJSON: fixed key order, absent fields left out, BigInts and bytes as strings; flowFromJSON reads it back", () => {
  const f = flowFromJSON({
    family: "ipv4",
    proto: "tcp",
    orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2 },
    reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 2, dport: 1 },
    timestamp: { start: "1700000000000000000" },
    helperInfo: "00ff",
    synproxy: { isn: 0, its: 0, tsoff: 0 },
  });
  assert.equal(f.timestamp?.start, 1700000000000000000n);
  assert.deepEqual(f.helperInfo, new Uint8Array([0, 255]));
  const j = flowToJSON({ ...f, mark: 3, status: ["ASSURED"] });
  assert.deepEqual(Object.keys(j), [
    "family",
    "proto",
    "orig",
    "reply",
    "status",
    "mark",
    "timestamp",
    "helperInfo",
  ]);
  assert.equal(j.synproxy, undefined, "an all-zero synproxy is no synproxy");
  assert.throws(
    () => flowFromJSON({ family: "ipv4", proto: "tcp", orig: {} }),
    /"reply" is missing/,
  );
  assert.throws(() => flowFromJSON({ ...j, helperInfo: "0g" }), /hex/);
});

test(
  "nfct -L -o json > snap, then nfct -R snap in a fresh namespace: conntrack -L lists the same",
  T,
  () => {
    const ns = addNetns("nfct-snapcli");
    const dir = mkdtempSync("/tmp/nfct-snap-");
    try {
      using src = Conntrack.open();
      src.flushAll();
      const specs = randomTable(new Rng(0x5aa), 200);
      assert.equal(src.createMany(specs).created, specs.length);
      const snap = `${dir}/snap`;
      const json = execFileSync(NFCT[0], [...NFCT.slice(1), "-L", "-o", "json"], {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
      writeFileSync(snap, json);
      assert.equal(json.trim().split("\n").length, specs.length);
      execFileSync("ip", ["netns", "exec", ns.name, ...NFCT, "-R", snap], {
        cwd: ROOT,
        stdio: ["ignore", "ignore", "pipe"],
      });
      assert.deepEqual(
        listing(["ip", "netns", "exec", ns.name, "conntrack"]),
        listing(["conntrack"]),
      );
      src.flushAll();
    } finally {
      ns.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
