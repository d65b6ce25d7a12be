/**
 * nfct against conntrack(8) in namespaces of their own (`ip netns add` inside the test's
 * throwaway one): the same command on the same table, or on twin tables with the same entries
 * where a command changes the table. For the conformance tests (cli_conformance_test.ts,
 * cli_conntrack147_test.ts).
 * @module
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after } from "node:test";
import { LABEL_NAMES, type LabelConf, labelConf } from "./label_conf.ts";
import { addNetns, assertThrowawayNetns } from "./netns.ts";
import { conntrackWithLabelConf, exec, messages, NFCT, type Ran, words } from "./run.ts";

/** The installed conntrack's `--version`. */
const CT_VERSION: string = execFileSync("conntrack", ["--version"], { encoding: "utf8" })
  .trim();
/** Whether the installed conntrack is 1.4.7 (whose known bugs the tests show). */
export const IS_147: boolean = /v1\.4\.7\b/.test(CT_VERSION);

let conf: LabelConf | undefined;
/** The environment that gives nfct the label names (a connlabel.conf made on first use). */
const env = () => (conf ??= labelConf("nfct-conformance-")).env;

/**
 * Sets up a test file of twins: refuses to run outside a throwaway namespace, and removes the
 * connlabel.conf of {@link env} when the file's tests are done. Returns each test's options.
 */
export function twinsFile(): { timeout: number } {
  assertThrowawayNetns();
  after(() => {
    conf?.remove();
    conf = undefined;
  });
  return { timeout: 120000 };
}

/** Runs argv inside namespace `ns` (a path under /run/netns). */
const run = (ns: string, argv: string[], input?: string): Ran =>
  exec(["nsenter", `--net=${ns}`, "--", ...argv], { input, env: env() });
export const nfct = (ns: string, args: string[], input?: string) =>
  run(ns, [...NFCT, ...args], input);
export const conntrack = (ns: string, args: string[], input?: string) =>
  run(ns, ["conntrack", ...args], input);
/** conntrack(8) with LABEL_NAMES as /etc/xtables/connlabel.conf. */
export const conntrackLabels = (ns: string, args: string[]): Ran =>
  conntrackWithLabelConf(LABEL_NAMES, args, ns);

/** Lines with what ticks (timeouts, use=, ids) masked, sorted. */
export function lines(out: string): string[] {
  return out.split("\n").filter((l) => l !== "").map((l) =>
    l.replace(/^((?:\[\w+\]\s+)?(?:ipv[46] +\d+ )?\S+ +\d+ )\d+ /, "$1T ")
      .replace(/^(-[ADU] )-t \d+ /, "$1-t T ")
      .replace(/ use=\d+/, "")
      .replace(/<timeout>\d+<\/timeout>/, "<timeout>T</timeout>")
      .replace(/<use>\d+<\/use><id>\d+<\/id>/, "")
  ).sort();
}
/** A namespace of its own with `setup` (conntrack argument lists) applied by conntrack. */
export function table(prefix: string, setup: string[]): { path: string; remove(): void } {
  const ns = addNetns(prefix);
  for (const l of setup) {
    const r = conntrack(ns.path, words(l));
    assert.equal(r.code, 0, `setup: conntrack ${l}: ${r.stderr}`);
  }
  return ns;
}
/** The same command through conntrack in one twin table and nfct in the other. */
export function twins(
  prefix: string,
  setup: string[],
  args: string[],
): { ct: Ran; ours: Ran; ctTable: string[]; ourTable: string[] } {
  const a = table(`${prefix}-ct`, setup), b = table(`${prefix}-nfct`, setup);
  try {
    const ct = conntrack(a.path, args), ours = nfct(b.path, args);
    return {
      ct,
      ours,
      ctTable: lines(conntrack(a.path, ["-L"]).stdout),
      ourTable: lines(conntrack(b.path, ["-L"]).stdout),
    };
  } finally {
    a.remove();
    b.remove();
  }
}
/** Asserts nfct prints what conntrack prints for `args` on table `ns`: exit code, lines, messages. */
export function same(ns: string, args: string[], why = ""): Ran {
  const ct = conntrack(ns, args), ours = nfct(ns, args);
  const what = `${args.join(" ")}${why ? ` (${why})` : ""}`;
  assert.equal(
    ours.code,
    ct.code,
    `exit code of ${what}: conntrack ${ct.code} (${ct.stderr}), nfct ${ours.code} (${ours.stderr})`,
  );
  assert.deepEqual(lines(ours.stdout), lines(ct.stdout), `stdout of ${what}`);
  assert.deepEqual(messages(ours.stderr), messages(ct.stderr), `stderr of ${what}`);
  return ours;
}

/**
 * A TCP entry for `-I` (add `--sport` and `--state`). 900 s: on a loaded machine a test's dozen
 * CLI runs can take minutes, and an entry that expired half-way would change what is listed.
 */
export const TCP = "-p tcp -s 10.0.0.1 -d 10.0.0.2 --dport 80 -t 900";
