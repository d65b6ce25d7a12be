/**
 * conntrack-tools' own CLI testsuite (`tests/conntrack/testsuite/` in the conntrack-tools
 * source: 11 files of `command ; OK|BAD` lines) run against nfct on the current runtime by
 * scripts/conntrack_testsuite.mjs, the way conntrack's runner (tests/conntrack/test-conntrack.c)
 * runs it: every case must pass (`BAD: 0`), and the number of cases must be the number the same
 * runner counts when it runs conntrack(8) itself (which must pass them all too, or the machine is
 * not fit to judge: missing modules, another kernel).
 *
 * The testsuite is GPL code of conntrack-tools and not part of this project. Where it comes from:
 * - `NFCT_CONNTRACK_TESTSUITE=/path/to/conntrack-tools/tests/conntrack/testsuite`, else
 * - a git copy of conntrack-tools under /work/.mirror/ (`*conntrack-tools*`/repo), from which the
 *   files are extracted with `git show HEAD:tests/conntrack/testsuite/<file>` into a temp dir.
 * Without either (CI on a fresh machine cannot fetch it) the test is skipped with a message
 * saying where to put it: `git clone https://git.netfilter.org/conntrack-tools` and point
 * NFCT_CONNTRACK_TESTSUITE at its tests/conntrack/testsuite directory.
 * @module
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { assertThrowawayNetns } from "../_helpers/netns.ts";
import { isBun, ROOT, RUN_TS } from "../_helpers/run.ts";

assertThrowawayNetns();

const PROG = [...RUN_TS, "cli.ts"].join(" ");
const MIRRORS = "/work/.mirror";
const WHERE =
  "set NFCT_CONNTRACK_TESTSUITE to conntrack-tools' tests/conntrack/testsuite directory " +
  "(git clone https://git.netfilter.org/conntrack-tools), or put a git copy of conntrack-tools at " +
  `${MIRRORS}/<name containing conntrack-tools>/repo`;

/** The testsuite directory, and a cleanup for a temp copy; undefined when there is none. */
function testsuiteDir(): { dir: string; cleanup(): void } | undefined {
  const given = process.env.NFCT_CONNTRACK_TESTSUITE;
  if (given) {
    if (!existsSync(given) || !statSync(given).isDirectory()) {
      throw new Error(`NFCT_CONNTRACK_TESTSUITE=${given} is not a directory`);
    }
    return { dir: given, cleanup() {} };
  }
  if (!existsSync(MIRRORS)) return undefined;
  for (const name of readdirSync(MIRRORS).filter((n) => n.includes("conntrack-tools")).sort()) {
    const git = join(MIRRORS, name, "repo");
    let files: string[];
    try {
      files = execFileSync("git", [
        "--git-dir",
        git,
        "ls-tree",
        "--name-only",
        "HEAD",
        "tests/conntrack/testsuite/",
      ], { encoding: "utf8" })
        .split("\n").filter((f) => f !== "");
    } catch {
      continue;
    }
    if (files.length === 0) continue;
    const dir = mkdtempSync("/tmp/nfct-ct-testsuite-");
    for (const f of files) {
      writeFileSync(
        join(dir, f.slice(f.lastIndexOf("/") + 1)),
        execFileSync("git", ["--git-dir", git, "show", `HEAD:${f}`]),
      );
    }
    return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }
  return undefined;
}

/**
 * Runs scripts/conntrack_testsuite.mjs with `prog`; its `OK: n BAD: m` and the BAD cases. Entry
 * timeouts x20 for both programs (`--timeouts`): the suite's entries live 10-59 s while ~130
 * commands run, each a runtime start for nfct; no case checks a timeout's value.
 */
function runSuite(dir: string, prog?: string): { ok: number; bad: number; output: string } {
  const args = [
    "scripts/conntrack_testsuite.mjs",
    dir,
    "--timeouts",
    "20",
    ...(prog ? ["--prog", prog] : []),
  ];
  const r = spawnSync("node", args, { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  const m = /^OK: (\d+) BAD: (\d+)$/m.exec(r.stdout);
  assert.ok(m, `the runner printed no summary (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { ok: Number(m[1]), bad: Number(m[2]), output: r.stdout };
}

const suite = testsuiteDir();

test(
  "conntrack-tools' CLI testsuite: nfct passes every case conntrack(8) passes",
  { timeout: 600000, skip: suite ? false : `conntrack-tools' testsuite not found: ${WHERE}` },
  () => {
    try {
      const reference = runSuite(suite!.dir);
      assert.equal(
        reference.bad,
        0,
        `conntrack(8) itself fails cases here, so this machine cannot judge nfct:\n${reference.output}`,
      );
      assert.ok(reference.ok > 0, "the testsuite has no cases");
      const ours = runSuite(suite!.dir, PROG);
      assert.equal(ours.bad, 0, `nfct (${isBun ? "Bun" : "Deno"}) fails cases:\n${ours.output}`);
      assert.equal(ours.ok, reference.ok, "nfct ran as many cases as conntrack");
    } finally {
      suite!.cleanup();
    }
  },
);
