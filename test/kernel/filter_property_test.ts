/**
 * Property test of every filter path against the kernel (issue #10): on random varied tables
 * (IPv4/IPv6; TCP, UDP, UDP-Lite, ICMP, ICMPv6, SCTP, GRE; zones, including a zone on one
 * direction only; marks; status flags; NAT'd reply tuples) and random legal filters built from
 * every `Filter` key, checked against a reference matcher written in the test
 * (test/_helpers/filter_reference.ts) over the unfiltered table:
 *
 * 1. `list(filter)` returns exactly the entries the reference selects;
 * 2. `dump(filter, { kernelFilterOnly: true })` returns all of them (the kernel may send more,
 *    never fewer);
 * 3. `flush(filter)` (the default path, in the kernel when it can) and
 *    `flush(filter, { via: "dump" })` remove exactly those entries, no more, no fewer, and the
 *    dump path's count equals their number. The table is restored after each flush.
 *
 * (`Filter` has no key for the original tuple's own zone, `--orig-zone`: such entries are in the
 * tables, and must match `zone: 0`.)
 *
 * A failing filter is shrunk to a minimal one (conditions dropped while it still fails) and
 * reported with the seed. Seeds: DEFAULT_SEEDS, or `NFCT_PROPERTY_SEEDS=1,2,3`; add
 * `NFCT_PROPERTY_ROUNDS=n` for n more random seeds and `NFCT_PROPERTY_FILTERS=n` for the number
 * of filters per seed (default 50).
 * @module
 */
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { Conntrack, type Filter, type Filters, type Flow } from "../../mod.ts";
import { assertThrowawayNetns } from "../_helpers/netns.ts";
import { randomFilter, randomTable, smaller, type Spec } from "../_helpers/filter_property.ts";
import { describe, flowKey, referenceMatch } from "../_helpers/filter_reference.ts";
import { Rng } from "../_helpers/rng.ts";

assertThrowawayNetns();

const T = { timeout: 600000 };
const DEFAULT_SEEDS = [1, 2, 3, 0x5eed];

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

const FILTERS = envInt("NFCT_PROPERTY_FILTERS", 50);

const keysOf = (flows: Iterable<Flow>): Set<string> =>
  new Set(Array.from(flows, (f) => flowKey(f)));

/** A table made from specs, and what it held when last listed. */
class Table {
  readonly ct: Conntrack;
  /** Create specs by their id-less key. */
  readonly specs = new Map<string, Spec>();
  /** The table as last listed, by key (with id). */
  baseline = new Map<string, Flow>();
  /** The same by id-less key. */
  byIdless = new Map<string, Flow>();

  constructor(ct: Conntrack, specs: Spec[]) {
    this.ct = ct;
    for (const s of specs) this.specs.set(flowKey(s, false), s);
    assert.equal(this.specs.size, specs.length, "the generated specs are distinct");
  }

  /** Empties the table, creates every spec, and checks that the dump shows exactly them. */
  fill(): void {
    this.ct.flushAll();
    this.#create([...this.specs.values()]);
    this.relist();
  }

  relist(): void {
    const all = this.ct.list();
    this.baseline = new Map(all.map((f) => [flowKey(f), f]));
    this.byIdless = new Map(all.map((f) => [flowKey(f, false), f]));
    const extra = [...this.byIdless.keys()].filter((k) => !this.specs.has(k));
    const missing = [...this.specs.keys()].filter((k) => !this.byIdless.has(k));
    assert.deepEqual({ missing: missing.slice(0, 3), extra: extra.slice(0, 3) }, {
      missing: [],
      extra: [],
    }, "the table is what was created");
    assert.equal(this.baseline.size, this.specs.size, "one dumped entry per spec");
  }

  /**
   * Re-creates whatever spec is missing from the table, then lists it again (re-created entries
   * have new ids). `now`: the table's keys, when just listed.
   */
  restore(now?: Set<string>): void {
    now ??= keysOf(this.ct.list());
    if (now.size === this.baseline.size && [...now].every((k) => this.baseline.has(k))) return;
    const idless = new Set([...now].map((k) => k.replace(/ id=\S+$/, "")));
    const missing = [...this.specs].filter(([k]) => !idless.has(k)).map(([, s]) => s);
    if (missing.length) this.#create(missing);
    this.relist();
  }

  /** Keys (with id) of the listed entries the reference matcher selects. */
  /** The keys of the baseline entries `filter` selects (an array: those any of them selects). */
  expected(filter: Filters): Set<string> {
    const list: readonly Filter[] = Array.isArray(filter) ? filter : [filter as Filter];
    const out = new Set<string>();
    for (const [k, f] of this.baseline) if (list.some((x) => referenceMatch(x, f))) out.add(k);
    return out;
  }

  #create(specs: Spec[]): void {
    const r = this.ct.createMany(specs);
    assert.equal(
      r.failed.length,
      0,
      `create failed: ${r.failed[0]?.error.message} for ${JSON.stringify(r.failed[0]?.flow)}`,
    );
  }
}

/**
 * "" when `got` equals `want`; else what is missing and extra (`superset`: only missing counts),
 * with examples shown by `t`'s last listing.
 */
function compare(t: Table, want: Set<string>, got: Set<string>, superset = false): string {
  const missing = [...want].filter((k) => !got.has(k));
  const extra = superset ? [] : [...got].filter((k) => !want.has(k));
  if (!missing.length && !extra.length) return "";
  const show = (k: string) => {
    const f = t.baseline.get(k);
    return f ? describe(f) : k;
  };
  const eg = (a: string[]) => a.slice(0, 2).map((k) => `\n        ${show(k)}`).join("");
  return `expected ${want.size}, got ${got.size}: ${missing.length} missing${eg(missing)}` +
    (superset ? "" : `; ${extra.length} extra${eg(extra)}`);
}

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

const PROPERTIES: [string, Property][] = [
  ["list(filter) equals the reference", listEqualsReference],
  ["dump(filter, { kernelFilterOnly }) keeps every match", kernelFilterKeepsAll],
  ["flush(filter) removes exactly the matches", flushRemovesExactly("auto")],
  ['flush(filter, { via: "dump" }) removes exactly the matches', flushRemovesExactly("dump")],
];

/** Drops conditions from a failing filter while it still fails (at most `budget` checks). */
function shrink(t: Table, filter: Filter, prop: (t: Table, f: Filter) => string, budget = 60): Filter {
  let cur = filter;
  outer: while (budget > 0) {
    for (const g of smaller(cur)) {
      if (--budget < 0) break outer;
      if (prop(t, g)) {
        cur = g;
        continue outer;
      }
    }
    break;
  }
  return cur;
}

/** The kind of filter, for grouping failures: key names, address family and exact/CIDR. */
function shape(f: Filter): string {
  const a = (k: string, v: string) =>
    `${k}:${v.includes(":") ? "v6" : "v4"}${v.includes("/") ? "cidr" : "exact"}`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(f)) {
    if (k === "reply") {
      for (const [rk, rv] of Object.entries(v)) {
        parts.push(typeof rv === "string" ? a(`reply.${rk}`, rv) : `reply.${rk}`);
      }
    } else parts.push(typeof v === "string" && (k === "src" || k === "dst") ? a(k, v) : k);
  }
  return parts.sort().join(",");
}

/** Runs every property on FILTERS random filters over a random table of seed `seed`; returns the failures. */
function round(seed: number): string[] {
  const rng = new Rng(seed);
  using ct = Conntrack.open();
  const specs = randomTable(rng, 300 + rng.int(400));
  const t = new Table(ct, specs);
  const report: string[] = [];
  const seen = new Map<string, number>();
  try {
    t.fill();
    const specList = [...t.specs.keys()];
    for (let i = 0; i < FILTERS; i++) {
      // The anchor comes from the spec list (dump order is the kernel's hash order, not the seed's).
      const filter = randomFilter(rng, t.byIdless.get(rng.pick(specList))!);
      for (const [name, prop] of PROPERTIES) {
        const err = prop(t, filter);
        if (!err) continue;
        const kind = `${name} [${shape(filter)}]`;
        seen.set(kind, (seen.get(kind) ?? 0) + 1);
        if (seen.get(kind)! > 1 || report.length >= 12) continue;
        const min = shrink(t, filter, prop);
        const same = JSON.stringify(min) === JSON.stringify(filter);
        report.push(
          `  ${name}\n    filter  ${JSON.stringify(filter)}: ${err}` +
            (same ? "" : `\n    minimal ${JSON.stringify(min)}: ${prop(t, min)}`),
        );
      }
    }
  } finally {
    ct.flushAll();
  }
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
      assert.ok(kernelFlushes > before, "some filters of the round were flushed in the kernel");
    },
  );
}

// --- Any-of lists ------------------------------------------------------------------------------

test("any-of lists of 2-3 random filters: list and flush (both ways) select exactly the union of the reference", T, () => {
  const rng = new Rng(0xa11);
  using ct = Conntrack.open();
  const t = new Table(ct, randomTable(rng, 400));
  const report: string[] = [];
  const before = kernelFlushes;
  try {
    t.fill();
    const specList = [...t.specs.keys()];
    for (let i = 0; i < 40 && report.length < 6; i++) {
      const n = 2 + rng.int(2);
      // Every other list only of filters the kernel can flush (so the list is flushed there).
      const kernelOnly = i % 2 === 0;
      const one = (): Filter => {
        for (let k = 0;; k++) {
          const f = randomFilter(rng, t.byIdless.get(rng.pick(specList))!);
          if (!kernelOnly || k > 50 || ct.canFlushInKernel(f)) return f;
        }
      };
      const filters = Array.from({ length: n }, one);
      for (const [name, prop] of PROPERTIES) {
        if (name.includes("kernelFilterOnly")) continue;
        const err = prop(t, filters);
        if (err) report.push(`  ${name}\n    filters ${JSON.stringify(filters)}: ${err}`);
      }
    }
  } finally {
    ct.flushAll();
  }
  if (report.length) assert.fail(report.join("\n"));
  assert.ok(kernelFlushes > before, "some any-of lists were flushed in the kernel, one request per filter");
});

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
