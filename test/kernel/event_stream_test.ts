/**
 * The event stream past its receive buffer, against the real kernel in a throwaway network
 * namespace: an overrun is reported with the exact number of events lost and the stream goes on;
 * with resync, a flood still ends with exactly the kernel's table.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Conntrack, type Flow } from "../../mod.ts";
import { isFlow, readUntil, udpFlow as udp } from "../_helpers/events.ts";
import { assertThrowawayNetns } from "../_helpers/netns.ts";

assertThrowawayNetns();

const T = { timeout: 60000 };

test(
  "flooding past a small receive buffer reports an overrun with the exact number lost, and the stream goes on",
  T,
  async () => {
    using ct = Conntrack.open();
    const stream = ct.events({
      types: ["new"],
      filter: { src: "10.23.0.0/16" },
      receiveBufferSize: 16384,
    });
    const N = 3000;
    const flows = Array.from({ length: N }, (_, i) => udp(i, 23));
    assert.equal(ct.createMany(flows).created, N); // synchronous: nobody reads meanwhile
    // The queue is still full when the overrun is read: create the marker once it has drained.
    const marker = udp(60000, 23);
    let made = false;
    const evs = await readUntil(stream, (e) => {
      if (e.type === "overrun" && !made) made = !!setTimeout(() => ct.create(marker), 100);
      return isFlow(e) && e.flow.orig.src === marker.orig.src;
    });
    stream.close();
    const overruns = evs.filter((e) => e.type === "overrun") as { lost?: number }[];
    const received = evs.filter((e) => isFlow(e) && e.flow.orig.src !== marker.orig.src).length;
    assert.ok(overruns.length >= 1, "an overrun was reported");
    const lost = overruns.reduce((s, o) => s + (o.lost ?? NaN), 0);
    assert.ok(received > 0 && received < N, `received ${received}`);
    assert.equal(received + lost, N, `received ${received} + lost ${lost} = ${N}`);
    ct.flush({ src: "10.23.0.0/16" });
  },
);

test(
  "with resync, a flood past the buffer still ends with exactly the kernel's table",
  T,
  async () => {
    using ct = Conntrack.open();
    const filter = { src: "10.24.0.0/16" };
    ct.flush(filter);
    const stream = ct.events({
      types: ["new", "destroy"],
      filter,
      receiveBufferSize: 16384,
      resync: true,
    });
    const table = new Map<number, Flow>();
    const flows = Array.from({ length: 2500 }, (_, i) => udp(i, 24));
    ct.createMany(flows);
    ct.deleteMany(flows.filter((_, i) => i % 3 === 0));
    // Queued events (and a marker made now) are dropped by the resync: make it after the resync.
    const marker = udp(60001, 24);
    let resyncs = 0;
    await readUntil(stream, (e) => {
      if (e.type === "resync") {
        if (resyncs++ === 0) setTimeout(() => ct.create(marker), 100);
        table.clear();
        for (const f of e.flows) table.set(f.id!, f);
      } else if (isFlow(e)) {
        if (e.type === "destroy") table.delete(e.flow.id!);
        else table.set(e.flow.id!, e.flow);
        return e.flow.orig.src === marker.orig.src && e.type === "new";
      }
      return false;
    }, 20000);
    stream.close();
    assert.ok(resyncs >= 1, "at least one resync");
    const truth = ct.list(filter).map((f) => f.id!).sort((a, b) => a - b);
    assert.equal(truth.length, 2500 - 834 + 1);
    assert.deepEqual([...table.keys()].sort((a, b) => a - b), truth);
    ct.flush(filter);
  },
);
