/**
 * `nfct top`'s command line: options in, {@link TopOptions} out; no I/O.
 * @module
 */
import type { Family, Filter, ProtoName, RateOrder } from "../mod.ts";

/** The usage text of `nfct top`, as `--help` prints it. */
export const TOP_USAGE = `usage: nfct top [options] [filter]
A live view of the busiest conntrack flows, ranked by what their accounting counters grew by
between refreshes (both directions). Turns net.netfilter.nf_conntrack_acct on for the run when
it is off (and back off at exit); only flows created while it is on have counters.

options:
  -i, --interval SECONDS   time between refreshes (default 1; 0.1 .. 3600)
  -n, --limit N            show at most N flows (default: as many as fit; 20 when not a terminal)
      --sort ORDER         bytes/s (default), packets/s, bytes or packets
      --once               print one ranked snapshot after one interval, then exit
  -o, --output json        one JSON object per refresh (JSON lines), never full-screen
      --iec                binary units (1 KiB = 1024 B) instead of SI (1 kB = 1000 B)
  -h, --help               this text
filter (as conntrack -L):
  -p, --proto NAME   -f, --family ipv4|ipv6   -s, --src ADDR   -d, --dst ADDR
  --sport PORT   --dport PORT   -w, --zone N   -m, --mark N
keys (on a terminal): b bytes/s, p packets/s, t total bytes, P total packets, q or Ctrl-C quit
Not a terminal (or --once/-o json): plain text, one ranked snapshot per interval.
`;

/** The sort orders by their command-line names, as the header shows them. */
export const ORDER_NAMES: Record<RateOrder, string> = {
  bytesPerSecond: "bytes/s",
  packetsPerSecond: "packets/s",
  bytes: "bytes",
  packets: "packets",
};

/** What `nfct top` was asked to do. */
export interface TopOptions {
  /** `--help`: print {@link TOP_USAGE}, touch nothing. */
  help: boolean;
  /** Seconds between refreshes. */
  interval: number;
  /** At most this many flows (undefined: as many as fit). */
  limit?: number;
  /** The initial sort order. */
  order: RateOrder;
  /** `--once`: one snapshot after one interval. */
  once: boolean;
  /** `-o json`: JSON lines. */
  json: boolean;
  /** `--iec`: KiB/MiB instead of kB/MB. */
  iec: boolean;
  /** Which flows to show (passed to `dump()`). */
  filter: Filter;
}

/** A command line `nfct top` cannot run: the message says why (exit code 2). */
export class TopUsageError extends TypeError {
  /** `"TopUsageError"`. */
  override name = "TopUsageError";
}

/**
 * Parses `nfct top`'s arguments (those after `top`).
 * @throws {TopUsageError} on an unknown option, a missing or malformed value.
 */
export function parseTopArgs(argv: readonly string[]): TopOptions {
  const o: TopOptions = {
    help: false,
    interval: 1,
    order: "bytesPerSecond",
    once: false,
    json: false,
    iec: false,
    filter: {},
  };
  const f: Filter = o.filter;
  const int = (opt: string, v: string, max: number) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > max) {
      throw new TopUsageError(`${opt} needs a whole number 0..${max}, got ${JSON.stringify(v)}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline: string | undefined;
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    if (eq > 0) [a, inline] = [a.slice(0, eq), a.slice(eq + 1)];
    const val = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new TopUsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case "-h":
      case "--help":
        o.help = true;
        break;
      case "-i":
      case "--interval": {
        const v = val();
        const s = Number(v);
        if (v.trim() === "" || !(s >= 0.1 && s <= 3600)) {
          throw new TopUsageError(`${a} needs SECONDS from 0.1 to 3600, got ${JSON.stringify(v)}`);
        }
        o.interval = s;
        break;
      }
      case "-n":
      case "--limit":
        o.limit = int(a, val(), 1_000_000);
        if (o.limit === 0) throw new TopUsageError(`${a} needs at least 1`);
        break;
      case "--sort": {
        const v = val();
        const order = (Object.keys(ORDER_NAMES) as RateOrder[]).find((k) => ORDER_NAMES[k] === v);
        if (!order) {
          throw new TopUsageError(
            `--sort needs bytes/s, packets/s, bytes or packets, got ${JSON.stringify(v)}`,
          );
        }
        o.order = order;
        break;
      }
      case "--once":
        o.once = true;
        break;
      case "-o":
      case "--output": {
        const v = val();
        if (v !== "json") throw new TopUsageError(`${a} takes json, got ${JSON.stringify(v)}`);
        o.json = true;
        break;
      }
      case "--iec":
        o.iec = true;
        break;
      case "-p":
      case "--proto":
        f.proto = val() as ProtoName;
        break;
      case "-f":
      case "--family": {
        const v = val();
        if (v !== "ipv4" && v !== "ipv6") {
          throw new TopUsageError(`${a} takes ipv4 or ipv6, got ${JSON.stringify(v)}`);
        }
        f.family = v as Family;
        break;
      }
      case "-s":
      case "--src":
      case "--orig-src":
        f.src = val();
        break;
      case "-d":
      case "--dst":
      case "--orig-dst":
        f.dst = val();
        break;
      case "--sport":
      case "--orig-port-src":
        f.sport = int(a, val(), 65535);
        break;
      case "--dport":
      case "--orig-port-dst":
        f.dport = int(a, val(), 65535);
        break;
      case "-w":
      case "--zone":
        f.zone = int(a, val(), 65535);
        break;
      case "-m":
      case "--mark":
        f.mark = int(a, val(), 0xffffffff);
        break;
      default:
        throw new TopUsageError(
          a.startsWith("-") ? `unknown option ${a}` : `unexpected argument ${JSON.stringify(a)}`,
        );
    }
  }
  return o;
}
