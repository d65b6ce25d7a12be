/**
 * `nfct metrics`: conntrack figures in the Prometheus text format, on top of mod.ts.
 *
 * ```
 * nfct metrics [--per-state] [--max-zones N] [--no-expect] [--netns PATH]...
 *              [--textfile PATH [--interval SECONDS]] [--listen ADDR:PORT]
 * ```
 * - no `--textfile`/`--listen`: print once to standard output (`nfct metrics | promtool check metrics`);
 * - `--textfile PATH`: write PATH atomically (node_exporter's textfile collector); once, or every
 *   SECONDS with `--interval` (then event counters too);
 * - `--listen ADDR:PORT`: serve `/metrics` until SIGINT/SIGTERM, counting events meanwhile.
 * `--netns PATH` (repeatable) reports those namespaces (`/run/netns/NAME`, `/proc/PID/ns/net`)
 * instead of the caller's, each with its own `netns` label (the path).
 * @module
 */
import {
  collectMetrics,
  Conntrack,
  type ConntrackMetrics,
  currentNetnsLabel,
  EventCounter,
  formatMetrics,
  host,
  serveMetrics,
  writeMetricsFile,
} from "../mod.ts";

interface Args {
  perState: boolean;
  maxZones?: number;
  expectations: boolean;
  netns: string[];
  textfile?: string;
  interval?: number;
  listen?: { hostname: string; port: number };
}

const USAGE = "usage: nfct metrics [--per-state] [--max-zones N] [--no-expect] [--netns PATH]... " +
  "[--textfile PATH [--interval SECONDS]] [--listen ADDR:PORT]\n";

function parse(argv: string[]): Args {
  const a: Args = { perState: false, expectations: true, netns: [] };
  for (let i = 0; i < argv.length; i++) {
    const o = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new TypeError(`${o} needs a value`);
      return v;
    };
    if (o === "--per-state") a.perState = true;
    else if (o === "--no-expect") a.expectations = false;
    else if (o === "--max-zones") a.maxZones = Number(val());
    else if (o === "--netns") a.netns.push(val());
    else if (o === "--textfile") a.textfile = val();
    else if (o === "--interval") {
      const s = Number(val());
      if (!(s > 0 && s <= 86400)) {
        throw new RangeError(`--interval must be 0 < SECONDS <= 86400, got ${argv[i]}`);
      }
      a.interval = s;
    } else if (o === "--listen") {
      const v = val();
      const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
      if (!m || Number(m[3]) > 65535) {
        throw new TypeError(
          `--listen wants ADDR:PORT (e.g. 127.0.0.1:9101, [::1]:9101, :9101), got ${v}`,
        );
      }
      a.listen = { hostname: m[1] ?? (m[2] || "0.0.0.0"), port: Number(m[3]) };
    } else if (o === "-h" || o === "--help") {
      host.writeText(1, USAGE);
      host.exit(0);
    } else throw new TypeError(`unknown option ${o}`);
  }
  if (a.interval !== undefined && a.textfile === undefined) {
    throw new TypeError("--interval needs --textfile");
  }
  return a;
}

/** Runs `nfct metrics ARGS`; returns the exit code. */
export async function main(argv: string[], version: string): Promise<number> {
  const prefix = `nfct v${version}: metrics: `;
  let args: Args;
  try {
    args = parse(argv);
  } catch (e) {
    host.writeText(2, prefix + (e as Error).message + "\n" + USAGE);
    return 2;
  }
  const targets: { ct: Conntrack; label: string; events?: EventCounter }[] = [];
  try {
    if (args.netns.length === 0) {
      targets.push({
        ct: Conntrack.open({ receiveBufferSize: 1 << 20 }),
        label: currentNetnsLabel(),
      });
    }
    for (const p of args.netns) {
      targets.push({ ct: Conntrack.open({ netns: p, receiveBufferSize: 1 << 20 }), label: p });
    }
    const longRunning = args.listen !== undefined || args.interval !== undefined;
    if (longRunning) { for (const t of targets) t.events = new EventCounter(t.ct); }
    const scrape = () => {
      const all: ConntrackMetrics[] = targets.map((t) => {
        const m = collectMetrics(t.ct, {
          netns: t.label,
          perState: args.perState,
          maxZones: args.maxZones,
          expectations: args.expectations,
        });
        if (t.events) m.events = { ...t.events.counts };
        return m;
      });
      return formatMetrics(all);
    };
    if (!longRunning) {
      if (args.textfile) writeMetricsFile(args.textfile, scrape());
      else host.writeText(1, scrape());
      return 0;
    }
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const offInt = host.onSignal("SIGINT", () => stop());
    const offTerm = host.onSignal("SIGTERM", () => stop());
    const server = args.listen ? serveMetrics({ ...args.listen, scrape }) : undefined;
    if (server) {
      host.writeText(
        2,
        `${prefix}serving http://${
          args.listen!.hostname.includes(":") ? `[${args.listen!.hostname}]` : args.listen!.hostname
        }:${server.port}/metrics\n`,
      );
    }
    let timer: ReturnType<typeof setInterval> | undefined;
    if (args.textfile) {
      const write = () => {
        try {
          writeMetricsFile(args.textfile!, scrape());
        } catch (e) {
          host.writeText(2, `${prefix}${(e as Error).message}\n`);
        }
      };
      write();
      if (args.interval) timer = setInterval(write, args.interval * 1000);
    }
    await stopped;
    if (timer !== undefined) clearInterval(timer);
    offInt();
    offTerm();
    // An HTTP keep-alive connection (Prometheus keeps one) would hold a graceful shutdown open:
    // give it a second; the process exits after main() anyway.
    await Promise.race([server?.close(), new Promise((r) => setTimeout(r, 1000))]);
    host.writeText(2, `${prefix}stopped\n`);
    return 0;
  } catch (e) {
    host.writeText(2, prefix + (e as Error).message + "\n");
    return 1;
  } finally {
    for (const t of targets) {
      if (t.events) await Promise.race([t.events.stop(), new Promise((r) => setTimeout(r, 1000))]);
      t.ct.close();
    }
  }
}
