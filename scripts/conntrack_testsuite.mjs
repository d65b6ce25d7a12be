#!/usr/bin/env node
// Runs conntrack-tools' CLI testsuite (tests/conntrack/testsuite/ in the conntrack-tools source,
// GPL: not part of this project; point this script at a copy) against a conntrack(8)-compatible
// program, the way conntrack's own runner (tests/conntrack/test-conntrack.c) does:
//   - every file of the directory in sorted order, all in ONE network namespace (one table), in turn;
//   - lines starting with '#' or a space are comments;
//   - `ARGS ; OK` / `ARGS ; BAD`: run `PROG ARGS` through /bin/sh; OK passes on exit status 0,
//     BAD on any other status;
//   - `ARGS ; |SED`: `PROG ARGS | sed "SED" | ` (or `PROG ARGS | ` without SED) is prefixed to
//     the next command (only the last command's exit status counts, as with system(3));
//   - `TEXT ;` (nothing after ';'): a stdin line; consecutive ones (comments between them
//     skipped) become `echo "TEXT1<newline>TEXT2..." | ` in front of the next command.
// The whole run happens in a throwaway network namespace (`unshare -n`, or `unshare -rn` when not
// root), never in the caller's, so the caller's conntrack table is untouched.
//
// Usage: node scripts/conntrack_testsuite.mjs <testsuite-dir> [--prog "nfct cmd"] [--timeouts N] [--verbose]
//   --prog defaults to /usr/sbin/conntrack; e.g. --prog "node_modules/.bin/deno run -A cli.ts"
//   or --prog "node_modules/.bin/bun cli.ts" (run from the repository root).
//   --timeouts N multiplies every entry timeout of the suite (`-t 29` -> `-t 580` for N=20): the
//   suite's entries live 10-59 s and later cases expect them still there, which holds for a C
//   program (~5 ms a command) but not always for a runtime that starts in 0.1-0.2 s, and less on
//   a loaded machine (09dumpopt's ICMP entry, `-t 29`, is re-created ~130 commands later). No
//   case checks a timeout's value, so the verdicts are the suite's own.
// Prints each BAD case (file, line, command, its output) and finally `OK: n BAD: m`;
// exits 0 when every case passed, 1 otherwise, 2 on a usage error.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

const INNER = "NFCT_TESTSUITE_INNER_NETNS";

function usage(msg) {
  if (msg) console.error(`conntrack_testsuite: ${msg}`);
  console.error(
    'usage: node scripts/conntrack_testsuite.mjs <testsuite-dir> [--prog "nfct cmd"] [--timeouts N] [--verbose]',
  );
  process.exit(2);
}

const argv = process.argv.slice(2);
let dir;
let prog = "/usr/sbin/conntrack";
let verbose = false;
let timeoutScale = 1;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--prog") {
    if (i + 1 >= argv.length) usage("--prog needs a value");
    prog = argv[++i];
  } else if (a === "--timeouts") {
    timeoutScale = Number(argv[++i]);
    if (!Number.isInteger(timeoutScale) || timeoutScale < 1) {
      usage("--timeouts needs a whole factor >= 1");
    }
  } else if (a === "--verbose" || a === "-v") verbose = true;
  else if (a.startsWith("-")) usage(`unknown option ${a}`);
  else if (dir === undefined) dir = a;
  else usage(`unexpected argument ${a}`);
}
if (dir === undefined) usage("missing testsuite directory");

if (process.env[INNER] === undefined) {
  // Re-run this script in a fresh network namespace.
  const isRoot = process.getuid?.() === 0;
  const r = spawnSync("unshare", [
    isRoot ? "-n" : "-rn",
    "--",
    process.execPath,
    ...process.argv.slice(1),
  ], {
    stdio: "inherit",
    env: { ...process.env, [INNER]: readlinkSync("/proc/self/ns/net") },
  });
  if (r.error) {
    console.error(`conntrack_testsuite: cannot start a network namespace: ${r.error.message}`);
    process.exit(1);
  }
  process.exit(r.status ?? 1);
}
if (readlinkSync("/proc/self/ns/net") === process.env[INNER]) {
  console.error("conntrack_testsuite: refusing to run in the caller's network namespace");
  process.exit(1);
}

/**
 * Turns one testsuite file into cases `{ file, line, cmd, expect }` (expect "OK" or "BAD"),
 * exactly as test-conntrack.c assembles its shell commands.
 */
export function parseTestsuite(file, text, progCmd, scale = 1) {
  if (scale !== 1) {
    text = text.replace(
      /(^|\s)(-t|--timeout)(\s+)(\d+)/gm,
      (_, pre, opt, sp, n) => `${pre}${opt}${sp}${Number(n) * scale}`,
    );
  }
  const cases = [];
  let buf = "";
  let stdinOpen = false;
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw[0] === "#" || raw[0] === " ") return;
    const semi = raw.indexOf(";");
    if (semi < 0) throw new Error(`malformed file ${file} at line ${line}`);
    const args = raw.slice(0, semi);
    const rest = raw.slice(semi + 1).replace(/^[ \t]*/, "");
    const cmd = rest === "" ? "\n" : rest[0];
    const opt = rest.slice(1).replace(/^[ \t]*/, "");
    if (stdinOpen && cmd !== "\n") {
      buf += '" | ';
      stdinOpen = false;
    }
    if (cmd === "\n") {
      if (!stdinOpen) {
        buf += 'echo "';
        stdinOpen = true;
      } else buf += "\n";
      buf += args;
      return;
    }
    buf += `${progCmd} ${args}`;
    if (cmd === "|") {
      buf += " | ";
      if (opt) buf += `sed "${opt}" | `;
      return;
    }
    cases.push({ file, line, cmd: buf, expect: cmd === "O" ? "OK" : "BAD" });
    buf = "";
  });
  return cases;
}

const files = readdirSync(dir).filter((f) => !f.startsWith(".")).sort();
let ok = 0;
let bad = 0;
for (const f of files) {
  for (const c of parseTestsuite(f, readFileSync(join(dir, f), "utf8"), prog, timeoutScale)) {
    const r = spawnSync("/bin/sh", ["-c", c.cmd], { encoding: "utf8", maxBuffer: 64 << 20 });
    const passed = r.status === 0 ? c.expect === "OK" : c.expect === "BAD";
    if (passed) ok++;
    else bad++;
    if (!passed || verbose) {
      console.log(`(${c.file}:${c.line}) ${c.cmd}`);
      const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trimEnd();
      if (out) console.log(out.replace(/^/gm, "    "));
      console.log(
        passed
          ? `  ok (exit ${r.status ?? r.signal})`
          : `^----- BAD (expected ${c.expect}, exit ${r.status ?? r.signal})`,
      );
    }
  }
}
console.log(`OK: ${ok} BAD: ${bad}`);
process.exit(bad === 0 && ok > 0 ? 0 : 1);
