#!/usr/bin/env node
// Runs a command inside a fresh, throwaway network namespace (its own, empty conntrack table).
// As root: `unshare -n`; otherwise `unshare -rn` (a user namespace that maps you to root).
// Usage: node scripts/netns.mjs <command> [args...]   (deno/bun resolve to node_modules/.bin)
import { spawnSync } from "node:child_process";
import { existsSync, readlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pathWithSbin } from "./_tools.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error("usage: node scripts/netns.mjs <command> [args...]");
  process.exit(2);
}
const local = join(root, "node_modules", ".bin", cmd);
const exe = existsSync(local) ? local : cmd;
const isRoot = process.getuid?.() === 0;
const env = {
  ...process.env,
  PATH: pathWithSbin(),
  NFCT_HOST_NETNS: readlinkSync("/proc/self/ns/net"),
};
const r = spawnSync("unshare", [isRoot ? "-n" : "-rn", "--", exe, ...args], {
  stdio: "inherit",
  cwd: root,
  env,
});
if (r.error) {
  console.error(
    `Cannot start a network namespace: ${r.error.message} (is util-linux's unshare installed?)`,
  );
  process.exit(1);
}
process.exit(r.status ?? 1);
