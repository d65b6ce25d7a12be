/**
 * Kernel-flush proofs remembered for the boot (conntrack/flush_proofs.ts): a fresh process that
 * finds a trusted record of the shape skips the scratch-namespace proof (no `unshare`, seen with
 * strace) and still deletes exactly the right entries; a record anyone but root could have
 * written, or one of another boot, is ignored and the proof runs again. Each test uses its own
 * record folder (NFCT_STATE_DIR), never /run/nfct.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { assertThrowawayNetns } from "../_helpers/netns.ts";

assertThrowawayNetns();
const T = { timeout: 120000 };
const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
const child = new URL("./_flush_proof_child.ts", import.meta.url).pathname;

/** Runs the child under strace; its result and whether it entered a new network namespace. */
function run(dir: string, extraEnv: Record<string, string> = {}) {
  const argv = isDeno
    ? [process.execPath, "run", "-A", "--no-check", child]
    : [process.execPath, child];
  const trace = `${dir}.strace`;
  const r = spawnSync("strace", ["-f", "-qq", "-e", "trace=unshare", "-o", trace, ...argv], {
    encoding: "utf8",
    env: { ...process.env, NFCT_STATE_DIR: dir, ...extraEnv },
    timeout: 60000,
  });
  assert.equal(r.status, 0, r.stderr);
  const calls = readFileSync(trace, "utf8");
  rmSync(trace, { force: true });
  const out = JSON.parse(r.stdout.trim()) as {
    via: string;
    deleted: number | null;
    left: string[];
  };
  return { ...out, proved: /unshare\(CLONE_NEWNET\)/.test(calls) };
}

function exact(r: ReturnType<typeof run>): void {
  assert.equal(r.via, "kernel");
  assert.equal(r.left.length, 200, "the 200 TCP flows are left");
  assert.ok(r.left.every((p) => p === "tcp"), "only TCP flows are left");
}

test(
  "the first process proves and records the shape; the next one skips the proof and deletes exactly the same",
  T,
  () => {
    const dir = mkdtempSync("/tmp/nfct-proofs-"); // root's, 0700
    try {
      const first = run(dir);
      exact(first);
      assert.equal(first.proved, true, "the first process proves on a scratch namespace");
      const lines = readFileSync(`${dir}/flush-proofs`, "utf8").split("\n");
      assert.match(lines[0], /^nfct-flush-proofs v\d+ boot=[0-9a-f-]{36} kernel=\S+$/);
      assert.ok(lines.length >= 3, "one shape recorded");
      const second = run(dir);
      exact(second);
      assert.equal(second.proved, false, "the second process trusts the record");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  "a record others could write, one of another boot, or NFCT_FLUSH_PROOFS=0: the proof runs again",
  T,
  () => {
    const dir = mkdtempSync("/tmp/nfct-proofs-");
    const file = `${dir}/flush-proofs`;
    try {
      exact(run(dir));
      chmodSync(file, 0o666);
      assert.equal(run(dir).proved, true, "a world-writable record is ignored");
      chmodSync(dir, 0o777);
      assert.equal(run(dir).proved, true, "a record in a world-writable folder is ignored");
      chmodSync(dir, 0o700);
      const text = readFileSync(file, "utf8");
      writeFileSync(file, text.replace(/boot=\S+/, "boot=00000000-0000-0000-0000-000000000000"), {
        mode: 0o644,
      });
      chmodSync(file, 0o644);
      assert.equal(run(dir).proved, true, "a record of another boot is ignored");
      rmSync(file);
      const off = run(dir, { NFCT_FLUSH_PROOFS: "0" });
      exact(off);
      assert.equal(off.proved, true);
      assert.equal(existsSync(file), false, "NFCT_FLUSH_PROOFS=0 writes no record");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
