#!/usr/bin/env node
// Renders the whole-table benchmark's JSON (written by bench/run.mjs) as a markdown table and an
// SVG chart, and with --record also the README's figures (the block between the
// `<!-- bench:begin -->` and `<!-- bench:end -->` lines). Everything shown comes from the JSON.
//
//   node bench/report.mjs                 bench/out/bench.json -> bench/out/table.md, table.svg
//   node bench/report.mjs FILE.json       FILE's folder gets table.md, table.svg
//   node bench/report.mjs --record        bench/results/bench.json -> bench/results/table.md,
//                                         table.svg and README.md's figures
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The rows, per job of bench/run.mjs: what nfct runs (one contender per runtime, `ID.deno` and
 * `ID.bun`) and what it is compared with (conntrack's command, the C limit).
 */
const JOBS = [
  {
    job: "dump",
    title: "dump the whole table",
    conntrack: ["conntrack.L", "conntrack -L"],
    c: ["c.dump", "C dump (count only)"],
    rows: [
      ["lib.dump", "dump() into typed flows"],
      ["lib.dumpReadAhead", "dump(…, { readAhead: true })"],
      ["cli.L", "nfct -L > /dev/null"],
    ],
  },
  {
    job: "flush udp",
    title: "delete the UDP entries, kernel filter",
    conntrack: ["conntrack.Dudp", "conntrack -D -p udp"],
    c: ["c.flushUdp", "C kernel flush (CTA_FILTER proto)"],
    rows: [
      ["lib.flushUdp", 'flush({ proto: "udp" })'],
      ["cli.Fudp", "nfct -F -p udp"],
      ["cli.Dudp", "nfct -D -p udp (lists each)"],
    ],
  },
  {
    job: "delete CIDR",
    title: "delete by dst CIDR, userspace filter (half the table)",
    conntrack: ["conntrack.Dcidr", "conntrack -D -d 198.51.100.0/24"],
    c: ["c.deleteCidr", "C dump + batched delete"],
    rows: [
      ["lib.deleteCidr", 'flush({ dst: CIDR }, { via: "dump" })'],
      ["cli.Dcidr", "nfct -D -d CIDR (lists each)"],
    ],
  },
  {
    job: "netavark",
    title: "netavark: reply src, reply dst or UDP dport of one container (3%)",
    conntrack: ["conntrack.Dthree", "three conntrack -D"],
    c: ["c.netavark", "C one dump + batched delete"],
    rows: [
      ["lib.netavarkAny", 'flush([f1, f2, f3], { via: "dump" })'],
      ["lib.netavarkThree", "flush(f1); flush(f2); flush(f3)"],
      ["cli.Dthree", "three nfct -D"],
    ],
  },
  {
    job: "start-up",
    title: "start-up: a small table",
    conntrack: ["conntrack.L", "conntrack -L"],
    c: ["c.dump", "C dump (count only)"],
    rows: [
      ["lib.noop", "empty script importing nfct"],
      ["cli.L", "nfct -L > /dev/null"],
      ["cli.Lsrc", "./nfct -L in a checkout (TypeScript sources)"],
      ["cli.Lstandalone", "standalone executable -L (Bun only: bun build --compile)"],
    ],
  },
];

const sorted = (xs) => [...xs].sort((a, b) => a - b);
/** Median (the mean of the middle two for an even count), min and max. */
function stats(xs) {
  if (!xs?.length) return undefined;
  const s = sorted(xs);
  const m = s.length >> 1;
  return {
    median: s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2,
    min: s[0],
    max: s[s.length - 1],
    n: s.length,
  };
}
/** Ratios pair by pair: a[r] / b[r] for each round r both ran in, then their stats. */
const pairRatio = (
  a,
  b,
) => (a?.length && b?.length
  ? stats(a.slice(0, Math.min(a.length, b.length)).map((x, i) => x / b[i]))
  : undefined);

/** The rows of one table size: `{ label, entries, deno, bun, conntrack, c, ratios }` (stats in seconds). */
export function rowsOf(size) {
  const out = [];
  for (const spec of JOBS) {
    const job = size.jobs[spec.job];
    if (!job) continue;
    const entries = spec.job === "dump" || spec.job === "start-up"
      ? size.entries
      : size.parts[{ "flush udp": "udp", "delete CIDR": "cidr", netavark: "netavark" }[spec.job]];
    const times = (id) => job[id]?.times;
    const ct = times(spec.conntrack[0]), c = times(spec.c[0]);
    for (const [id, label] of spec.rows) {
      const d = times(`${id}.deno`), b = times(`${id}.bun`);
      if (!d && !b) continue;
      out.push({
        job: spec.job,
        title: spec.title,
        label,
        entries,
        deno: stats(d),
        bun: stats(b),
        conntrack: id === "lib.noop" ? undefined : stats(ct),
        conntrackCmd: spec.conntrack[1],
        c: id === "lib.noop" ? undefined : stats(c),
        cName: spec.c[1],
        vsConntrack: id === "lib.noop" ? {} : { deno: pairRatio(ct, d), bun: pairRatio(ct, b) },
        vsC: id === "lib.noop" ? {} : { deno: pairRatio(d, c), bun: pairRatio(b, c) },
      });
    }
  }
  return out;
}

const k = (
  n,
) => (n >= 1e6 && n % 1e6 === 0
  ? `${n / 1e6}M`
  : n >= 1000 && n % 1000 === 0
  ? `${n / 1000}k`
  : n.toLocaleString("en-US"));
const sec = (
  s,
) => (s === undefined ? "" : s.median < 0.1 ? s.median.toFixed(4) : s.median.toFixed(3));
const span = (
  s,
  f = (x) => (x < 0.1 ? x.toFixed(4) : x.toFixed(3)),
) => (s === undefined ? "" : `${f(s.median)} <sub>${f(s.min)}–${f(s.max)}</sub>`);
const ratio = (s) => (s === undefined ? "" : span(s, (x) => x.toFixed(2)));

/** The line naming the machine, the tools and the method. */
export function machineLine(data) {
  const m = data.machine, t = data.tools;
  return `${m.cores} × ${m.cpu}, ${m.memGiB} GiB, Linux ${m.kernel}; ${t.conntrack}; ${t.deno}; Bun ${t.bun}; C limits: ${t.c}. ` +
    `${
      data.date.slice(0, 10)
    }, ${data.options.runs} runs per contender after ${data.options.warmup} warm-up` +
    (data.options.quick ? " (--quick: a smoke check, not figures to quote)" : "");
}

/** The markdown: method, machine, one table per size (and the start-up table), peak RSS. */
export function markdown(data) {
  let md =
    `Each cell: median <sub>min–max</sub> in seconds of whole-process wall time over fresh processes, ` +
    `nfct, conntrack and the C limit interleaved on the same table, refilled before every run that deletes. ` +
    `Ratios are taken pair by pair (run r against run r of the same round): conntrack ÷ nfct above 1 means nfct is faster; ` +
    `nfct ÷ C is how far nfct is from the C program doing the same kernel request with no parsing.\n\n` +
    `Machine: ${machineLine(data)}\n`;
  const sections = [
    ...data.sizes.map((s) => [s, `${k(s.entries)} entries`]),
    ...(data.startup ? [[data.startup, `start-up, ${k(data.startup.entries)} entries`]] : []),
  ];
  for (const [size, heading] of sections) {
    md += `\n**${heading}** (55% UDP, 40% TCP, 5% IPv6)\n\n`;
    md +=
      `| operation | entries | nfct Deno | nfct Bun | conntrack | C limit | conntrack ÷ nfct Deno | conntrack ÷ nfct Bun | nfct Deno ÷ C | nfct Bun ÷ C |\n`;
    md += `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n`;
    let title;
    for (const r of rowsOf(size)) {
      if (r.title !== title) {
        title = r.title;
        md += `| *${title}* vs \`${r.conntrackCmd}\` | | | | | | | | | |\n`;
      }
      md +=
        `| \`${r.label}\` | ${r.entries.toLocaleString("en-US")} | ${span(r.deno)} | ${
          span(r.bun)
        } | ${span(r.conntrack)} | ${span(r.c)} | ` +
        `${ratio(r.vsConntrack.deno)} | ${ratio(r.vsConntrack.bun)} | ${ratio(r.vsC.deno)} | ${
          ratio(r.vsC.bun)
        } |\n`;
    }
    const rss = (id) => stats(size.jobs.dump?.[id]?.reports.map((x) => x.peakRss / 2 ** 20));
    if (size.jobs.dump) {
      const mib = (s) => (s ? span(s, (x) => x.toFixed(0)) + " MiB" : "");
      md += `| peak RSS of the whole process, \`dump()\` | ${
        size.entries.toLocaleString("en-US")
      } | ${mib(rss("lib.dump.deno"))} | ${mib(rss("lib.dump.bun"))} | | | | | | |\n`;
      md += `| peak RSS, \`dump()\` with \`readAhead\` | ${
        size.entries.toLocaleString("en-US")
      } | ${mib(rss("lib.dumpReadAhead.deno"))} | ${
        mib(rss("lib.dumpReadAhead.bun"))
      } | | | | | | |\n`;
    }
  }
  return md;
}

/** 1, 2 or 5 times a power of ten: the smallest such at least `x`. */
function niceStep(x) {
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((f) => f * p).find((v) => v >= x);
}

const esc = (s) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const COLORS = { deno: "#2a7ab0", bun: "#e0a030", conntrack: "#8a8a8a", c: "#333333" };

/**
 * The chart: one panel per table size (and one for start-up), each on its own linear time axis;
 * in each, per job, one line per nfct row (a Deno and a Bun bar) and one each for conntrack and
 * the C limit, every bar the median with a min–max whisker.
 */
export function svg(data) {
  const W = 900, LABEL = 330, BAR = W - LABEL - 90, LINE = 18;
  const sections = [
    ...data.sizes.map((s) => [s, `${k(s.entries)} entries`]),
    ...(data.startup ? [[data.startup, `start-up, ${k(data.startup.entries)} entries`]] : []),
  ];
  let y = 40, body = "";
  for (const [size, heading] of sections) {
    const rows = rowsOf(size);
    const lines = [];
    for (const spec of JOBS) {
      const rs = rows.filter((r) => r.job === spec.job);
      if (!rs.length) continue;
      lines.push({ header: `${spec.title} (${rs[0].entries.toLocaleString("en-US")} entries)` });
      for (const r of rs) lines.push({ label: r.label, bars: [["deno", r.deno], ["bun", r.bun]] });
      const ref = rs.find((r) => r.conntrack || r.c);
      if (ref?.conntrack) {
        lines.push({ label: ref.conntrackCmd, bars: [["conntrack", ref.conntrack]] });
      }
      if (ref?.c) lines.push({ label: ref.cName, bars: [["c", ref.c]] });
    }
    const longest = Math.max(
      ...lines.flatMap((l) => (l.bars ?? []).map(([, s]) => s?.max ?? 0)),
      1e-3,
    );
    const step = niceStep(longest / 5);
    const max = longest * 1.05;
    const x = (v) => LABEL + (v / max) * BAR;
    body += `<text x="10" y="${y}" font-size="14" font-weight="bold">${esc(heading)}</text>\n`;
    y += 8;
    const top = y;
    for (const l of lines) {
      y += LINE;
      if (l.header) {
        body += `<text x="10" y="${y - 4}" font-style="italic" fill="#444">${
          esc(l.header)
        }</text>\n`;
        continue;
      }
      body += `<text x="${LABEL - 8}" y="${y - 5}" text-anchor="end">${esc(l.label)}</text>\n`;
      const h = (LINE - 4) / l.bars.length;
      l.bars.forEach(([who, s], i) => {
        if (!s) return;
        const by = y - LINE + 2 + i * h, cy = by + h / 2;
        body +=
          `<rect x="${LABEL}" y="${by.toFixed(1)}" width="${
            (x(s.median) - LABEL).toFixed(1)
          }" height="${(h - 1).toFixed(1)}" fill="${COLORS[who]}">` +
          `<title>${
            esc(
              `${who}: median ${s.median.toFixed(4)} s, min ${s.min.toFixed(4)}, max ${
                s.max.toFixed(4)
              }, ${s.n} runs`,
            )
          }</title></rect>\n`;
        body += `<path d="M${x(s.min).toFixed(1)} ${(cy - 2).toFixed(1)}v4M${x(s.min).toFixed(1)} ${
          cy.toFixed(1)
        }H${x(s.max).toFixed(1)}M${x(s.max).toFixed(1)} ${
          (cy - 2).toFixed(1)
        }v4" stroke="#000" stroke-width="1" fill="none"/>\n`;
        body += `<text x="${(x(s.max) + 4).toFixed(1)}" y="${(cy + 4).toFixed(1)}" font-size="10">${
          sec(s)
        }</text>\n`;
      });
    }
    // axis: 0 and round ticks, in seconds
    body += `<line x1="${LABEL}" y1="${top}" x2="${LABEL}" y2="${y + 2}" stroke="#000"/>\n`;
    const digits = step < 0.01 ? 3 : step < 0.1 ? 2 : 1;
    for (let v = 0; v <= max; v += step) {
      const at = x(v).toFixed(1);
      body += `<line x1="${at}" y1="${y + 2}" x2="${at}" y2="${y + 6}" stroke="#000"/>` +
        `<text x="${at}" y="${y + 17}" text-anchor="middle" font-size="10">${
          v === 0 ? "0" : v.toFixed(digits)
        } s</text>\n`;
    }
    y += 40;
  }
  let legend = "";
  [["nfct Deno", COLORS.deno], ["nfct Bun", COLORS.bun], ["conntrack", COLORS.conntrack], [
    "C limit",
    COLORS.c,
  ]].forEach(([name, color], i) => {
    legend += `<rect x="${10 + i * 110}" y="12" width="12" height="12" fill="${color}"/><text x="${
      26 + i * 110
    }" y="22">${name}</text>\n`;
  });
  legend +=
    `<text x="460" y="22" fill="#444">whole-process seconds, median and min–max (shorter is better)</text>\n`;
  const [m, t] = [data.machine, data.tools];
  const foot = `<text x="10" y="${y - 14}" font-size="10" fill="#444">${
    esc(
      `${m.cores} × ${m.cpu}, ${m.memGiB} GiB, Linux ${m.kernel}; ${
        data.date.slice(0, 10)
      }; ${data.options.runs} runs each`,
    )
  }</text>\n<text x="10" y="${y}" font-size="10" fill="#444">${
    esc(`${t.conntrack}; ${t.deno}; Bun ${t.bun}; C limits: ${t.c}`)
  }</text>\n`;
  y += 8;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" font-family="sans-serif" font-size="11">\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n${legend}${body}${foot}</svg>\n`;
}

const BEGIN =
  "<!-- bench:begin (generated by node bench/report.mjs --record from bench/results/bench.json; do not edit) -->";
const END = "<!-- bench:end -->";

/** The README block: the machine, the chart, the table. */
function readmeBlock(data) {
  return `${BEGIN}\n\n![whole-process time per operation: nfct on Deno and Bun, conntrack, the C limit](bench/results/table.svg)\n\n${
    markdown(data)
  }\n${END}`;
}

/**
 * Writes `dir`/table.md and `dir`/table.svg from `data`, and with `readme` replaces that file's
 * block between the bench markers. Returns the markdown.
 */
export function writeReports(data, { dir, readme }) {
  const md = markdown(data);
  writeFileSync(
    join(dir, "table.md"),
    `# Whole-table benchmark\n\n\`node bench/run.mjs\`; rendered by \`node bench/report.mjs\`.\n\n${md}`,
  );
  writeFileSync(join(dir, "table.svg"), svg(data));
  if (readme) {
    const text = readFileSync(readme, "utf8");
    const a = text.indexOf("<!-- bench:begin"), b = text.indexOf(END);
    if (a < 0 || b < a) {
      throw new Error(`Cannot update ${readme}: no <!-- bench:begin … --> … ${END} block`);
    }
    writeFileSync(readme, text.slice(0, a) + readmeBlock(data) + text.slice(b + END.length));
  }
  return { markdown: md };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const record = args.includes("--record");
  const file = args.find((a) => !a.startsWith("--")) ??
    join(root, "bench", record ? "results" : "out", "bench.json");
  const data = JSON.parse(readFileSync(file, "utf8"));
  writeReports(data, {
    dir: dirname(resolve(file)),
    readme: record ? join(root, "README.md") : undefined,
  });
  console.log(
    `wrote ${dirname(resolve(file))}/table.md, table.svg${
      record ? " and README.md's figures" : ""
    }`,
  );
}
