/**
 * Reliable destroy events (`reliable: true`: `NETLINK_BROADCAST_ERROR` + `NETLINK_NO_ENOBUFS`)
 * against the real kernel: a slow consumer with a small receive buffer while 20,000 entries are
 * deleted at once. Without the option destroy events are lost (and an overrun reported); with
 * it every one arrives, while the kernel holds the undelivered entries on its dying list.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertThrowawayNetns } from "../_helpers/netns.ts";
import { sleep } from "../_helpers/wait.ts";
import { Conntrack, type Flow } from "../../mod.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };
const N = 20000;

function udp(i: number): Flow {
  return {
    family: "ipv4",
    proto: "udp",
    timeout: 600,
    orig: {
      src: `10.66.${(i >> 8) & 255}.${i & 255}`,
      dst: "10.67.0.1",
      sport: 2000 + (i % 1000),
      dport: 53,
    },
  } as Flow;
}

interface Run {
  /** Distinct destroyed entries reported (by id and source address). */
  distinct: number;
  /** Destroy events received, duplicates included. */
  received: number;
  overruns: number;
  lost: number;
  /** From the delete to the last destroy event, in ms. */
  ms: number;
  /** Entries on the dying list right after the delete; most seen in count() after it. */
  peakDying: number;
  peakCount: number;
}

/**
 * Creates N entries, starts a destroy listener with a small buffer that reads slowly (a pause
 * every 100 events), deletes them all in batches, and counts what arrives until everything did
 * or nothing came for `idleMs`.
 */
async function slowConsumer(reliable: boolean, idleMs: number): Promise<Run> {
  using ct = Conntrack.open();
  ct.flushAll();
  // The listener first: with net.netfilter.nf_conntrack_events=2 (the default) an entry created
  // while no ctnetlink listener exists gets no event cache and never reports its destroy.
  const stream = ct.events({
    types: ["destroy"],
    reliable,
    receiveBufferSize: 256 << 10,
    filter: { src: "10.66.0.0/16" },
  });
  const flows = Array.from({ length: N }, (_, i) => udp(i));
  assert.equal(ct.createMany(flows).created, N);
  const run: Run = {
    distinct: 0,
    received: 0,
    overruns: 0,
    lost: 0,
    ms: 0,
    peakDying: 0,
    peakCount: 0,
  };
  const seen = new Set<string>();
  let deleted = false;
  const t0 = performance.now();
  // count() is O(1); a dump of the dying list is not (and would slow the consumer): one, below.
  const sampler = setInterval(() => {
    if (deleted) run.peakCount = Math.max(run.peakCount, ct.count());
  }, 20);
  try {
    const pending = stream.next();
    assert.equal(ct.deleteMany(flows).deleted, N);
    deleted = true;
    run.peakDying = Array.from(ct.dying()).length;
    run.peakCount = ct.count();
    let next = pending;
    let last = performance.now();
    while (seen.size < N) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<"idle">((r) => (timer = setTimeout(() => r("idle"), idleMs)));
      const r = await Promise.race([next, idle]);
      clearTimeout(timer);
      if (r === "idle") break;
      if (r.done) break;
      const ev = r.value;
      if (ev.type === "overrun") {
        run.overruns++;
        run.lost += ev.lost ?? 0;
      } else if (ev.type === "destroy") {
        run.received++;
        seen.add(`${ev.flow.id} ${ev.flow.orig.src}`);
        last = performance.now();
        if (run.received % 100 === 0) await sleep(5); // the slow consumer
      }
      next = stream.next();
    }
    run.distinct = seen.size;
    run.ms = Math.round(last - t0);
  } finally {
    clearInterval(sampler);
    stream.close();
  }
  // Once every destroy is delivered nothing stays on the dying list.
  for (let i = 0; i < 50 && ct.count() > 0; i++) await sleep(100);
  assert.equal(Array.from(ct.dying()).length, 0, "nothing left on the dying list");
  return run;
}

test("without reliable, a slow consumer loses destroy events and is told so", T, async () => {
  const r = await slowConsumer(false, 1500);
  console.log(`unreliable: ${JSON.stringify(r)}`);
  assert.ok(r.distinct < N, `some destroy events were lost (${r.distinct} of ${N} arrived)`);
  assert.ok(r.overruns > 0, "the loss was reported as an overrun");
  assert.equal(r.peakDying, 0, "without reliable the kernel keeps nothing for the listener");
});

test(
  "reliable: a slow consumer gets every one of 20000 destroy events; the kernel holds the rest on the dying list",
  T,
  async () => {
    const r = await slowConsumer(true, 5000);
    console.log(`reliable: ${JSON.stringify(r)}`);
    assert.equal(r.distinct, N, "zero destroy events lost");
    assert.equal(
      r.overruns,
      0,
      "a destroy-only reliable stream reports no overrun: nothing is lost",
    );
    assert.ok(r.peakDying > 0, "undelivered entries waited on the dying list");
    assert.ok(r.peakCount >= r.peakDying, "and count() includes them");
  },
);
