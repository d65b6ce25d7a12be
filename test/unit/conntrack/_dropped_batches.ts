// Child of dump_batches_test.ts (run with a collector it can call: Deno --v8-flags=--expose-gc,
// Bun.gc): takes one entry from a dump read a datagram at a time, drops the iterator without
// return(), collects it, and prints what became of the dump's socket as JSON.
import process from "node:process";
import { Conntrack } from "../../../conntrack/client.ts";
import { kernelLike } from "../../_helpers/kernel_like.ts";
import { scriptedFactory } from "../../_helpers/scripted.ts";

const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
const gc = g.gc ?? (() => g.Bun!.gc(true));
const way = process.argv[2];
const f = scriptedFactory((t) => t.onSend = kernelLike);
const ct = Conntrack.open({ transport: f.factory });
(() => {
  const it = way === "lines" ? ct.lines() : ct.dump(); // neither finished nor returned
  it.next();
})();
for (let i = 0; i < 100 && !f.opened[0].closed; i++) {
  gc();
  await new Promise((r) => setTimeout(r, 10));
}
const freed = f.opened[0].closed;
const count = ct.count(); // on the main socket again once it was freed
console.log(
  JSON.stringify({ freed, count, opened: f.opened.length, sent: f.opened[1]?.sent.length }),
);
ct.close();
