/**
 * Child of bench/table.ts: dumps the whole table into typed flows and reports the process's
 * peak RSS (VmHWM), so the figure is the dump's alone, not the fill's.
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { Conntrack } from "../mod.ts";

const rssPeak = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))![1]) * 1024;
using ct = Conntrack.open();
const t = performance.now();
let n = 0, bytes = 0;
for (const f of ct.dump()) {
  n++;
  bytes += f.orig.sport ?? 0; // touch the flow so nothing is optimised away
}
const s = (performance.now() - t) / 1000;
process.stdout.write(JSON.stringify({ entries: n, seconds: s, peakRss: rssPeak(), check: bytes > 0 }) + "\n");
