#!/usr/bin/env node
// The static checks, each one a test: `deno fmt --check`, `deno lint`, `deno doc --lint mod.ts`
// (every public symbol documented, no public type naming a private one), and `deno check` of
// every TypeScript file with the code examples of the doc comments (`--doc`: every @example
// type-checks, importing nfct by its package name). Prints "static: N passed, N failed".
//   node scripts/static.mjs
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const deno = join(root, "node_modules", ".bin", "deno");
const SKIP = new Set(["node_modules", "dist", ".git", "out", "results"]);

/** Every .ts file of the checkout, relative to it (without node_modules, dist, bench output). */
function tsFiles(dir = root) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith(".ts")) out.push(relative(root, p));
  }
  return out.sort();
}

const files = tsFiles();
const source = files.filter((f) =>
  !f.startsWith("test/") && !f.startsWith("bench/") && !f.startsWith("scripts/")
);
const checks = [
  ["deno fmt --check", ["fmt", "--check"]],
  ["deno lint", ["lint"]],
  ["deno doc --lint mod.ts", ["doc", "--lint", "mod.ts"]],
  [`deno check: ${files.length} files`, ["check", "--quiet", ...files]],
  [`deno check --doc: the examples of ${source.length} source files`, [
    "check",
    "--quiet",
    "--doc",
    ...source,
  ]],
];

let passed = 0, failed = 0;
for (const [name, args] of checks) {
  const r = spawnSync(deno, args, {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (r.status === 0) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name} (exit ${r.status})`);
    const text = ((r.stdout ?? "") + (r.stderr ?? "")).trim().split("\n");
    console.log(text.slice(0, 60).map((l) => `    ${l}`).join("\n"));
    if (text.length > 60) console.log(`    … ${text.length - 60} more lines`);
  }
}
console.log(`\nstatic: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
