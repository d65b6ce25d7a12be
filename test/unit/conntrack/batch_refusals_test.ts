/**
 * Hostile batches (createMany, deleteMany; batch.ts): refused before anything is sent, a bad
 * item anywhere in an array refuses the whole array, and a lazy iterable reports what was sent
 * before its bad item (test/_helpers/refusals.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { KEY, keys, refused, scripted } from "../../_helpers/refusals.ts";

// --- Batches

for (const bad of [undefined, null, 5, "abc", { length: 1, 0: KEY }, true]) {
  refused(`createMany(${JSON.stringify(bad)})`, (ct) => ct.createMany(bad as never));
  refused(`deleteMany(${JSON.stringify(bad)})`, (ct) => ct.deleteMany(bad as never));
}

test("deleteMany([...200 keys, badItem]) deletes nothing: the array is checked whole", () => {
  const s = scripted();
  const ct = s.open();
  assert.throws(
    () => ct.deleteMany([...keys(200), { ...keys(1)[0], mrak: 7 } as never]),
    (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match((e as Error).message, /unknown key "mrak".*item 200 of 201: nothing was sent/);
      assert.equal((e as { sent?: number }).sent, 0);
      return true;
    },
  );
  assert.equal(s.sent(), 0);
  ct.close();
});

test("createMany([...200 flows, badItem]) creates nothing", () => {
  const s = scripted();
  const ct = s.open();
  const flows = keys(200).map((k) => ({ ...k, timeout: 30 }));
  assert.throws(() => ct.createMany([...flows, { ...flows[0], timeout: -1 }]), RangeError);
  assert.equal(s.sent(), 0);
  ct.close();
});

for (const op of ["deleteMany", "createMany"] as const) {
  test(`${op} of a lazy iterable stops at a bad item: the error says how many were sent, with their outcome`, () => {
    const s = scripted();
    const ct = s.open();
    const good = keys(200).map((k) => ({ ...k, timeout: 30 }));
    function* items() {
      yield* good;
      yield { ...good[0], sport: 70000, orig: { ...good[0].orig, sport: 70000 } };
      yield* good; // never reached
    }
    let err: unknown;
    try {
      if (op === "deleteMany") ct.deleteMany(items() as never);
      else ct.createMany(items() as never);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof TypeError || err instanceof RangeError, `threw ${String(err)}`);
    const e = err as Error & {
      sent: number;
      result: { deleted?: number; created?: number; failed: unknown[] };
    };
    assert.equal(e.sent, 200);
    assert.match(e.message, /item 200: the 200 items before it were sent/);
    assert.equal(s.sent(), 200, "exactly the items before the bad one went out");
    assert.equal(op === "deleteMany" ? e.result.deleted : e.result.created, 200);
    assert.equal(e.result.failed.length, 0);
    ct.close();
  });
}

test("a lazy iterable that throws reports what was sent before it, with its own error", () => {
  const s = scripted();
  const ct = s.open();
  const boom = new Error("source failed");
  function* items() {
    yield* keys(3);
    throw boom;
  }
  assert.throws(() => ct.deleteMany(items()), (e: unknown) => {
    assert.equal(e, boom);
    assert.equal((e as { sent?: number }).sent, 3);
    assert.equal((e as { result?: { deleted: number } }).result?.deleted, 3);
    assert.equal((e as Error).message, "source failed", "the caller's message is left alone");
    return true;
  });
  assert.equal(s.sent(), 3);
  ct.close();
});
