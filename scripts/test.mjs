#!/usr/bin/env node
// Runs the static checks (scripts/static.mjs), then every test on Deno and on Bun: unit tests (no
// privilege) and kernel tests, each kernel test file in a throwaway network namespace of its own
// (nothing one file leaves in its table can change another's). Prints "N passed, N failed" at the end and exits
// non-zero on any failure, or if the kernel tests could not run (they never silently skip).
//   node scripts/test.mjs            all tests
//   node scripts/test.mjs --unit     unit tests only
//   NFCT_KERNEL_TESTS=a_test.ts,b_test.ts node scripts/test.mjs   only those kernel test files
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureTools, KERNEL_TEST_TOOLS, pathWithSbin } from "./_tools.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const unitOnly = process.argv.includes("--unit");
const isRoot = process.getuid?.() === 0;

for (const rt of ["deno", "bun"]) {
  if (!existsSync(bin(rt))) {
    console.error(`${rt} is not installed in node_modules: run \`npm install\` first`);
    process.exit(1);
  }
}

// deno-lint-ignore no-control-regex -- strips ANSI colour codes
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");
let passed = 0, failed = 0;
const problems = [];

function run(label, argv, parse, mayBeEmpty = false) {
  console.log(`\n=== ${label}: ${argv.join(" ")}`);
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd: root,
    encoding: "utf8",
    env: {
      ...process.env,
      PATH: pathWithSbin(),
      NFCT_HOST_NETNS: readlinkSync("/proc/self/ns/net"),
    },
    maxBuffer: 256 << 20,
  });
  const out = (r.stdout ?? "") + (r.stderr ?? "");
  process.stdout.write(out);
  const counts = parse(strip(out));
  for (const name of failedNames(strip(out))) problems.push(`${label}: failed: ${name}`);
  if (!counts) {
    problems.push(`${label}: no test summary found (exit ${r.status})`);
    failed++;
    return;
  }
  passed += counts.passed;
  failed += counts.failed;
  if (counts.passed === 0 && !mayBeEmpty) problems.push(`${label}: ran no test`);
  if (r.status !== 0 && counts.failed === 0) {
    problems.push(`${label}: exited ${r.status}`);
    failed++;
  }
}

// The names of the failed tests, repeated at the end: CI keeps only the tail of the output.
// deno: the lines of its " FAILURES " block ("name => ./test/x_test.ts:1:6"); bun: "(fail) name".
function failedNames(s) {
  const names = [...s.matchAll(/^\(fail\) (.*)$/gm)].map((m) => m[1]);
  const block = s.split(/^ FAILURES *$/m)[1];
  if (block) names.push(...block.split("\n").filter((l) => l.includes(" => ")));
  return names;
}

// deno: "ok | 12 passed | 0 failed (1s)" or "FAILED | 11 passed | 1 failed"
const denoCounts = (s) => {
  const m = [...s.matchAll(/\|\s*(\d+) passed(?: \(\d+ steps?\))?\s*\|\s*(\d+) failed/g)].pop();
  return m ? { passed: +m[1], failed: +m[2] } : undefined;
};
// bun: " 12 pass\n 0 fail"
const bunCounts = (s) => {
  const p = [...s.matchAll(/^\s*(\d+) pass$/gm)].pop();
  const f = [...s.matchAll(/^\s*(\d+) fail$/gm)].pop();
  return p ? { passed: +p[1], failed: f ? +f[1] : 0 } : undefined;
};

// As a user: a user namespace mapping you to root, with its own mount namespace and a private
// /run, so the tests that create named namespaces (`ip netns add`) work there too.
const netns = isRoot ? ["unshare", "-n", "--"] : [
  "unshare",
  "-rnm",
  "--propagation",
  "private",
  "--",
  "sh",
  "-c",
  'mount -t tmpfs nfct-run /run && exec "$@"',
  "sh",
];

// scripts/package_test.mjs, the package as a user installs it: "package: N passed, N failed"
const packageCounts = (s) => {
  const m = [...s.matchAll(/^package: (\d+) passed, (\d+) failed$/gm)].pop();
  return m ? { passed: +m[1], failed: +m[2] } : undefined;
};

// scripts/static.mjs: fmt, lint, doc lint, type checks of every file and doc example.
const staticCounts = (s) => {
  const m = [...s.matchAll(/^static: (\d+) passed, (\d+) failed$/gm)].pop();
  return m ? { passed: +m[1], failed: +m[2] } : undefined;
};
run("static", [process.execPath, "scripts/static.mjs"], staticCounts);
run("deno unit", [bin("deno"), "test", "-A", "--no-check", "test/unit/"], denoCounts);
run("bun unit", [bin("bun"), "test", "--timeout", "60000", "test/unit/"], bunCounts);
if (!unitOnly) {
  // Installed here when missing (as root with apt-get), else named with the command that does.
  const missing = ensureTools(KERNEL_TEST_TOOLS, "the kernel tests");
  if (missing) {
    problems.push(missing);
    failed++;
  } else {
    // NFCT_KERNEL_TESTS=a,b (file names in test/kernel/) runs only those.
    const only = process.env.NFCT_KERNEL_TESTS?.split(",").filter(Boolean);
    const files = readdirSync(join(root, "test", "kernel"))
      .filter((f) => f.endsWith("_test.ts") && (!only || only.includes(f)))
      .sort()
      .map((f) => `test/kernel/${f}`);
    for (
      const [rt, argv, parse] of [
        ["deno", [bin("deno"), "test", "-A", "--no-check"], denoCounts],
        ["bun", [bin("bun"), "test", "--timeout", "120000"], bunCounts],
      ]
    ) {
      const before = passed;
      for (const f of files) run(`${rt} kernel ${f}`, [...netns, ...argv, f], parse, true);
      if (passed === before) problems.push(`${rt} kernel: ran no test`);
    }
    run("package", [process.execPath, "scripts/package_test.mjs"], packageCounts);
  }
}

console.log("");
for (const p of problems) console.log(`problem: ${p}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || problems.length > 0 ? 1 : 0);
