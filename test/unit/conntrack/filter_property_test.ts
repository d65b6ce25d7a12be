/**
 * The userspace matcher of conntrack/filter.ts against the reference matcher of
 * test/_helpers/filter_property.ts (written from the documented meaning of each {@link Filter}
 * key, independently of filter.ts and address.ts): random varied tables × random legal filters,
 * single and any-of, without a kernel. (The same filters against the kernel's own filtering,
 * dumps and flushes: test/kernel/filter_property_test.ts.)
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileFilter, type Filter, type Flow } from "../../../mod.ts";
import { type FilterKind, FOCI, randomFilter } from "../../_helpers/filter_property_filters.ts";
import { referenceMatch } from "../../_helpers/filter_property_reference.ts";
import { describe, randomTable } from "../../_helpers/filter_property_table.ts";

// NAT and labels need entries the kernel made (NAT-done statuses, label storage): the kernel
// property test (test/kernel/filter_property_test.ts) covers them.
const KINDS: readonly FilterKind[] = [
  "any",
  "kernel",
  ...FOCI.filter((k) => k !== "nat" && k !== "labels"),
];
import { Rng } from "../../_helpers/rng.ts";

const FLOWS = 400;
const FILTERS = 200;

/** A random table as the flows a dump would return (ids added). */
function table(rng: Rng): Flow[] {
  return randomTable(rng, FLOWS).map((s, i) => ({ ...s, id: i + 1 }) as Flow);
}

/** Mismatches of `filters` (one filter or an any-of list) on `flows`, described, at most 5. */
function mismatches(
  filters: Filter | Filter[],
  flows: Flow[],
): { matched: number; wrong: string[] } {
  const c = compileFilter(filters);
  const list = Array.isArray(filters) ? filters : [filters];
  let matched = 0;
  const wrong: string[] = [];
  for (const f of flows) {
    const want = list.some((x) => referenceMatch(x, f));
    const got = c.match(f);
    if (got) matched++;
    if (got !== want && wrong.length < 5) {
      wrong.push(
        `${JSON.stringify(filters)}: match() says ${got}, the reference ${want}, for ${
          describe(f)
        }`,
      );
    }
  }
  return { matched, wrong };
}

for (const seed of [1, 2, 3]) {
  test(`seed ${seed}: compileFilter(f).match agrees with the reference matcher on ${FLOWS} random flows x ${FILTERS} random filters`, () => {
    const rng = new Rng(seed);
    const flows = table(rng);
    const wrong: string[] = [];
    let some = 0, all = 0;
    for (let i = 0; i < FILTERS && wrong.length < 10; i++) {
      const r = mismatches(randomFilter(rng, flows, rng.pick(KINDS)), flows);
      wrong.push(...r.wrong);
      if (r.matched > 0) some++;
      if (r.matched === flows.length) all++;
    }
    assert.deepEqual(wrong, []);
    // Not vacuous: most filters select something, and few select everything.
    assert.ok(some > FILTERS / 2, `${some} of ${FILTERS} filters matched a flow`);
    assert.ok(all < FILTERS / 10, `${all} of ${FILTERS} filters matched every flow`);
  });
}

test("any-of lists of 2-3 random filters match the union of what the reference matches", () => {
  const rng = new Rng(0xa11);
  const flows = table(rng);
  const wrong: string[] = [];
  for (let i = 0; i < 100 && wrong.length < 10; i++) {
    const list = Array.from(
      { length: 2 + rng.int(2) },
      () => randomFilter(rng, flows, rng.pick(KINDS)),
    );
    wrong.push(...mismatches(list, flows).wrong);
  }
  assert.deepEqual(wrong, []);
});
