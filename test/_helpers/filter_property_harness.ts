/**
 * The harness of the filter property test (test/kernel/filter_property_test.ts): the kernel
 * table under test and what it held when last listed, the comparison of selected sets, the
 * shrinking of a failing filter, and statistics of the keys the filters used.
 * @module
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import process from "node:process";
import type { Conntrack, Filter, Filters, Flow } from "../../mod.ts";
import { smaller } from "./filter_property_filters.ts";
import { referenceMatch } from "./filter_property_reference.ts";
import { describe, flowKey, type Spec } from "./filter_property_table.ts";

/**
 * Label storage in this (throwaway) namespace while the returned handle lives: the kernel keeps
 * labels only in entries created while a rule that sets labels exists.
 */
export function labelStorage(): Disposable {
  const name = `nfct_property_${process.pid}`;
  execFileSync("nft", ["-f", "-"], {
    input: `table inet ${name} {
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport 9 ct label set 127
  }
}
`,
  });
  return { [Symbol.dispose]: () => execFileSync("nft", ["delete", "table", "inet", name]) };
}

/** The keys (with id) of `flows`. */
export const keysOf = (flows: Iterable<Flow>): Set<string> =>
  new Set(Array.from(flows, (f) => flowKey(f)));

/** A table made from specs, and what it held when last listed. */
export class Table {
  readonly ct: Conntrack;
  /** Create specs by their id-less key. */
  readonly specs = new Map<string, Spec>();
  /** The table as last listed, by key (with id). */
  baseline = new Map<string, Flow>();
  /** The same by id-less key. */
  byIdless = new Map<string, Flow>();
  /** The id-less key of every id ever listed (re-created entries get new ids). */
  #keyOfId = new Map<number, string>();

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
    for (const [k, f] of this.byIdless) this.#keyOfId.set(f.id!, k);
    const extra = [...this.byIdless.keys()].filter((k) => !this.specs.has(k));
    const missing = [...this.specs.keys()].filter((k) => !this.byIdless.has(k));
    assert.deepEqual({ missing: missing.slice(0, 3), extra: extra.slice(0, 3) }, {
      missing: [],
      extra: [],
    }, "the table is what was created");
    assert.equal(this.baseline.size, this.specs.size, "one dumped entry per spec");
  }

  /** The entries as last listed, in the order of the specs (the kernel's order is its hash's). */
  flows(): Flow[] {
    return [...this.specs.keys()].map((k) => this.byIdless.get(k)!);
  }

  /** `filter` with each `id` moved to the current id of the entry it named (if any). */
  current(filter: Filters): Filters {
    return mapIds(filter, (id) => {
      const k = this.#keyOfId.get(id);
      return (k !== undefined ? this.byIdless.get(k)?.id : undefined) ?? id;
    });
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

  /** The keys of the baseline entries `filter` selects (an array: those any of them selects). */
  expected(filter: Filters): Set<string> {
    const list: readonly Filter[] = Array.isArray(filter) ? filter : [filter as Filter];
    const out = new Set<string>();
    for (const [k, f] of this.baseline) if (list.some((x) => referenceMatch(x, f))) out.add(k);
    return out;
  }

  #create(specs: Spec[]): void {
    const r = this.ct.createMany(specs);
    const f = r.failed[0];
    const nat = f && (f.flow.natSrc || f.flow.natDst)
      ? " (entries with natSrc/natDst need the kernel's nf_nat: CONFIG_NF_NAT, modprobe nf_nat)"
      : "";
    assert.equal(
      r.failed.length,
      0,
      `create failed: ${f?.error.message} for ${JSON.stringify(f?.flow)}${nat}`,
    );
  }
}

/**
 * "" when `got` equals `want`; else what is missing and extra (`superset`: only missing counts),
 * with examples shown by `t`'s last listing.
 */
export function compare(t: Table, want: Set<string>, got: Set<string>, superset = false): string {
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

/** Drops conditions from a failing filter while it still fails (at most `budget` checks). */
export function shrink(
  t: Table,
  filter: Filter,
  prop: (t: Table, f: Filter) => string,
  budget = 60,
): Filter {
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

/** The kind of filter, for grouping failures: its keys, address family and exact/CIDR/netmask. */
export function shape(f: Filter): string {
  const a = (k: string, v: string) =>
    `${k}:${v.includes(":") ? "v6" : "v4"}${
      !v.includes("/") ? "exact" : /\/\d+$/.test(v) ? "cidr" : "netmask"
    }`;
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

/** `f` with every `id` condition (also in `not`) replaced by `now(id)`. */
function mapIds(f: Filters, now: (id: number) => number): Filters {
  if (Array.isArray(f)) return f.map((x) => mapIds(x, now) as Filter);
  const g: Filter = { ...(f as Filter) };
  if (g.id !== undefined) g.id = now(g.id);
  if (g.not !== undefined) g.not = mapIds(g.not, now);
  return g;
}

/** The group a key belongs to in the statistics (NAT, ICMP fields, GRE keys), if any. */
const GROUP: Record<string, string> = {
  srcNat: "nat",
  dstNat: "nat",
  anyNat: "nat",
  icmpType: "icmp",
  icmpCode: "icmp",
  icmpId: "icmp",
  srcKey: "gre",
  dstKey: "gre",
};

/**
 * The kinds of condition `f` has, also inside `not`: its keys (`reply.x` for the reply tuple's),
 * `netmask` / `cidr` when an address has one, and `nat` / `icmp` / `gre` for any key of those.
 */
function filterKeys(f: Filters, out = new Set<string>()): Set<string> {
  for (const x of (Array.isArray(f) ? f : [f]) as Filter[]) {
    for (const [k, v] of Object.entries(x)) {
      if (k === "not") filterKeys(v as Filters, out);
      const names = k === "reply" ? Object.keys(v) : [k];
      for (const n of names) {
        out.add(k === "reply" ? `reply.${n}` : n);
        if (GROUP[n]) out.add(GROUP[n]);
      }
      for (const a of k === "reply" ? [v.src, v.dst] : k === "src" || k === "dst" ? [v] : []) {
        if (typeof a !== "string" || !a.includes("/")) continue;
        out.add(/\/\d+$/.test(a) ? "cidr" : "netmask");
      }
    }
  }
  return out;
}

/** The newer kinds of condition, shown first in the statistics. */
const NEWER = ["nat", "labels", "icmp", "gre", "netmask", "id", "timeout"];

/** Filters per key in a round: used, and selecting some but not every entry. */
export class KeyStats {
  readonly used = new Map<string, number>();
  readonly selective = new Map<string, number>();
  add(f: Filters, selected: number, total: number): void {
    for (const k of filterKeys(f)) {
      this.used.set(k, (this.used.get(k) ?? 0) + 1);
      if (selected > 0 && selected < total) this.selective.set(k, (this.selective.get(k) ?? 0) + 1);
    }
  }
  /** `key selective/used, …`: the newer kinds first, then every key. */
  toString(): string {
    const one = (k: string) => `${k} ${this.selective.get(k) ?? 0}/${this.used.get(k) ?? 0}`;
    const rest = [...this.used.keys()].filter((k) => !NEWER.includes(k)).sort();
    return `${NEWER.map(one).join(", ")}; ${rest.map(one).join(", ")}`;
  }
}
