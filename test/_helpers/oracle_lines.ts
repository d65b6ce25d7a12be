/**
 * Lines of nfct and of conntrack(8) (the oracle) compared exactly but for the numbers that tick
 * between two dumps taken one after the other: a timeout (and `delta-time`) may differ by at most
 * the seconds the two dumps took together (measured, at least 1), and only in the direction time
 * runs (conntrack's dump comes second: its timeouts may be lower, its delta-times higher).
 * @module
 */
import assert from "node:assert/strict";
import { type Conntrack, type Filter, formatFlow, type FormatOptions } from "../../mod.ts";
import { conntrackCli } from "./netns.ts";

/** The non-empty lines of `s`. */
export const lines = (s: string): string[] => s.split("\n").filter((l) => l !== "");

const TIMEOUT_RE = /^((?:ipv[46] +\d+ )?\S+ +\d+ )(\d+) /;
const DELTA_RE = / delta-time=(\d+) /;
const SAVE_TIMEOUT_RE = /^(-A )-t (\d+) /;
const XML_TIMEOUT_RE = /<timeout>(\d+)<\/timeout>/;
const XML_DELTA_RE = /<deltatime>(\d+)<\/deltatime>/;

/** Splits a line into the part that must match exactly and the numbers that may tick. */
function split(line: string): { key: string; timeout?: number; delta?: number } {
  let key = line;
  let timeout: number | undefined, delta: number | undefined;
  const m = TIMEOUT_RE.exec(key) ?? SAVE_TIMEOUT_RE.exec(key);
  if (m) {
    timeout = Number(m[2]);
    key = key.replace(m[0], m[0].startsWith("-A") ? `${m[1]}-t T ` : `${m[1]}T `);
  }
  const xt = XML_TIMEOUT_RE.exec(key);
  if (xt) {
    timeout = Number(xt[1]);
    key = key.replace(xt[0], "<timeout>T</timeout>");
  }
  const d = DELTA_RE.exec(key) ?? XML_DELTA_RE.exec(key);
  if (d) {
    delta = Number(d[1]);
    key = key.replace(d[0], d[0].startsWith("<") ? "<deltatime>D</deltatime>" : " delta-time=D ");
  }
  return { key, timeout, delta };
}

/**
 * Asserts that `ours` and `theirs` (conntrack's, taken second) hold the same lines, exactly,
 * but for a timeout 0..`tol` lower and a delta-time 0..`tol` higher on conntrack's side.
 */
export function assertSameLines(ours: string[], theirs: string[], what: string, tol: number): void {
  const mine = new Map<string, { timeout?: number; delta?: number }[]>();
  for (const l of ours) {
    const s = split(l);
    const list = mine.get(s.key) ?? [];
    list.push(s);
    mine.set(s.key, list);
  }
  const missing: string[] = [];
  let ticked = 0;
  for (const l of theirs) {
    const s = split(l);
    const list = mine.get(s.key);
    const i = list?.findIndex((o) =>
      (o.timeout === undefined || (o.timeout - s.timeout! >= 0 && o.timeout - s.timeout! <= tol)) &&
      (o.delta === undefined || (s.delta! - o.delta >= 0 && s.delta! - o.delta <= tol))
    ) ?? -1;
    if (i < 0) {
      missing.push(l);
      continue;
    }
    const o = list!.splice(i, 1)[0];
    if (o.timeout !== s.timeout || o.delta !== s.delta) {
      ticked++;
    }
    if (list!.length === 0) {
      mine.delete(s.key);
    }
  }
  const extra = [...mine.keys()];
  if (missing.length || extra.length) {
    const show = (a: string[]) => a.slice(0, 8).join("\n");
    assert.fail(
      `${what}: ${theirs.length} lines from conntrack, ${ours.length} from nfct; ` +
        `(tolerance ${tol} s) ${missing.length} of conntrack's not printed by nfct:\n${
          show(missing)
        }\n` +
        `${extra.length} of nfct's not printed by conntrack:\n${show(extra)}`,
    );
  }
  if (ticked) {
    console.log(`${what}: ${ticked} of ${theirs.length} lines ticked (tolerance ${tol} s)`);
  }
}

/** Seconds a timeout may tick between two dumps that together took `ms`. */
export const tolerance = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/**
 * Asserts that `formatFlow(f, options)` over `ct.dump(filter)` prints the lines
 * `cli(["-L", ...args, ...outArgs])` prints ({@link assertSameLines}); returns their number.
 */
export function compare(
  ct: Conntrack,
  filter: Filter | undefined,
  args: string[],
  options: FormatOptions,
  outArgs: string[],
  what: string,
  cli = conntrackCli,
): number {
  const t0 = Date.now();
  const ours = Array.from(ct.dump(filter), (f) => formatFlow(f, options));
  const theirs = lines(cli(["-L", ...args, ...outArgs]));
  assertSameLines(ours, theirs, what, tolerance(Date.now() - t0));
  return theirs.length;
}
