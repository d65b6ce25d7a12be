/**
 * `nfct top`: a live view of the busiest conntrack flows, ranked by bytes or packets per second
 * (what the accounting counters grew by between two dumps), with totals by protocol and state.
 *
 * On a terminal: full screen (alternate screen, cursor hidden), redrawn every interval and on
 * resize; keys `b` `p` `t` `P` sort, `q` or Ctrl-C quit; the terminal is restored on any exit.
 * Otherwise (or `--once`, `-o json`): plain text or JSON lines, one snapshot per interval.
 * Accounting (`net.netfilter.nf_conntrack_acct`) is switched on for the run when it is off, and
 * off again at exit (also on SIGINT, SIGTERM and SIGHUP). On top of mod.ts only.
 * @module
 */
import {
  compileFilter,
  Conntrack,
  host,
  RateMeter,
  type RateOrder,
  type RateSample,
  readSysctl,
  terminal,
  writeSysctl,
} from "../mod.ts";
import { parseTopArgs, TOP_USAGE, type TopOptions, TopUsageError } from "./top_args.ts";
import { keyActions } from "./top_keys.ts";
import { frameOutput, renderFrame, renderJson, renderPlain, type TopFrame } from "./top_view.ts";

const PREFIX = "nfct top: ";
const ACCT = "net.netfilter.nf_conntrack_acct";
/** Alternate screen on, cursor hidden; and back. */
const ENTER = "\x1b[?1049h\x1b[?25l\x1b[2J";
const LEAVE = "\x1b[?25h\x1b[?1049l";

/** A message on stderr; none when it is gone (the terminal hung up). */
function say(text: string): void {
  try {
    host.writeText(2, PREFIX + text);
  } catch { /* nowhere to say it */ }
}

/** Stops the loops: on a quit key or a signal; wakes a sleeping loop at once. */
class Stopper {
  stopped = false;
  /** The terminal went away (SIGHUP): errors writing to it are expected. */
  hungUp = false;
  /** An error met in a callback (a key, a resize), rethrown by the loop. */
  error: unknown;
  #wake: (() => void) | undefined;
  /** Sleeps `ms`, or less when stopped or woken meanwhile. */
  sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.#wake = undefined;
        resolve();
      };
      const t = setTimeout(done, Math.max(0, ms));
      this.#wake = done;
    });
  }
  stop(): void {
    this.stopped = true;
    this.#wake?.();
  }
}

/**
 * Switches accounting on when it is off, saying so on stderr. Returns the note for the view and
 * the function that switches it back off (nothing to do when it was on already).
 */
function ensureAccounting(): { note?: string; restore(): void } {
  const was = readSysctl(ACCT);
  if (was !== "0") return { restore() {} };
  try {
    writeSysctl(ACCT, "1");
  } catch (e) {
    const why = (e as { code?: string }).code ?? (e as Error).message;
    say(
      `accounting is off (${ACCT}=0) and could not be switched on (${why}): no flow has counters\n`,
    );
    return { note: `accounting is off (${ACCT}=0): no counters, no rates`, restore() {} };
  }
  say(
    `accounting was off: ${ACCT} set to 1 for this run (only flows created from now on ` +
      "have counters); it is set back to 0 at exit\n",
  );
  return {
    note:
      `${ACCT} switched on for this run (back off at exit): only flows created since have counters`,
    restore() {
      try {
        writeSysctl(ACCT, "0");
        say(`${ACCT} set back to 0\n`);
      } catch (e) {
        say(`cannot set ${ACCT} back to 0: ${(e as Error).message}\n`);
      }
    },
  };
}

/** Takes one dump and feeds it to the meter. */
function sample(ct: Conntrack, meter: RateMeter, o: TopOptions): { s: RateSample; time: Date } {
  const flows = ct.list(o.filter);
  return { s: meter.sample(flows, performance.now()), time: new Date() };
}

/** The full-screen view until a quit key or a signal stops it. */
async function live(ct: Conntrack, o: TopOptions, stop: Stopper, note?: string): Promise<void> {
  const meter = new RateMeter();
  let order: RateOrder = o.order;
  let last: { s: RateSample; time: Date } | undefined;
  const draw = (clear = false) => {
    if (!last || stop.stopped) return;
    const { columns, rows } = terminal.size();
    const fr: TopFrame = {
      sample: last.s,
      order,
      limit: o.limit,
      interval: o.interval,
      iec: o.iec,
      time: last.time,
      note,
    };
    host.writeText(1, (clear ? "\x1b[2J" : "") + frameOutput(renderFrame(fr, columns, rows), rows));
  };
  /** Redraws from a callback: an error there ends the loop, which rethrows it. */
  const redraw = () => {
    try {
      draw(true);
    } catch (e) {
      stop.error ??= e;
      stop.stop();
    }
  };
  const keys = host.isTerminal(0);
  const offs: (() => void)[] = [];
  host.writeText(1, ENTER);
  try {
    if (keys) {
      terminal.setRaw(true);
      offs.push(() => terminal.setRaw(false));
      offs.push(terminal.readKeys((bytes) => {
        for (const a of keyActions(bytes)) {
          if (a.type === "quit") stop.stop();
          else if (a.type === "sort") order = a.order;
        }
        redraw();
      }));
    }
    offs.push(terminal.onSignal("SIGWINCH", redraw));
    while (!stop.stopped) {
      const t0 = performance.now();
      last = sample(ct, meter, o);
      draw();
      await stop.sleep(o.interval * 1000 - (performance.now() - t0));
    }
    if (stop.error !== undefined) throw stop.error;
  } finally {
    for (const off of offs.reverse()) {
      try {
        off();
      } catch { /* the terminal is gone (SIGHUP) */ }
    }
    try {
      host.writeText(1, LEAVE);
    } catch { /* the terminal is gone */ }
  }
}

/** Plain text or JSON lines: one snapshot per interval (`--once`: one, after one interval). */
async function plain(ct: Conntrack, o: TopOptions, stop: Stopper, note?: string): Promise<void> {
  const meter = new RateMeter();
  sample(ct, meter, o);
  let first = true;
  for (;;) {
    await stop.sleep(o.interval * 1000);
    if (stop.stopped) break;
    const { s, time } = sample(ct, meter, o);
    const fr: TopFrame = {
      sample: s,
      order: o.order,
      limit: o.limit,
      interval: o.interval,
      iec: o.iec,
      time,
      note,
    };
    host.writeText(1, o.json ? renderJson(fr) + "\n" : (first ? "" : "\n") + renderPlain(fr));
    first = false;
    if (o.once) break;
  }
}

/**
 * Runs `nfct top` with the arguments after `top`; returns the exit code: 0 (also after `q`,
 * Ctrl-C, SIGTERM, or a reader that left a pipe), 1 (the table cannot be read), 2 (bad usage).
 */
export async function top(argv: string[]): Promise<number> {
  let o: TopOptions;
  try {
    o = parseTopArgs(argv);
  } catch (e) {
    if (!(e instanceof TopUsageError)) throw e;
    host.writeText(2, `${PREFIX}${e.message}\nTry \`nfct top --help' for more information.\n`);
    return 2;
  }
  if (o.help) {
    host.writeText(1, TOP_USAGE);
    return 0;
  }
  try {
    compileFilter(o.filter);
  } catch (e) {
    host.writeText(
      2,
      `${PREFIX}${(e as Error).message}\nTry \`nfct top --help' for more information.\n`,
    );
    return 2;
  }
  let ct: Conntrack;
  try {
    ct = Conntrack.open();
  } catch (e) {
    say(`${(e as Error).message}\n`);
    return 1;
  }
  const stop = new Stopper();
  const offs = [
    host.onSignal("SIGINT", () => stop.stop()),
    host.onSignal("SIGTERM", () => stop.stop()),
    terminal.onSignal("SIGHUP", () => {
      stop.hungUp = true;
      stop.stop();
    }),
  ];
  const acct = ensureAccounting();
  try {
    const full = !o.once && !o.json && host.isTerminal(1);
    await (full ? live : plain)(ct, o, stop, acct.note);
    return 0;
  } catch (e) {
    // A reader that left the pipe, or a terminal that hung up: not a failure.
    if ((e as { code?: string }).code === "EPIPE" || stop.hungUp) return 0;
    say(`${(e as Error).message}\n`);
    return 1;
  } finally {
    acct.restore();
    for (const off of offs) off();
    ct.close();
  }
}
