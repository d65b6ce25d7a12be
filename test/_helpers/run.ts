/**
 * Running programs from tests: nfct (cli.ts) and scripts on the runtime the tests run on,
 * conntrack(8), and what their output is compared by.
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import process from "node:process";

/** True on Bun, false on Deno. */
export const isBun: boolean = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

/** The repository's root directory, with a trailing slash. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** The argv that runs a TypeScript file on this runtime: `bun FILE` or `deno run -A FILE`. */
export const RUN_TS: string[] = isBun ? [process.execPath] : [process.execPath, "run", "-A"];

/** The argv of nfct (cli.ts) on this runtime (relative to {@link ROOT}, the default cwd of {@link exec}). */
export const NFCT: string[] = [...RUN_TS, "cli.ts"];

/** What a program did: exit code (-1 when killed), the signal that killed it, its output. */
export interface Ran {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link exec}. */
export interface ExecOptions {
  /** Standard input. */
  input?: string;
  /** Added to (or, as undefined, removed from) the environment; NO_COLOR=1 always. */
  env?: Record<string, string | undefined>;
  /** Working directory (default {@link ROOT}). */
  cwd?: string;
  /** Killed after this many ms. */
  timeout?: number;
}

/** Runs `argv` to its end. Throws only when it could not be started. */
export function exec(argv: readonly string[], options: ExecOptions = {}): Ran {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: "1", ...options.env })) {
    if (v !== undefined) env[k] = v;
  }
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd: options.cwd ?? ROOT,
    encoding: "utf8",
    input: options.input,
    maxBuffer: 256 << 20,
    timeout: options.timeout,
    env,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Runs nfct (cli.ts on this runtime) with `args` to its end. */
export const runNfct = (args: readonly string[], options: ExecOptions = {}): Ran =>
  exec([...NFCT, ...args], options);

/** Runs conntrack(8) with `args` to its end. */
export const runConntrack = (args: readonly string[], options: ExecOptions = {}): Ran =>
  exec(["conntrack", ...args], options);

/**
 * The lines of stderr without the program-name prefix (`conntrack v1.4.7 (conntrack-tools): `,
 * `nfct v… (conntrack-tools compatible): `), the "Try `… --help'" hint and the label-map
 * warnings, so the messages of conntrack and nfct compare as equals.
 */
export function messages(stderr: string): string[] {
  return stderr.split("\n")
    .filter((l) =>
      l && !l.startsWith("Try `") && !l.startsWith("nfct_labelmap_new") &&
      !l.includes("cannot read label names")
    )
    .map((l) =>
      l.replace(
        /^(conntrack v[0-9.]+ \(conntrack-tools\)|nfct v[0-9.]+ \(conntrack-tools compatible\)): /,
        "",
      )
    );
}

/** A command line split into its words. */
export const words = (line: string): string[] => line.split(/\s+/).filter((w) => w !== "");

/**
 * conntrack(8) with `conf` as its /etc/xtables/connlabel.conf (an overlay on /etc in a private
 * mount namespace: the host's /etc is left alone), in network namespace `netns` (a path) or
 * this one.
 */
export function conntrackWithLabelConf(conf: string, args: readonly string[], netns?: string): Ran {
  const dir = mkdtempSync("/tmp/nfct-labels-");
  try {
    const enter = netns === undefined ? "" : `nsenter --net="$NFCT_NETNS" `;
    const script = `mount --make-rprivate / && mkdir ${dir}/up ${dir}/work && ` +
      `mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/up,workdir=${dir}/work /etc && ` +
      `mkdir -p /etc/xtables && cat > /etc/xtables/connlabel.conf && exec ${enter}conntrack "$@"`;
    return exec(["unshare", "-m", "--", "sh", "-c", script, "sh", ...args], {
      input: conf,
      env: { NFCT_NETNS: netns },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
