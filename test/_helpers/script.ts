/**
 * Scripts of command lines in the style of conntrack-tools' testsuite ("command ; OK/BAD"), run
 * once by conntrack(8) and once by nfct: what differs between the two runs.
 * @module
 */
import { sorted } from "./masked.ts";
import { messages, type Ran } from "./run.ts";

/** A line: its arguments, and the exit code both must return (0 OK, 1 failed, 2 BAD). */
export type ScriptLine = [string, number];

/** Where a script's comparison knowingly differs from the plain one. */
export interface ScriptRules {
  /** Lines whose stderr is not compared (only their exit code). */
  skipStderr?: (line: string) => boolean;
  /** Lines whose stdout is not compared. */
  skipStdout?: (line: string) => boolean;
  /** Normalises a line's stdout further (after {@link sorted}). */
  stdout?: (line: string, out: string[]) => string[];
}

/**
 * The problems of two runs of `script`: an exit code other than the script's; stderr messages
 * that differ (unless nfct failed on a parameter where the script expects that: the wording
 * may differ); stdout lines that differ, sorted and masked.
 */
export function scriptProblems(
  script: readonly ScriptLine[],
  theirs: readonly Ran[],
  ours: readonly Ran[],
  rules: ScriptRules = {},
): string[] {
  const problems: string[] = [];
  const out = (line: string, r: Ran) => rules.stdout?.(line, sorted(r.stdout)) ?? sorted(r.stdout);
  script.forEach(([line, want], i) => {
    const t = theirs[i], o = ours[i];
    if (t.code !== want) {
      problems.push(
        `conntrack ${line}: exit ${t.code}, the script expects ${want} (${t.stderr.trim()})`,
      );
    }
    if (o.code !== want) {
      problems.push(`nfct ${line}: exit ${o.code}, expected ${want} (${o.stderr.trim()})`);
    }
    const tm = messages(t.stderr), om = messages(o.stderr);
    if (
      !(want === 2 && o.code === 2) && !rules.skipStderr?.(line) &&
      JSON.stringify(tm) !== JSON.stringify(om)
    ) {
      problems.push(
        `${line}: stderr differs:\n  conntrack: ${tm.join(" | ")}\n  nfct:      ${om.join(" | ")}`,
      );
    }
    if (rules.skipStdout?.(line)) return;
    const st = out(line, t), so = out(line, o);
    if (JSON.stringify(st) !== JSON.stringify(so)) {
      problems.push(
        `${line}: stdout differs:\n  conntrack: ${st.join("\n             ")}\n  nfct:      ${
          so.join("\n             ")
        }`,
      );
    }
  });
  return problems;
}
