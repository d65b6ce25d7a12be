/**
 * Conntrack metrics in the Prometheus text exposition format (version 0.0.4): what `nfct
 * metrics` writes for node_exporter's textfile collector or serves on `/metrics`.
 *
 * A default scrape costs three O(1)-per-CPU requests and the expectation table (bounded by
 * `nf_conntrack_expect_max`): entries and `nf_conntrack_max` (`IPCTNL_MSG_CT_GET_STATS`), the
 * per-CPU statistics (`IPCTNL_MSG_CT_GET_STATS_CPU`, `IPCTNL_MSG_EXP_GET_STATS_CPU`). It never
 * dumps the conntrack table; only `perState` does (one dump, entries by protocol, state and zone,
 * with bounded label sets).
 *
 * Every series carries a `netns` label, so one Prometheus can tell the namespaces of a host
 * (and hosts by its own `instance` label) apart.
 * @module
 */
import { serveHttp } from "../ffi/serve.ts";
import { writeFileAtomic } from "../ffi/files.ts";
import { readNetnsIds } from "../netlink/netns.ts";
import type { Conntrack } from "./client.ts";
import type { EventStream } from "./event_stream.ts";
import type { ExpectCpuStats } from "./expect.ts";
import type { CpuStats } from "./stats.ts";
import { PROTOCOLS } from "./protocols.ts";

/** Entries of one (protocol, state, zone) class. */
export interface FlowClass {
  /** A protocol name, or `"other"`. */
  proto: string;
  /** TCP/SCTP/DCCP state name, or `"none"` for protocols without states. */
  state: string;
  /** The zone number, or `"other"` past {@link MetricsOptions.maxZones} distinct zones. */
  zone: string;
  /** Entries of this class. */
  count: number;
}

/** Event counts since an {@link EventCounter} started. */
export interface EventCounts {
  /** `new` events received. */
  new: number;
  /** `update` events received. */
  update: number;
  /** `destroy` events received. */
  destroy: number;
  /** Events the kernel dropped because the receive buffer was full. */
  lost: number;
}

/** One namespace's figures: what {@link formatMetrics} prints. */
export interface ConntrackMetrics {
  /** The `netns` label: `net:[INODE]` of the namespace, or a name the caller chose. */
  netns: string;
  /** Entries in the table (`conntrack -C`). */
  entries: number;
  /** Most entries the table may hold (`net.netfilter.nf_conntrack_max`). */
  maxEntries: number;
  /** Per-CPU statistics (`conntrack -S`). */
  cpu: CpuStats[];
  /** Expectations in the table (omitted with `expectations: false`). */
  expectations?: number;
  /** Per-CPU expectation statistics (omitted with `expectations: false`). */
  expectCpu?: ExpectCpuStats[];
  /** Entries by class, with `perState` only (one dump). */
  flows?: FlowClass[];
  /** With an {@link EventCounter} (a long-running exporter only). */
  events?: EventCounts;
  /** Seconds the collection took. */
  seconds: number;
}

/** Options of {@link collectMetrics}. */
export interface MetricsOptions {
  /** Label value for `netns` (default: the calling thread's `net:[INODE]`). */
  netns?: string;
  /** Dump the table to count entries by protocol, state and zone (O(table size)). */
  perState?: boolean;
  /** Distinct zones labelled by number before the rest share `zone="other"` (default 16). */
  maxZones?: number;
  /** Count the expectation table and read its statistics (default true). */
  expectations?: boolean;
}

const KNOWN_PROTOS: ReadonlySet<string> = new Set(PROTOCOLS.map((p) => p.name));

/** The calling thread's namespace as `net:[INODE]`. */
export function currentNetnsLabel(): string {
  return readNetnsIds().self;
}

/**
 * Collects one namespace's figures through `ct` (opened in that namespace). O(1) in the table
 * size unless `perState`.
 * @throws {RangeError} for a bad `maxZones`; `NetlinkError` when a request fails.
 *
 * @example Print the metrics of the caller's namespace, as `nfct metrics --per-state` does
 * ```ts
 * import { collectMetrics, Conntrack, formatMetrics } from "@nfct/nfct";
 * using ct = Conntrack.open();
 * console.log(formatMetrics(collectMetrics(ct, { perState: true })));
 * ```
 */
export function collectMetrics(ct: Conntrack, options: MetricsOptions = {}): ConntrackMetrics {
  const t0 = performance.now();
  const maxZones = options.maxZones ?? 16;
  if (!Number.isInteger(maxZones) || maxZones < 0 || maxZones > 65536) {
    throw new RangeError(`Invalid maxZones: ${String(maxZones)}, allowed 0..65536`);
  }
  const g = ct.globalStats();
  const m: ConntrackMetrics = {
    netns: options.netns ?? currentNetnsLabel(),
    entries: g.entries,
    maxEntries: g.maxEntries,
    cpu: ct.stats(),
    seconds: 0,
  };
  if (options.expectations !== false) {
    let n = 0;
    for (const _ of ct.dumpExpect()) n++;
    m.expectations = n;
    m.expectCpu = ct.expectStats();
  }
  if (options.perState) {
    const counts = new Map<string, FlowClass>();
    const zones = new Set<number>();
    for (const f of ct.dump()) {
      const proto = typeof f.proto === "string" && KNOWN_PROTOS.has(f.proto) ? f.proto : "other";
      const state = f.tcp?.state ?? f.sctp?.state ?? f.dccp?.state ?? "none";
      const z = f.zone ?? 0;
      if (!zones.has(z) && zones.size < maxZones) zones.add(z);
      const zone = zones.has(z) ? String(z) : "other";
      const key = `${proto}\0${state}\0${zone}`;
      const c = counts.get(key);
      if (c) c.count++;
      else counts.set(key, { proto, state, zone, count: 1 });
    }
    m.flows = [...counts.values()];
  }
  m.seconds = (performance.now() - t0) / 1000;
  return m;
}

/** Escapes a label value (backslash, double quote, newline). */
function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

const CPU_COUNTERS: [keyof CpuStats, string, string][] = [
  ["found", "found", "Lookups that found an entry."],
  ["invalid", "invalid", "Packets conntrack could not track (malformed, or no state fits)."],
  ["insert", "insert", "Entries inserted (CTA_STATS_INSERT)."],
  [
    "insertFailed",
    "insert_failed",
    "Entries that could not be inserted (a clash that was not resolved).",
  ],
  ["drop", "drop", "Packets dropped because conntrack failed (table full, or insert failed)."],
  ["earlyDrop", "early_drop", "Entries dropped early to make room in a full table."],
  [
    "error",
    "error",
    "Packets rejected by a protocol tracker (ICMP errors that fit no entry, ...).",
  ],
  ["searchRestart", "search_restart", "Lookups restarted because the hash table was resized."],
  [
    "clashResolve",
    "clash_resolve",
    "Insert clashes that were resolved (the packet got the other entry).",
  ],
  [
    "chainTooLong",
    "chain_toolong",
    "Inserts refused because a hash chain grew too long (Linux 5.15+).",
  ],
];

const EXPECT_COUNTERS: [keyof ExpectCpuStats, string, string][] = [
  ["new", "new", "Expectations matched by a new connection."],
  ["create", "create", "Expectations created."],
  ["delete", "delete", "Expectations deleted."],
];

/**
 * Prints figures of one or more namespaces in the Prometheus text exposition format 0.0.4
 * (`promtool check metrics` clean): one HELP/TYPE block per metric, every namespace's series
 * under it. Metric names start `nfct_` so they never clash with node_exporter's own
 * `node_nf_conntrack_*`.
 */
export function formatMetrics(metrics: ConntrackMetrics | readonly ConntrackMetrics[]): string {
  const all = Array.isArray(metrics)
    ? metrics as readonly ConntrackMetrics[]
    : [metrics as ConntrackMetrics];
  const out: string[] = [];
  const block = (name: string, type: "gauge" | "counter", help: string, lines: string[]) => {
    if (lines.length === 0) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const ns = (m: ConntrackMetrics) => `netns="${esc(m.netns)}"`;
  block(
    "nfct_conntrack_entries",
    "gauge",
    "Entries in the conntrack table.",
    all.map((m) => `nfct_conntrack_entries{${ns(m)}} ${m.entries}`),
  );
  block(
    "nfct_conntrack_entries_limit",
    "gauge",
    "Most entries the table may hold (net.netfilter.nf_conntrack_max).",
    all.map((m) => `nfct_conntrack_entries_limit{${ns(m)}} ${m.maxEntries}`),
  );
  for (const [key, name, help] of CPU_COUNTERS) {
    block(
      `nfct_conntrack_stat_${name}_total`,
      "counter",
      `${help} Per CPU.`,
      all.flatMap((m) =>
        m.cpu.map((c) => `nfct_conntrack_stat_${name}_total{${ns(m)},cpu="${c.cpu}"} ${c[key]}`)
      ),
    );
  }
  block(
    "nfct_conntrack_expectations",
    "gauge",
    "Expectations in the expectation table.",
    all.filter((m) => m.expectations !== undefined).map((m) =>
      `nfct_conntrack_expectations{${ns(m)}} ${m.expectations}`
    ),
  );
  for (const [key, name, help] of EXPECT_COUNTERS) {
    block(
      `nfct_conntrack_expect_${name}_total`,
      "counter",
      `${help} Per CPU.`,
      all.flatMap((m) =>
        (m.expectCpu ?? []).map((c) =>
          `nfct_conntrack_expect_${name}_total{${ns(m)},cpu="${c.cpu}"} ${c[key]}`
        )
      ),
    );
  }
  block(
    "nfct_conntrack_flows",
    "gauge",
    "Entries by protocol, state and zone (from one dump of the table).",
    all.flatMap((m) =>
      (m.flows ?? []).map((f) =>
        `nfct_conntrack_flows{${ns(m)},proto="${esc(f.proto)}",state="${esc(f.state)}",zone="${
          esc(f.zone)
        }"} ${f.count}`
      )
    ),
  );
  block(
    "nfct_conntrack_events_total",
    "counter",
    "Conntrack events received since the exporter started, by type.",
    all.flatMap((m) =>
      m.events
        ? (["new", "update", "destroy"] as const).map((t) =>
          `nfct_conntrack_events_total{${ns(m)},type="${t}"} ${m.events![t]}`
        )
        : []
    ),
  );
  block(
    "nfct_conntrack_events_lost_total",
    "counter",
    "Conntrack events the kernel dropped (receive buffer full) since the exporter started.",
    all.flatMap((m) =>
      m.events ? [`nfct_conntrack_events_lost_total{${ns(m)}} ${m.events.lost}`] : []
    ),
  );
  block(
    "nfct_scrape_duration_seconds",
    "gauge",
    "Seconds the collection of these figures took.",
    all.map((m) => `nfct_scrape_duration_seconds{${ns(m)}} ${m.seconds.toFixed(6)}`),
  );
  return out.join("\n") + "\n";
}

/**
 * Counts conntrack events (new, update, destroy, and lost ones) from an event stream until
 * {@link stop}: the rates Prometheus computes with `rate(nfct_conntrack_events_total[1m])`.
 */
export class EventCounter {
  /** The counts so far, updated as events arrive. */
  readonly counts: EventCounts = { new: 0, update: 0, destroy: 0, lost: 0 };
  #stream: EventStream;
  #done: Promise<void>;

  /** Starts counting the events of `ct`'s namespace (its own event socket). */
  constructor(ct: Conntrack) {
    const stream = ct.events({ types: ["new", "update", "destroy"] });
    this.#stream = stream;
    this.#done = (async () => {
      try {
        for await (const ev of stream) {
          if (ev.type === "new" || ev.type === "update" || ev.type === "destroy") {
            this.counts[ev.type]++;
          } else if (ev.type === "overrun") this.counts.lost += ev.lost ?? 1;
        }
      } catch {
        // closed under us
      }
    })();
  }

  /** Stops counting; idempotent. */
  async stop(): Promise<void> {
    this.#stream.close();
    await this.#done;
  }
}

/** Replaces `path` atomically with `text` (write a temporary file beside it, then rename). */
export function writeMetricsFile(path: string, text: string): void {
  writeFileAtomic(path, text);
}

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** Listen address (default `"127.0.0.1"`). */
  hostname?: string;
  /** Port (default 9101; 0: any free one). */
  port?: number;
  /** Produces the exposition text for each scrape of `/metrics`. */
  scrape: () => string;
}

/**
 * Serves `GET /metrics` (and `/` with a link to it) over HTTP with `Deno.serve` or `Bun.serve`.
 * A failing scrape answers 500 with the error's message.
 */
export function serveMetrics(
  options: ServeMetricsOptions,
): { port: number; close(): Promise<void> } {
  return serveHttp({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 9101,
    handler: (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/metrics") {
        try {
          return new Response(options.scrape(), {
            headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
          });
        } catch (e) {
          return new Response(`scrape failed: ${(e as Error).message}\n`, { status: 500 });
        }
      }
      if (path === "/") {
        return new Response('<html><body><a href="/metrics">/metrics</a></body></html>\n', {
          headers: { "content-type": "text/html" },
        });
      }
      return new Response("not found\n", { status: 404 });
    },
  });
}
