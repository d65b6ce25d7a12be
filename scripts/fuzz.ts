/**
 * Long fuzzing run of nfct's decoders and reply reader (the short run is test/unit/conntrack/fuzz_test.ts).
 * Needs no privilege and no network namespace: nothing here opens a socket.
 *
 *   deno run -A scripts/fuzz.ts [count=1000000] [seed=1]
 *   bun scripts/fuzz.ts [count=1000000] [seed=1]
 *
 * Prints progress and inputs/s, and each failing input as hex (one datagram per line); exits 1
 * if there was any. A run is deterministic for a given seed, so a failure can be replayed.
 * @module
 */
import process from "node:process";
import { describeFailure, Fuzzer } from "../test/_helpers/fuzz.ts";

const args = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const count = Number(args[0] ?? 1_000_000);
const seed = Number(args[1] ?? 1);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed)) {
  console.error("usage: fuzz.ts [count] [seed]   (positive integers)");
  process.exit(2);
}

const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
console.log(`fuzzing ${count} inputs, seed ${seed}, on ${runtime}`);
const fuzzer = new Fuzzer(seed);
const failures = [];
const t0 = performance.now();
let last = t0;
let done = 0;
for (let i = 0; i < count; i++, done++) {
  const f = fuzzer.step(i);
  if (f) {
    failures.push(f);
    console.log(`FAIL ${describeFailure(f)}`);
    if (failures.length >= 20) {
      console.log("stopping after 20 failures");
      break;
    }
  }
  if ((i & 0xfff) === 0) {
    const now = performance.now();
    if (now - last > 5000) {
      last = now;
      console.log(`  ${i} inputs, ${Math.round(i / ((now - t0) / 1000))} inputs/s`);
    }
  }
}
const secs = (performance.now() - t0) / 1000;
for (const [name, t] of Object.entries(fuzzer.targets).sort()) {
  console.log(
    `  ${name.padEnd(26)} ${
      String(t.runs).padStart(8)
    } runs, ${t.ok} decoded, ${t.rejected} rejected`,
  );
}
console.log(
  `${done} inputs in ${secs.toFixed(1)} s: ${
    Math.round(done / secs)
  } inputs/s, ${failures.length} failures`,
);
if (failures.length) {
  console.log(`first failure: input #${failures[0].iteration} (replay with seed ${seed})`);
}
process.exit(failures.length ? 1 : 0);
