/**
 * Property test of every filter path against the kernel (issues #10 and #15): on random varied
 * tables (IPv4/IPv6; TCP, UDP, UDP-Lite, ICMP and ICMPv6 with types, codes and ids, SCTP, GRE
 * with keys; zones, including a zone on one direction only; marks; status flags; reply tuples
 * that are not the inverted original without NAT status; entries created with real NAT, which
 * carry the NAT-done statuses; connlabels; timeouts in bands) and random legal filters built
 * from every `Filter` key, checked against a reference matcher written in the test
 * (test/_helpers/filter_property_reference.ts) over the unfiltered table:
 *
 * 1. `list(filter)` returns exactly the entries the reference selects;
 * 2. `dump(filter, { kernelFilterOnly: true })` returns all of them (the kernel may send more,
 *    never fewer);
 * 3. `flush(filter)` (the default path, in the kernel when it can) and
 *    `flush(filter, { via: "dump" })` remove exactly those entries, no more, no fewer, and the
 *    dump path's count equals their number. The table is restored after each flush.
 *
 * A third of the filters use only conditions a kernel-side flush can apply (so that path is
 * taken); the others are built around each newer kind of condition in turn (NAT, labels, ICMP
 * fields, GRE keys, netmasks, the entry id, the timeout) or the older keys. Each round logs how
 * many filters used each key, and how many of them selected some but not all entries.
 *
 * `id`: entries re-created after a flush get new ids, so before each property a filter's `id`
 * is moved to the current id of the entry it named. `timeout`: entries count down while the
 * test runs, so timeouts come in bands and filter bounds lie in the gaps between them (see
 * TIMEOUT_BANDS): no entry crosses one during a run.
 *
 * The namespace gets label storage (an nft `ct label set` rule, removed at the end) and NAT'd
 * entries need the kernel's nf_nat.
 *
 * A failing filter is shrunk to a minimal one (conditions dropped while it still fails) and
 * reported with the seed. Seeds: DEFAULT_SEEDS, or `NFCT_PROPERTY_SEEDS=1,2,3`; add
 * `NFCT_PROPERTY_ROUNDS=n` for n more random seeds and `NFCT_PROPERTY_FILTERS=n` for the number
 * of filters per seed (default 80).
 * @module
 */
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { Conntrack, type Filter, type Filters } from "../../mod.ts";
import { assertThrowawayNetns } from "../_helpers/netns.ts";
import { type FilterKind, FOCI, randomFilter } from "../_helpers/filter_property_filters.ts";
import {
  compare,
  keysOf,
  KeyStats,
  labelStorage,
  shape,
  shrink,
  Table,
} from "../_helpers/filter_property_harness.ts";
import { flowKey, randomTable, type TableOptions } from "../_helpers/filter_property_table.ts";
import { Rng } from "../_helpers/rng.ts";

assertThrowawayNetns();

const T = { timeout: 600000 };
const DEFAULT_SEEDS = [1, 2, 3, 0x5eed];
/** The random tables have real NAT and labels. */
const TABLE: TableOptions = { nat: true, labels: true };

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`${name}=${v}: expected a non-negative integer`);
  }
  return n;
}

function seeds(): number[] {
  const env = process.env.NFCT_PROPERTY_SEEDS;
  const out = env ? env.split(",").map((s) => Number(s.trim())) : [...DEFAULT_SEEDS];
  for (const s of out) {
    if (!Number.isInteger(s) || s < 0 || s > 0xffffffff) {
      throw new RangeError(`NFCT_PROPERTY_SEEDS: bad seed "${s}"`);
    }
  }
  const more = envInt("NFCT_PROPERTY_ROUNDS", 0);
  const rnd = new Uint32Array(more);
  crypto.getRandomValues(rnd);
  return [...out, ...rnd];
}

const FILTERS = envInt("NFCT_PROPERTY_FILTERS", 80);

/** A property of one filter on the table: "" when it holds, else what went wrong. */
type Property = (t: Table, filter: Filters) => string;

const errText = (e: unknown) =>
  `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;

const listEqualsReference: Property = (t, filter) => {
  const want = t.expected(filter);
  try {
    return compare(t, want, keysOf(t.ct.list(filter)));
  } catch (e) {
    return errText(e);
  }
};

const kernelFilterKeepsAll: Property = (t, filter) => {
  const want = t.expected(filter);
  try {
    return compare(t, want, keysOf(t.ct.dump(filter, { kernelFilterOnly: true })), true);
  } catch (e) {
    return errText(e);
  }
};

/** Flushes by the default way that went to the kernel (the property must not hold vacuously). */
let kernelFlushes = 0;

function flushRemovesExactly(via: "auto" | "dump"): Property {
  return (t, filter) => {
    const want = t.expected(filter);
    let out = "";
    let after: Set<string> | undefined;
    try {
      const r = via === "dump" ? t.ct.flush(filter, { via: "dump" }) : t.ct.flush(filter);
      if (r?.via === "kernel") kernelFlushes++;
      const now = after = keysOf(t.ct.list());
      const removed = new Set([...t.baseline.keys()].filter((k) => !now.has(k)));
      const added = [...now].filter((k) => !t.baseline.has(k));
      out = compare(t, want, removed);
      if (added.length) out += `; ${added.length} entries appeared`;
      const shaped = typeof r === "object" && r !== null &&
        (r.via === "dump"
          ? typeof r.deleted === "number"
          : r.via === "kernel" && r.deleted === undefined);
      if (!shaped) out += `; result ${JSON.stringify(r)} is not a FlushResult`;
      else if (via === "dump" && r.via !== "dump") {
        out += `; via "dump" asked, via "${r.via}" reported`;
      } else if (r.via === "dump" && r.deleted !== want.size) {
        out += `; reported deleted ${r.deleted} for ${want.size} matches`;
      }
      if (out) out = `(via ${r?.via ?? "?"}) ${out}`;
    } catch (e) {
      out = errText(e);
    } finally {
      t.restore(after);
    }
    return out;
  };
}

/** `p` run on `filter` with each `id` moved to its entry's current id (see Table.current). */
const withCurrentIds = (p: Property): Property => (t, filter) => p(t, t.current(filter));

const PROPERTIES: [string, Property][] = [
  ["list(filter) equals the reference", withCurrentIds(listEqualsReference)],
  ["dump(filter, { kernelFilterOnly }) keeps every match", withCurrentIds(kernelFilterKeepsAll)],
  ["flush(filter) removes exactly the matches", withCurrentIds(flushRemovesExactly("auto"))],
  [
    'flush(filter, { via: "dump" }) removes exactly the matches',
    withCurrentIds(flushRemovesExactly("dump")),
  ],
];

/** The kind of the `i`th filter of a round: every third kernel-only, the others each focus in turn. */
function kindOf(i: number): FilterKind {
  if (i % 3 === 0) return "kernel";
  const kinds: FilterKind[] = ["any", ...FOCI];
  return kinds[(i - Math.floor(i / 3) - 1) % kinds.length];
}

/** Runs every property on FILTERS random filters over a random table of seed `seed`; returns the failures. */
function round(seed: number): string[] {
  const rng = new Rng(seed);
  using _labels = labelStorage();
  using ct = Conntrack.open();
  const specs = randomTable(rng, 300 + rng.int(400), TABLE);
  const t = new Table(ct, specs);
  const report: string[] = [];
  const seen = new Map<string, number>();
  const stats = new KeyStats();
  const kernelBefore = kernelFlushes;
  try {
    t.fill();
    for (let i = 0; i < FILTERS; i++) {
      const filter = randomFilter(rng, t.flows(), kindOf(i));
      stats.add(filter, t.expected(t.current(filter)).size, t.baseline.size);
      for (const [name, prop] of PROPERTIES) {
        const err = prop(t, filter);
        if (!err) continue;
        const group = `${name} [${shape(filter)}]`;
        seen.set(group, (seen.get(group) ?? 0) + 1);
        if (seen.get(group)! > 1 || report.length >= 12) continue;
        const min = shrink(t, filter, prop);
        const same = JSON.stringify(min) === JSON.stringify(filter);
        report.push(
          `  ${name}\n    filter  ${JSON.stringify(t.current(filter))}: ${err}` +
            (same ? "" : `\n    minimal ${JSON.stringify(t.current(min))}: ${prop(t, min)}`),
        );
      }
    }
  } finally {
    ct.flushAll();
  }
  const kernel = kernelFlushes - kernelBefore;
  console.log(
    `seed ${seed}: ${FILTERS} filters on ${specs.length} entries, ${kernel} flushed in the ` +
      `kernel; per key, filters that selected some but not all / used: ${stats}`,
  );
  const total = [...seen.values()].reduce((a, b) => a + b, 0);
  if (total) {
    report.unshift(
      `seed ${seed} (NFCT_PROPERTY_SEEDS=${seed}): ${total} failures of ${FILTERS} filters x ${PROPERTIES.length} properties`,
    );
  }
  return report;
}

for (const seed of seeds()) {
  test(
    `seed ${seed}: list, kernel-filtered dump and flush by ${FILTERS} random filters agree with the reference matcher`,
    T,
    () => {
      const before = kernelFlushes;
      const report = round(seed);
      if (report.length) assert.fail(report.join("\n"));
      // A third of the filters are kernel-only and about half of those are flushed there (the
      // others have IPv6 addresses, which the kernel does not compare, or a shape its sentinels
      // did not prove): 8..21 of 80 in 32 seeds.
      const least = Math.max(1, Math.floor(FILTERS / 20));
      assert.ok(
        kernelFlushes - before >= least,
        `${
          kernelFlushes - before
        } filters of the round were flushed in the kernel, at least ${least} expected`,
      );
    },
  );
}

// --- Any-of lists ------------------------------------------------------------------------------

test(
  "any-of lists of 2-3 random filters: list and flush (both ways) select exactly the union of the reference",
  T,
  () => {
    const rng = new Rng(0xa11);
    using _labels = labelStorage();
    using ct = Conntrack.open();
    const t = new Table(ct, randomTable(rng, 400, TABLE));
    const report: string[] = [];
    const before = kernelFlushes;
    try {
      t.fill();
      for (let i = 0; i < 40 && report.length < 6; i++) {
        const n = 2 + rng.int(2);
        // Every other list only of filters the kernel can flush (so the list is flushed there).
        const kernelOnly = i % 2 === 0;
        const one = (): Filter => {
          for (let k = 0;; k++) {
            const kind = kernelOnly ? "kernel" : rng.pick<FilterKind>(["any", ...FOCI]);
            const f = randomFilter(rng, t.flows(), kind);
            if (!kernelOnly || k > 50 || ct.canFlushInKernel(f)) return f;
          }
        };
        const filters = Array.from({ length: n }, one);
        for (const [name, prop] of PROPERTIES) {
          if (name.includes("kernelFilterOnly")) continue;
          const err = prop(t, filters);
          if (err) {
            report.push(
              `  ${name}\n    filters ${JSON.stringify(t.current(filters))}: ${err}`,
            );
          }
        }
      }
    } finally {
      ct.flushAll();
    }
    if (report.length) assert.fail(report.join("\n"));
    assert.ok(
      kernelFlushes > before,
      "some any-of lists were flushed in the kernel, one request per filter",
    );
  },
);

// --- Known-bad cases of issue #10, as fixed examples --------------------------------------------

/** A random table plus one IPv6 entry whose reply source (a DNAT'd container, fd88::5) no other entry has. */
function knownTable(ct: Conntrack): Table {
  const specs = randomTable(new Rng(0x10), 300);
  specs.push({
    family: "ipv6",
    proto: "udp",
    timeout: 600,
    orig: { src: "fd00::1", dst: "fd00::2", sport: 60000, dport: 53 },
    reply: { src: "fd88::5", dst: "fd00::1", sport: 53, dport: 60000 },
  });
  const t = new Table(ct, specs);
  t.fill();
  return t;
}

test("list() by an exact IPv6 address present in the table returns exactly its entries", T, () => {
  using ct = Conntrack.open();
  try {
    const t = knownTable(ct);
    const filters: Filter[] = [
      { src: "fd00::2" },
      { dst: "fd00::3" },
      { family: "ipv6", reply: { src: "fd88::5" } },
      { reply: { dst: "2001:db8::1" } },
      { proto: "udp", src: "fd00::1", dst: "fd00::2" },
    ];
    for (const f of filters) {
      const want = t.expected(f);
      assert.ok(want.size > 0, `${JSON.stringify(f)} matches something`);
      assert.equal(compare(t, want, keysOf(ct.list(f))), "", `list(${JSON.stringify(f)})`);
    }
  } finally {
    ct.flushAll();
  }
});

test(
  'flush({ family: "ipv6", reply: { src } }) removes exactly that entry and keeps every other IPv6 entry',
  T,
  () => {
    using ct = Conntrack.open();
    try {
      const t = knownTable(ct);
      const filter: Filter = { family: "ipv6", reply: { src: "fd88::5" } };
      for (const via of ["auto", "dump"] as const) {
        const before = [...t.baseline.values()];
        const target = before.filter((f) => f.reply.src === "fd88::5");
        assert.equal(target.length, 1);
        const r = via === "dump" ? ct.flush(filter, { via }) : ct.flush(filter);
        const after = keysOf(ct.list());
        assert.equal(after.has(flowKey(target[0])), false, `via ${via}: the entry is gone`);
        const lost = before.filter((f) => f !== target[0] && !after.has(flowKey(f)));
        assert.deepEqual(
          lost.map((f) => flowKey(f)).slice(0, 3),
          [],
          `via ${via}: no other entry removed (${lost.length} were)`,
        );
        assert.equal(after.size, before.length - 1, `via ${via}`);
        if (r.via === "dump") assert.equal(r.deleted, 1);
        t.restore();
      }
    } finally {
      ct.flushAll();
    }
  },
);

test(
  "list() and flush() by a zone and a reply tuple zone together (EINVAL from a 6.18 dump) match like the reference",
  T,
  () => {
    using ct = Conntrack.open();
    try {
      const t = knownTable(ct);
      for (
        const f of [{ zone: 7, reply: { zone: 4 } }, { zone: 7, reply: { zone: 7 } }, {
          zone: 0,
          reply: { zone: 4 },
        }]
      ) {
        const want = t.expected(f);
        assert.equal(compare(t, want, keysOf(ct.list(f))), "", `list(${JSON.stringify(f)})`);
        assert.equal(flushRemovesExactly("auto")(t, f), "", `flush(${JSON.stringify(f)})`);
      }
    } finally {
      ct.flushAll();
    }
  },
);
