/**
 * Prometheus metrics (conntrack/metrics.ts): the exposition text, and what one collection
 * counts, from a client stand-in that answers like a table would.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Conntrack, CpuStats, Flow } from "../../../mod.ts";
import { collectMetrics, formatMetrics } from "../../../mod.ts";

/** CPU `n`'s statistics: a different figure in each counter but insert. */
const cpu = (n: number): CpuStats => ({
  cpu: n,
  found: 1,
  invalid: 2,
  insert: 0,
  insertFailed: 3,
  drop: 4,
  earlyDrop: 5,
  error: 6,
  searchRestart: 7,
  clashResolve: 8,
  chainTooLong: 9,
});

test("formatMetrics prints one HELP/TYPE block per metric, every namespace under it", () => {
  const text = formatMetrics([
    { netns: "a", entries: 5, maxEntries: 10, cpu: [cpu(0), cpu(1)], seconds: 0.001 },
    {
      netns: 'b"\\',
      entries: 1,
      maxEntries: 10,
      cpu: [cpu(0)],
      seconds: 0,
      expectations: 0,
      flows: [{ proto: "tcp", state: "ESTABLISHED", zone: "0", count: 1 }],
      events: { new: 1, update: 2, destroy: 3, lost: 0 },
    },
  ]);
  const types = text.split("\n").filter((l) => l.startsWith("# TYPE "));
  assert.equal(new Set(types).size, types.length, "no metric declared twice");
  assert.match(text, /^nfct_conntrack_entries\{netns="a"\} 5$/m);
  assert.match(text, /^nfct_conntrack_entries\{netns="b\\"\\\\"\} 1$/m, "label values escaped");
  assert.match(text, /^nfct_conntrack_stat_insert_failed_total\{netns="a",cpu="1"\} 3$/m);
  assert.match(
    text,
    /^nfct_conntrack_flows\{netns="b\\"\\\\",proto="tcp",state="ESTABLISHED",zone="0"\} 1$/m,
  );
  assert.match(text, /^nfct_conntrack_events_total\{netns="b\\"\\\\",type="destroy"\} 3$/m);
  assert.ok(text.endsWith("\n"));
  for (const l of types) {
    assert.match(
      l,
      /_total (counter)$|(?<!_total) gauge$/,
      "counters and only counters end in _total",
    );
  }
});

/** A client stand-in: the figures of a table holding `flows`, and two CPUs. */
function tableOf(flows: Flow[]): Conntrack {
  const ct = {
    globalStats: () => ({ entries: flows.length, maxEntries: 65536 }),
    stats: () => [cpu(0), cpu(1)],
    dumpExpect: () => [],
    expectStats: () => [{ cpu: 0, new: 0, create: 0, delete: 0 }],
    dump: () => flows.values(),
  };
  return ct as unknown as Conntrack;
}

const flow = (proto: Flow["proto"], zone?: number, state?: "ESTABLISHED"): Flow => ({
  family: "ipv4",
  proto,
  orig: { src: "10.0.0.1", dst: "10.0.0.2" },
  reply: { src: "10.0.0.2", dst: "10.0.0.1" },
  ...(zone !== undefined ? { zone } : {}),
  ...(state ? { tcp: { state } } : {}),
});

test("collectMetrics counts entries by protocol, state and zone; zones past maxZones are other", () => {
  const flows = [
    flow("tcp", undefined, "ESTABLISHED"),
    flow("tcp", undefined, "ESTABLISHED"),
    flow("udp", 1),
    flow("udp", 2),
    flow("udp", 3),
    flow(253),
  ];
  const m = collectMetrics(tableOf(flows), { netns: "t", perState: true, maxZones: 2 });
  assert.equal(m.entries, 6);
  assert.equal(m.maxEntries, 65536);
  assert.equal(m.cpu.length, 2);
  assert.equal(m.expectations, 0);
  const byKey = new Map(m.flows!.map((c) => [`${c.proto}/${c.state}/${c.zone}`, c.count]));
  assert.deepEqual(
    Object.fromEntries(byKey),
    { "tcp/ESTABLISHED/0": 2, "udp/none/1": 1, "udp/none/other": 2, "other/none/0": 1 },
  );
});

test("collectMetrics without perState never dumps, and refuses a bad maxZones", () => {
  const ct = tableOf([flow("tcp")]);
  (ct as unknown as { dump: () => never }).dump = () => {
    throw new Error("dumped");
  };
  const m = collectMetrics(ct, { netns: "t", expectations: false });
  assert.equal(m.flows, undefined);
  assert.equal(m.expectations, undefined);
  assert.throws(() => collectMetrics(ct, { netns: "t", maxZones: -1 }), RangeError);
});
