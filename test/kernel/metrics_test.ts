/**
 * `nfct metrics` and the metrics library against the real tools, in a throwaway namespace
 * (loopback only, every process killed at the end, every wait bounded):
 * 1. `promtool check metrics` passes on the output, and its figures are conntrack(8)'s
 *    (`-C`, `-S`) and the table's;
 * 2. node_exporter with `--collector.textfile.directory` serves the series of the file
 *    `nfct metrics --textfile` wrote (atomically);
 * 3. a real Prometheus scrapes `nfct metrics --listen` and the test reads values back through
 *    its HTTP API, event counters included.
 * @module
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createSocket } from "node:dgram";
import { test } from "node:test";
import { collectMetrics, Conntrack, formatMetrics } from "../../mod.ts";
import { assertThrowawayNetns, sh, trackLoopback } from "../_helpers/netns.ts";
import { NFCT, ROOT } from "../_helpers/run.ts";
import { pollFor as until } from "../_helpers/wait.ts";

assertThrowawayNetns();

const T = { timeout: 180000 };
const TMP = mkdtempSync("/tmp/nfct-metrics-");
const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

function run(argv: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd: ROOT,
    encoding: "utf8",
    input,
    timeout: 60000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The value of the one series of `name` whose labels include `labels`, in exposition text. */
function value(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{")) continue;
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** Some real flows on loopback (UDP to a few ports, TCP connection attempts) plus created ones in zones. */
async function fill(): Promise<void> {
  for (let p = 41000; p < 41005; p++) {
    const s = createSocket("udp4");
    await new Promise<void>((res, rej) => s.send("x", p, "127.0.0.1", (e) => (e ? rej(e) : res())));
    s.close();
  }
  using ct = Conntrack.open();
  for (let z = 1; z <= 3; z++) {
    ct.create({
      family: "ipv4",
      proto: "tcp",
      orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000 + z, dport: 80 },
      reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 80, dport: 1000 + z },
      tcp: { state: "ESTABLISHED" },
      zone: z,
      timeout: 600,
      status: ["CONFIRMED", "SEEN_REPLY", "ASSURED"],
    });
  }
}

/** Starts a long-running process, its output going to TMP/NAME.log (read when something fails). */
function start(name: string, argv: string[]): ChildProcess {
  const log = openSync(`${TMP}/${name}.log`, "w");
  try {
    return spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ["ignore", log, log] });
  } finally {
    closeSync(log);
  }
}

function logOf(name: string): string {
  try {
    return readFileSync(`${TMP}/${name}.log`, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "";
  }
}

async function stop(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), 10000);
  await gone;
  clearTimeout(t);
}

async function get(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}: ${text}`);
  return text;
}

trackLoopback("nfctmetrics");

test(
  "nfct metrics passes promtool check metrics and reports conntrack(8)'s figures",
  T,
  async () => {
    await fill();
    for (const args of [[], ["--per-state"], ["--no-expect", "--per-state", "--max-zones", "1"]]) {
      const r = run([...NFCT, "metrics", ...args]);
      assert.equal(r.code, 0, r.stderr);
      const check = run(["promtool", "check", "metrics"], r.stdout);
      assert.equal(
        check.code,
        0,
        `promtool check metrics ${args.join(" ")}: ${check.stdout}${check.stderr}`,
      );
      const count = Number(sh("conntrack -C").trim());
      assert.equal(value(r.stdout, "nfct_conntrack_entries"), count);
      assert.equal(
        value(r.stdout, "nfct_conntrack_entries_limit"),
        Number(sh("sysctl -n net.netfilter.nf_conntrack_max").trim()),
      );
      if (args.includes("--per-state")) {
        let sum = 0;
        for (const line of r.stdout.split("\n")) {
          if (line.startsWith("nfct_conntrack_flows{")) {
            sum += Number(line.split(" ").pop());
          }
        }
        assert.equal(sum, count, "per-state counts add up to the table");
        if (args.includes("--max-zones")) {
          assert.ok(
            value(r.stdout, "nfct_conntrack_flows", { zone: "other" })! >= 1,
          );
        } else {assert.equal(
            value(r.stdout, "nfct_conntrack_flows", {
              proto: "tcp",
              state: "ESTABLISHED",
              zone: "2",
            }),
            1,
          );}
        assert.ok(value(r.stdout, "nfct_conntrack_flows", { proto: "udp", state: "none" })! >= 5);
      } else {
        assert.equal(
          value(r.stdout, "nfct_conntrack_flows"),
          undefined,
          "no dump without --per-state",
        );
      }
    }
    // Per-CPU counters are conntrack -S's (they only grow: compare with a scrape taken after).
    const s = sh("conntrack -S");
    using ct = Conntrack.open();
    const text = formatMetrics(collectMetrics(ct, { netns: "x" }));
    for (const line of s.trim().split("\n")) {
      const cpu = /cpu=(\d+)/.exec(line)![1];
      const found = Number(/\bfound=(\d+)/.exec(line)![1]);
      const invalid = Number(/\binvalid=(\d+)/.exec(line)![1]);
      assert.ok(value(text, "nfct_conntrack_stat_found_total", { cpu })! >= found);
      assert.ok(value(text, "nfct_conntrack_stat_invalid_total", { cpu })! >= invalid);
      assert.equal(
        value(text, "nfct_conntrack_stat_drop_total", { cpu }),
        Number(/\bdrop=(\d+)/.exec(line)![1]),
      );
    }
  },
);

test(
  "node_exporter's textfile collector serves the file nfct metrics --textfile wrote",
  T,
  async (t) => {
    if (!have("prometheus-node-exporter")) {
      return t.skip(
        "prometheus-node-exporter is not installed",
      );
    }
    const dir = `${TMP}/textfile`;
    sh(`mkdir -p ${dir}`);
    const r = run([...NFCT, "metrics", "--per-state", "--textfile", `${dir}/nfct.prom`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(dir), ["nfct.prom"], "no temporary file left behind");
    const file = readFileSync(`${dir}/nfct.prom`, "utf8");
    let ne: ChildProcess | undefined;
    try {
      ne = start("node_exporter", [
        "prometheus-node-exporter",
        "--web.listen-address=127.0.0.1:19100",
        "--collector.disable-defaults",
        "--collector.textfile",
        `--collector.textfile.directory=${dir}`,
      ]);
      const served = await until(
        "node_exporter",
        20000,
        () => get("http://127.0.0.1:19100/metrics"),
      );
      assert.equal(value(served, "node_textfile_scrape_error"), undefined, "plain gauge line");
      assert.match(served, /^node_textfile_scrape_error 0$/m, "node_exporter parsed the file");
      for (
        const name of [
          "nfct_conntrack_entries",
          "nfct_conntrack_entries_limit",
          "nfct_conntrack_expectations",
        ]
      ) {
        assert.equal(value(served, name), value(file, name), name);
      }
      assert.equal(
        value(served, "nfct_conntrack_flows", { zone: "3" }),
        value(file, "nfct_conntrack_flows", { zone: "3" }),
      );
      assert.equal(
        value(served, "nfct_conntrack_stat_found_total", { cpu: "0" }),
        value(file, "nfct_conntrack_stat_found_total", { cpu: "0" }),
      );
    } finally {
      await stop(ne);
    }
  },
);

test(
  "a real Prometheus scrapes nfct metrics --listen and answers queries on its values",
  T,
  async (t) => {
    if (!have("prometheus")) return t.skip("prometheus is not installed");
    const cfg = `${TMP}/prometheus.yml`;
    writeFileSync(
      cfg,
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: nfct\n    static_configs:\n      - targets: ["127.0.0.1:19101"]\n`,
    );
    let exporter: ChildProcess | undefined;
    let prom: ChildProcess | undefined;
    try {
      exporter = start("nfct", [...NFCT, "metrics", "--listen", "127.0.0.1:19101"]);
      await until("nfct metrics --listen", 30000, () => get("http://127.0.0.1:19101/metrics"));
      prom = start("prometheus", [
        "prometheus",
        `--config.file=${cfg}`,
        `--storage.tsdb.path=${TMP}/tsdb`,
        "--web.listen-address=127.0.0.1:19090",
      ]);
      // New flows while it listens: the event counter counts them.
      for (let p = 42000; p < 42010; p++) {
        const s = createSocket("udp4");
        await new Promise<void>((res, rej) =>
          s.send("x", p, "127.0.0.1", (e) => (e ? rej(e) : res()))
        );
        s.close();
      }
      const query = async (q: string) => {
        const body = JSON.parse(
          await get(`http://127.0.0.1:19090/api/v1/query?query=${encodeURIComponent(q)}`),
        );
        const r = body.data?.result?.[0];
        return r ? Number(r.value[1]) : undefined;
      };
      // The table keeps changing (each scrape is a tracked TCP connection on loopback): the limit is
      // exact, the entries at least the 10 UDP flows made above.
      const max = Number(sh("sysctl -n net.netfilter.nf_conntrack_max").trim());
      assert.equal(
        await until(
          "Prometheus to scrape nfct_conntrack_entries_limit",
          60000,
          () => query('nfct_conntrack_entries_limit{job="nfct"}'),
        ),
        max,
      );
      const entries = await until("nfct_conntrack_entries >= 10", 30000, async () => {
        const v = await query('nfct_conntrack_entries{job="nfct"}');
        return v !== undefined && v >= 10 ? v : undefined;
      });
      assert.ok(entries >= 10);
      const up = await query('up{job="nfct"}');
      assert.equal(up, 1);
      const news = await until("the event counter", 30000, async () => {
        const v = await query('sum(nfct_conntrack_events_total{job="nfct",type="new"})');
        return v !== undefined && v >= 10 ? v : undefined;
      });
      assert.ok(news >= 10, `${news} new events counted`);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- prometheus log ---\n${
          logOf("prometheus")
        }\n--- nfct log ---\n${logOf("nfct")}`,
        { cause: e },
      );
    } finally {
      await stop(prom);
      await stop(exporter);
    }
    // (Deno's node:child_process reports signalCode SIGTERM even for a child that handled it and
    // exited 0, so the exporter's own last word is checked.)
    assert.match(logOf("nfct"), /metrics: stopped$/m, "the exporter stops cleanly on SIGTERM");
  },
);

test("cleanup", () => {
  sh("nft delete table inet nfctmetrics; conntrack -F 2>/dev/null; true");
  rmSync(TMP, { recursive: true, force: true });
});
