/**
 * Every delete outcome is accounted for, even when another process deletes the same entries
 * at the same time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { assertThrowawayNetns } from "../_helpers/netns.ts";
import { Conntrack, type Flow } from "../../mod.ts";
import { isBun } from "../_helpers/run.ts";

assertThrowawayNetns();

const N = 100_000;
const flow = (i: number): Flow => ({
  family: "ipv4",
  proto: "udp",
  orig: {
    src: "10.9.0.1",
    dst: "10.9.0.2",
    sport: 1024 + (i % 50000),
    dport: 1 + Math.floor(i / 50000),
  },
  timeout: 600,
} as Flow);

/**
 * Starts test/kernel/_delete_half.ts deleting a seeded random half of the N flows; resolves
 * once it is deleting. `done()` waits for it to exit 0 and returns what it deleted and missed.
 */
async function halfDeleter(
  seed: number,
): Promise<{ done(): Promise<{ deleted: number; missing: number }> }> {
  const script = new URL("./_delete_half.ts", import.meta.url).pathname;
  const args = [script, String(N), String(seed)];
  const child = spawn(process.execPath, isBun ? args : ["run", "-A", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  const started = new Promise<void>((resolve) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("go ")) resolve();
    });
  });
  const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
  await started;
  return {
    async done() {
      assert.equal(await exited, 0);
      const [, deleted, missing] = /done (\d+) (\d+)/.exec(out)!.map(Number);
      return { deleted, missing };
    },
  };
}

test(
  "deleteMany of 100000 flows while another process deletes a random half: deleted + missing = 100000",
  { timeout: 120000 },
  async () => {
    using ct = Conntrack.open();
    ct.flushAll();
    const created = ct.createMany(Array.from({ length: N }, (_, i) => flow(i)));
    assert.equal(created.created, N);
    const flows = ct.list();
    assert.equal(flows.length, N);

    const child = await halfDeleter(12345);
    // The child is deleting now; delete all of them here at the same time, in one call.
    const r = ct.deleteMany(flows);
    const { deleted: childDeleted, missing: childMissing } = await child.done();
    assert.equal(r.failed.length, 0, r.failed[0]?.error.message);
    assert.equal(r.deleted + r.missing, N, "every outcome counted");
    assert.equal(
      r.deleted + childDeleted,
      N,
      "each entry deleted exactly once between the two processes",
    );
    assert.equal(r.missing, childDeleted, "what we missed, the child deleted");
    assert.ok(childMissing > 0 || r.missing > 0, "the two deleters did overlap");
    assert.equal(ct.count(), 0);
  },
);

test(
  "flush by a CIDR (dump read ahead + deletes) while another process deletes a random half: each entry deleted once",
  { timeout: 120000 },
  async () => {
    using ct = Conntrack.open();
    ct.flushAll();
    assert.equal(ct.createMany(Array.from({ length: N }, (_, i) => flow(i))).created, N);
    const child = await halfDeleter(777);
    const { deleted } = ct.flush({ dst: "10.9.0.0/24" }, { via: "dump" }); // only userspace can match a CIDR: the dump path
    const { deleted: childDeleted } = await child.done();
    assert.equal(
      deleted + childDeleted,
      N,
      "each entry deleted exactly once between the two processes",
    );
    assert.equal(ct.count(), 0);
  },
);
