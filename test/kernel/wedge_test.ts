/**
 * A client never wedges: dump iterators dropped half-way (neither finished nor `return()`ed),
 * 1, 2 or 100 of them, with and without read-ahead, leave the client usable for the next call,
 * and never hold a finished process for long (Deno: at most the read-ahead worker's 0.2 s
 * give-up; Bun: its workers are unref'd).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { test } from "node:test";
import { Conntrack, type Flow } from "../../mod.ts";
import { assertThrowawayNetns } from "../_helpers/netns.ts";
import { isBun } from "../_helpers/run.ts";

assertThrowawayNetns();

const T = { timeout: 180000 };
const N = 30000;

function fill(ct: Conntrack): void {
  ct.flushAll();
  const flows = Array.from({ length: N }, (_, i) => ({
    family: "ipv4",
    proto: "udp",
    orig: {
      src: `10.77.${i >> 8}.${i & 255}`,
      dst: "10.78.0.1",
      sport: 1000 + (i % 50000),
      dport: 53,
    },
    timeout: 600,
  } as Flow));
  assert.equal(ct.createMany(flows).created, N);
}

/** Starts `n` dumps and takes `take` flows from each, then drops them all. */
function abandon(ct: Conntrack, n: number, take: number, readAhead: boolean): void {
  for (let k = 0; k < n; k++) {
    const it = ct.dump(undefined, { readAhead });
    for (let i = 0; i < take; i++) assert.equal(it.next().done, false);
  }
}

for (const readAhead of [false, true]) {
  test(
    `1, 2 and 100 dropped dump iterators (readAhead ${readAhead}) leave the client usable`,
    T,
    () => {
      using ct = Conntrack.open();
      fill(ct);
      // With read-ahead, deep enough into the dump (past 128 KiB) that a worker has started.
      const take = readAhead ? 2000 : 5;
      for (const n of [1, 2, 100]) {
        abandon(ct, n, take, readAhead);
        assert.equal(ct.count(), N, `count after ${n} dropped`);
        assert.equal(ct.list({ dst: "10.78.0.1" }).length, N, `a whole dump after ${n} dropped`);
        const one = ct.get({
          proto: "udp",
          orig: { src: "10.77.0.1", dst: "10.78.0.1", sport: 1001, dport: 53 },
        });
        assert.equal(one?.orig.sport, 1001);
        assert.equal(ct.flush({ src: "10.77.0.0/24" }, { via: "dump" }).deleted, 256);
        assert.equal(
          ct.createMany(Array.from({ length: 256 }, (_, i) => ({
            family: "ipv4",
            proto: "udp",
            orig: { src: `10.77.0.${i}`, dst: "10.78.0.1", sport: 1000 + i, dport: 53 },
            timeout: 600,
          } as Flow))).created,
          256,
        );
      }
      ct.flushAll();
    },
  );
}

/** A child that fills N entries, drops `n` read-ahead dumps half-way and ends; ms from its last line to its exit. */
function exitDelay(n: number): Promise<number> {
  const code = `
import { Conntrack } from ${JSON.stringify(new URL("../../mod.ts", import.meta.url).href)};
const ct = Conntrack.open();
ct.flushAll();
const flows = Array.from({ length: ${N} }, (_, i) => ({ family: "ipv4", proto: "udp",
  orig: { src: \`10.79.\${i >> 8}.\${i & 255}\`, dst: "10.78.0.2", sport: 1000 + (i % 50000), dport: 53 }, timeout: 600 }));
ct.createMany(flows);
for (let k = 0; k < ${n}; k++) {
  const it = ct.dump(undefined, { readAhead: true });
  for (let i = 0; i < 2000; i++) it.next();
}
console.log("done");
`;
  const args = isBun ? ["-e", code] : ["eval", "--ext=ts", code];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  let at = 0, out = "";
  child.stdout!.on("data", (d: Uint8Array) => {
    out += new TextDecoder().decode(d);
    if (!at && out.includes("done")) at = performance.now();
  });
  return new Promise((resolve, reject) => {
    child.on("exit", (status) => {
      if (status !== 0 || !at) reject(new Error(`child exited ${status} (${out.trim()})`));
      else resolve(performance.now() - at);
    });
  });
}

test(
  "a process that dropped read-ahead dumps half-way exits at once (Deno: within the worker's 0.2 s give-up)",
  T,
  async () => {
    using ct = Conntrack.open();
    // The same script without a dropped dump: how long a process takes to exit on this machine
    // now (under load, seconds); the budget is on top of that.
    const control = await exitDelay(0);
    for (const n of [1, 2]) {
      const ms = await exitDelay(n);
      assert.ok(
        ms < control + (isBun ? 500 : 900),
        `${n} dropped: exit ${ms.toFixed(0)} ms after the script's end (${
          control.toFixed(0)
        } ms without)`,
      );
    }
    ct.flushAll();
  },
);
