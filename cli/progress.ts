/**
 * "nfct: N of T flow entries listed (P%), R/s" on standard error, redrawn in place, for long
 * dumps, deletes and loads on a terminal.
 * @module
 */
import { host } from "../mod.ts";
import type { Output } from "./output.ts";
import { PROG } from "./version.ts";

/** Whether stdout is the terminal stderr is (then a progress line would mix into the output). */
function stdoutOnStderrTerminal(): boolean {
  if (!host.isTerminal(1)) return false;
  try {
    return host.readLink("/proc/self/fd/1") === host.readLink("/proc/self/fd/2");
  } catch {
    return true;
  }
}

/** A count per second: `12`, `1.5k`, `45k`, `1.2M`. */
function rate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(1)}M`;
  if (r >= 1e4) return `${Math.round(r / 1e3)}k`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)}k`;
  return `${Math.round(r)}`;
}

/**
 * The progress of one job, drawn only when stderr is a terminal that stdout does not write to
 * (a listing to the terminal shows none, `nfct -L > file` does; `quietStdout` for commands that
 * print nothing) and the job takes a while (from 0.5 s, at most every 0.2 s).
 */
export class Progress {
  #out: Output;
  #verb: string;
  #tty: boolean;
  #start = Date.now();
  #last = 0;
  #looked = 0;
  #total: number | undefined;

  /**
   * `verb`: what happens to the entries ("listed"); `total` (called once, only on a terminal)
   * the count the job runs up to, when known.
   */
  constructor(out: Output, verb: string, total?: () => number, quietStdout = false) {
    this.#out = out;
    this.#verb = verb;
    this.#tty = host.isTerminal(2) && (quietStdout || !stdoutOnStderrTerminal());
    this.#total = this.#tty ? total?.() : undefined;
  }

  /** `n` entries done: redraws the line now and then (looked at after every 1024 entries). */
  tick(n: number): void {
    if (!this.#tty || n - this.#looked < 1024) return;
    this.#looked = n;
    const now = Date.now();
    if (now - this.#start < 500 || now - this.#last < 200) return;
    this.#last = now;
    const t = this.#total;
    const of = t && n <= t
      ? `${n} of ${t} flow entries ${this.#verb} (${Math.floor((100 * n) / t)}%)`
      : `${n} flow entries ${this.#verb}`;
    this.#out.progress(`${PROG}: ${of}, ${rate((n * 1000) / (now - this.#start))}/s`);
  }

  /** Erases the line. */
  done(): void {
    this.#out.endProgress();
  }
}
