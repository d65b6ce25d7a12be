#!/usr/bin/env node
// nfct vs conntrack(8) over many seeds, shrinking each divergence (scripts/differential.ts),
// in a throwaway network namespace, on Deno (default) or Bun:
//   node scripts/differential.mjs --seeds 1-200 [--runtime deno|bun] [--lines 60] [--events]
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const i = args.indexOf("--runtime");
const runtime = i === -1 ? "deno" : args[i + 1];
const run = runtime === "bun"
  ? ["bun", "scripts/differential.ts"]
  : ["deno", "run", "-A", "--no-check", "scripts/differential.ts"];
const r = spawnSync("node", [join(root, "scripts", "netns.mjs"), ...run, ...args], {
  stdio: "inherit",
  cwd: root,
});
process.exit(r.status ?? 1);
