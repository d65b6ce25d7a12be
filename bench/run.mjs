#!/usr/bin/env node
// Runs bench/table.ts on Deno and on Bun, each in its own throwaway network namespace, one
// after the other (namespaces share the conntrack hash table: runs must not overlap), for
// each table size given (default 100000). Tables over 262144 entries need
// net.netfilter.nf_conntrack_max raised in the init namespace: this script raises it for the
// run (root only) and restores it after. Writes bench/results/table.json, table.md, table.svg.
//   node bench/run.mjs [N ...]        e.g. node bench/run.mjs 10000 100000 1000000
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, readlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import os from "node:os";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const sizes = process.argv.slice(2).map(Number);
if (sizes.length === 0) sizes.push(100000);
for (const n of sizes) {
  if (!Number.isInteger(n) || n < 100 || n > 5_000_000) {
    console.error(`usage: node bench/run.mjs [N ...] with 100 <= N <= 5000000 (got ${n})`);
    process.exit(2);
  }
}
if (spawnSync("sh", ["-c", "command -v conntrack"]).status !== 0) {
  console.error("the benchmark compares with conntrack(8): apt-get install conntrack");
  process.exit(1);
}

const MAX = "/proc/sys/net/netfilter/nf_conntrack_max";
const isRoot = process.getuid?.() === 0;
const origMax = Number(readFileSync(MAX, "utf8"));
const need = Math.max(...sizes) + 1000;
let restore = false;
if (need > origMax) {
  if (!isRoot) {
    console.error(`N=${need - 1000} needs nf_conntrack_max >= ${need} (now ${origMax}); raising it needs root`);
    process.exit(1);
  }
  writeFileSync(MAX, String(need));
  restore = true;
  console.log(`raised nf_conntrack_max ${origMax} -> ${need} for this run`);
}
const restoreMax = () => {
  if (restore) {
    writeFileSync(MAX, String(origMax));
    console.log(`restored nf_conntrack_max to ${origMax}`);
    restore = false;
  }
};
process.on("SIGINT", () => {
  restoreMax();
  process.exit(130);
});

const results = [];
try {
  for (const n of sizes) {
    for (const rt of ["deno", "bun"]) {
      const exe = join(root, "node_modules", ".bin", rt);
      const args = rt === "deno" ? ["run", "-A", "--v8-flags=--expose-gc", "bench/table.ts", String(n)] : ["bench/table.ts", String(n)];
      console.log(`\n=== ${rt}, ${n.toLocaleString("en-US")} entries`);
      const r = spawnSync("unshare", [isRoot ? "-n" : "-rn", "--", exe, ...args], {
        cwd: root,
        encoding: "utf8",
        maxBuffer: 64 << 20,
        env: { ...process.env, NFCT_HOST_NETNS: readlinkSync("/proc/self/ns/net") },
      });
      process.stderr.write(r.stderr ?? "");
      const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("RESULT "));
      if (r.status !== 0 || !line) {
        console.error(r.stdout);
        throw new Error(`${rt} N=${n} failed (exit ${r.status})`);
      }
      const res = JSON.parse(line.slice(7));
      results.push(res);
      printRun(res);
    }
  }
} finally {
  restoreMax();
}

function printRun(res) {
  const w = [34, 10, 10, 13, 10, 8];
  console.log(["operation", "entries", "nfct", "nfct rate", "conntrack", "ratio"].map((h, i) => h.padEnd(w[i])).join(" "));
  for (const [op, v] of Object.entries(res.ops)) {
    const cells = [op, v.entries.toLocaleString("en-US"), `${v.nfct.toFixed(3)}s`, op === "count" ? "O(1)" : `${Math.round(v.entries / v.nfct).toLocaleString("en-US")}/s`,
      v.conntrack === undefined ? "" : `${v.conntrack.toFixed(3)}s`, v.conntrack === undefined ? "" : `${(v.conntrack / v.nfct).toFixed(2)}x`];
    console.log(cells.map((c, i) => c.padEnd(w[i])).join(" "));
  }
  console.log(`dump peak RSS (whole process): ${(res.dumpPeakRss / 2 ** 20).toFixed(1)} MiB`);
}

// Files: JSON (all figures), markdown table, SVG chart.
const dir = join(root, "bench", "results");
mkdirSync(dir, { recursive: true });
const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "?", memGiB: Math.round(os.totalmem() / 2 ** 30), kernel: results[0]?.kernel };
const stamp = new Date().toISOString();
writeFileSync(join(dir, "table.json"), JSON.stringify({ date: stamp, machine, conntrack: conntrackVersion(), results }, null, 2) + "\n");

function conntrackVersion() {
  return (spawnSync("conntrack", ["--version"], { encoding: "utf8" }).stdout ?? "").trim();
}

let md = `# Whole-table benchmark\n\n${stamp}, ${machine.cpus} × ${machine.cpu}, ${machine.memGiB} GiB, Linux ${machine.kernel}, ${conntrackVersion()}.\n`;
md += `Each run in a fresh network namespace; ratio = conntrack time / nfct time on the same table (higher is better for nfct).\n\n`;
md += `| entries | runtime | operation | nfct | nfct entries/s | conntrack | ratio |\n|---:|---|---|---:|---:|---:|---:|\n`;
for (const r of results) {
  for (const [op, v] of Object.entries(r.ops)) {
    md += `| ${r.entries.toLocaleString("en-US")} | ${r.runtime} ${r.version} | ${op} | ${v.nfct.toFixed(3)} s | ${op === "count" ? "O(1)" : Math.round(v.entries / v.nfct).toLocaleString("en-US")} | ${v.conntrack === undefined ? "" : v.conntrack.toFixed(3) + " s"} | ${v.conntrack === undefined ? "" : (v.conntrack / v.nfct).toFixed(2) + "x"} |\n`;
  }
  md += `| ${r.entries.toLocaleString("en-US")} | ${r.runtime} | dump peak RSS (process) | ${(r.dumpPeakRss / 2 ** 20).toFixed(1)} MiB | | | |\n`;
}
writeFileSync(join(dir, "table.md"), md);
writeFileSync(join(dir, "table.svg"), svgChart(results));
console.log(`\nwrote bench/results/table.json, table.md, table.svg`);

/** Grouped bars: entries/s for dump and deletes, nfct on Deno and Bun vs conntrack, per size. */
function svgChart(results) {
  const opsShown = [["dump", "dump"], ["delete dst CIDR (userspace filter)", "delete CIDR"], ["delete udp (kernel filter)", "delete udp"], ["delete all (dump + pipelined deletes)", "delete all"]];
  const sizesShown = [...new Set(results.map((r) => r.entries))];
  const series = [["nfct deno", "#2a7ab0"], ["nfct bun", "#e0a030"], ["conntrack", "#888888"]];
  const groups = [];
  for (const n of sizesShown) {
    for (const [op, label] of opsShown) {
      const d = results.find((r) => r.entries === n && r.runtime === "deno")?.ops[op];
      const b = results.find((r) => r.entries === n && r.runtime === "bun")?.ops[op];
      const c = d?.conntrack ?? b?.conntrack;
      const rate = (v, s) => (v && s ? v.entries / s : 0);
      groups.push({ label: `${label} ${n >= 1e6 ? n / 1e6 + "M" : n / 1e3 + "k"}`, values: [rate(d, d?.nfct), rate(b, b?.nfct), rate(d ?? b, c)] });
    }
  }
  const max = Math.max(...groups.flatMap((g) => g.values), 1);
  const W = 60 + groups.length * 70, H = 340, base = 280, scale = 230 / max;
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">\n`;
  s += `<text x="10" y="16" font-size="13">entries/s (higher is better) — ${machine.cpus} cores, Linux ${machine.kernel}</text>\n`;
  groups.forEach((g, gi) => {
    const x0 = 50 + gi * 70;
    g.values.forEach((v, si) => {
      const h = v * scale;
      s += `<rect x="${x0 + si * 18}" y="${(base - h).toFixed(1)}" width="16" height="${h.toFixed(1)}" fill="${series[si][1]}"><title>${series[si][0]}: ${Math.round(v)}/s</title></rect>\n`;
    });
    s += `<text x="${x0 + 27}" y="${base + 14}" text-anchor="middle">${g.label.split(" ").slice(0, -1).join(" ")}</text>`;
    s += `<text x="${x0 + 27}" y="${base + 27}" text-anchor="middle">${g.label.split(" ").pop()}</text>\n`;
  });
  s += `<line x1="45" y1="${base}" x2="${W - 5}" y2="${base}" stroke="#000"/>\n`;
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    s += `<text x="44" y="${(base - v * scale + 4).toFixed(1)}" text-anchor="end">${v >= 1e6 ? (v / 1e6).toFixed(1) + "M" : Math.round(v / 1e3) + "k"}</text>\n`;
  }
  series.forEach(([name, color], i) => {
    s += `<rect x="${60 + i * 110}" y="${H - 22}" width="12" height="12" fill="${color}"/><text x="${76 + i * 110}" y="${H - 12}">${name}</text>\n`;
  });
  return s + "</svg>\n";
}
