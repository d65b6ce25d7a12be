/**
 * Running one command line through both programs on the same table and comparing what they
 * did; the allowed (documented) differences; shrinking; event cases (see ../differential.ts).
 * @module
 */
import { eventSockets } from "../netns.ts";
import { Rng } from "../rng.ts";
import { sleep, waitFor } from "../wait.ts";
import { normaliseLines, type Sandbox, summaryLines } from "./sandbox.ts";
import { argv, type Case, generateCase, mutates } from "./cases.ts";

// --- Comparing --------------------------------------------------------------------------------

/** Where the two programs disagreed on one command line (undefined: they agree). */
export interface Divergence {
  aspect: "exit" | "stdout" | "stderr" | "table";
  conntrack: string;
  nfct: string;
}

const diffLines = (a: string[], b: string[]): { a: string; b: string } => {
  const onlyA = a.filter((x) => !b.includes(x)), onlyB = b.filter((x) => !a.includes(x));
  if (onlyA.length === 0 && onlyB.length === 0) {
    return { a: `${a.length} lines`, b: `${b.length} lines (same lines, other counts)` };
  }
  return {
    a: onlyA.slice(0, 4).join(" | ") || "(none)",
    b: onlyB.slice(0, 4).join(" | ") || "(none)",
  };
};
const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Runs one case with both programs (fresh tables for mutating commands) and compares. */
export function runCase(sb: Sandbox, c: Case): Divergence[] {
  const words = argv(c);
  const args = c.file ? words.map((w) => (w === "@FILE" ? sb.file("in.txt", c.file!) : w)) : words;
  const mut = mutates(c);
  if (mut && sb.dirty) sb.build();
  const a = sb.conntrack(args);
  const ta = mut ? sb.snapshot() : [];
  if (mut) sb.build();
  const b = sb.runNfct(args);
  const tb = mut ? sb.snapshot() : [];
  if (mut) sb.dirty = true;
  const out: Divergence[] = [];
  if (a.code !== b.code) {
    out.push({ aspect: "exit", conntrack: String(a.code), nfct: String(b.code) });
  }
  const oa = normaliseLines(a.stdout), ob = normaliseLines(b.stdout);
  // conntrack 1.4.7 -U prints a random subset of the entries it updated when there are several
  // (its count is right): there its lines must be among nfct's, and nfct prints as many lines
  // as it counts.
  const uSubset = c.groups[0][0] === "-U" && a.code === 0 && oa.every((l) => ob.includes(l)) &&
    ob.length === Number(/(\d+) flow entries have been updated/.exec(b.stderr)?.[1]);
  if (!same(oa, ob) && !uSubset) {
    const d = diffLines(oa, ob);
    out.push({ aspect: "stdout", conntrack: d.a, nfct: d.b });
  }
  const ea = summaryLines(a.stderr), eb = summaryLines(b.stderr);
  if (!same(ea, eb)) {
    out.push({
      aspect: "stderr",
      conntrack: ea.join(" | ") || a.stderr.trim(),
      nfct: eb.join(" | ") || b.stderr.trim(),
    });
  }
  if (mut && !same(ta, tb)) {
    const d = diffLines(ta, tb);
    out.push({ aspect: "table", conntrack: d.a, nfct: d.b });
  }
  return out;
}

/**
 * Deliberate differences (README "What conntrack does not have"): a divergence that one of
 * these explains is not a failure. Each names the README line it rests on.
 */
export const ALLOWED: {
  readme: string;
  applies(c: Case, d: Divergence, all: Divergence[]): boolean;
}[] = [
  {
    readme:
      "`-D expect` says `1 expectations have been deleted.` and exits 0; 1.4.7 counts nothing there, " +
      "prints `0 expectations have been shown.` and exits 1 after a successful delete.",
    // Only the exit code and summary may differ; the table left behind must be the same.
    applies: (c, d) =>
      c.groups[0][0] === "-D" && c.groups[0][1] === "expect" &&
      (d.aspect === "exit" || d.aspect === "stderr"),
  },
  {
    readme:
      "`-U` of an entry in a zone: conntrack fails (`No such file or directory`: its update drops the zone); nfct updates it.",
    // conntrack fails on (or silently skips) the entries that have a zone; nfct updates them:
    // the tables left behind differ only in zoned entries, and so do the counts.
    applies: (c, _d, all) => {
      if (c.groups[0][0] !== "-U") return false;
      const zonedOnly = (x: Divergence) =>
        x.aspect === "table" &&
        [...x.conntrack.split(" | "), ...x.nfct.split(" | ")].every((l) =>
          /zone(-orig|-reply)?=/.test(l)
        );
      const failed = (x: Divergence) =>
        x.aspect === "stderr" &&
        /No such file or directory|Operation not supported/.test(x.conntrack);
      return all.some((x) => zonedOnly(x) || failed(x));
    },
  },
  {
    readme:
      "`-E`: `progname=NAME` of a process that has already exited: found more often by conntrack; " +
      "nfct leaves it out more often (the `portid=` is always there).",
    // The same lines once every progname= is taken out of both sides.
    applies: (c, d) =>
      c.groups[0][0] === "-E" && d.aspect === "stdout" &&
      d.conntrack.replace(/ progname=\S+/g, "") === d.nfct.replace(/ progname=\S+/g, ""),
  },
  {
    readme:
      "`-L/-D -p gre --srckey/--dstkey/--reply-key-*`: conntrack ignores the keys; nfct lists only those entries.",
    applies: (c) => c.groups.some((g) => /^--(srckey|dstkey|reply-key)/.test(g[0])),
  },
  {
    readme:
      "`-F -f ipv4`: conntrack empties the whole table (nfgenmsg version 0); nfct deletes only that family's entries.",
    applies: (c, d) =>
      c.groups[0][0] === "-F" && c.groups.some((g) => g[0] === "-f") && d.aspect === "table",
  },
];

/** The divergences of a case that no allow-list entry explains. */
export function unexplained(c: Case, ds: Divergence[]): Divergence[] {
  return ds.filter((d) => !ALLOWED.some((a) => a.applies(c, d, ds)));
}

/**
 * Drops options (whole groups, never the command) one at a time while the case still has an
 * unexplained divergence of the same aspect; returns the smallest case found.
 */
export function shrink(sb: Sandbox, c: Case, aspect: Divergence["aspect"]): Case {
  let cur = c;
  for (let i = cur.groups.length - 1; i >= 1; i--) {
    const next: Case = { ...cur, groups: cur.groups.filter((_, j) => j !== i) };
    if (unexplained(next, runCase(sb, next)).some((d) => d.aspect === aspect)) cur = next;
  }
  // -R: drop lines of the file the same way
  if (cur.file) {
    let lines = cur.file.split("\n").filter((l) => l);
    for (let i = lines.length - 1; i >= 0 && lines.length > 1; i--) {
      const next: Case = { ...cur, file: lines.filter((_, j) => j !== i).join("\n") + "\n" };
      if (unexplained(next, runCase(sb, next)).some((d) => d.aspect === aspect)) {
        lines = lines.filter((_, j) => j !== i);
        cur = next;
      }
    }
  }
  return cur;
}

/** The command lines of one seed. */
export function casesForSeed(seed: number, n: number): Case[] {
  const rng = new Rng(seed * 7919 + 17);
  return Array.from({ length: n }, () => generateCase(rng));
}

// --- Events -----------------------------------------------------------------------------------

/** Random -E options (filters, event mask, output). */
export function eventCase(rng: Rng): Case {
  const g: string[][] = [["-E"]];
  if (rng.chance(0.4)) {
    g.push(["-e", rng.pick(["NEW", "UPDATES", "DESTROY", "NEW,DESTROY", "ALL"])]);
  }
  if (rng.chance(0.4)) g.push(["-p", rng.pick(["tcp", "udp"])]);
  if (rng.chance(0.3)) g.push(["-s", rng.pick(["10.70.0.1", "10.70.0.0/24", "10.70.0.2"])]);
  if (rng.chance(0.2)) g.push(["-m", rng.pick(["5", "0"])]);
  if (rng.chance(0.6)) {
    g.push([
      "-o",
      rng.subset(["extended", "id", "timestamp", "labels"], 0.4).join(",") ||
      rng.pick(["xml", "timestamp", "extended"]),
    ]);
  }
  return { groups: g };
}

/** conntrack lines that create, update and delete a few entries (the events both listen to). */
const EVENT_ACTIONS: readonly string[][] = [
  [
    "-I",
    "-p",
    "tcp",
    "-s",
    "10.70.0.1",
    "-d",
    "10.70.1.1",
    "--sport",
    "1",
    "--dport",
    "80",
    "--state",
    "SYN_SENT",
    "-t",
    "50",
  ],
  [
    "-I",
    "-p",
    "udp",
    "-s",
    "10.70.0.2",
    "-d",
    "10.70.1.1",
    "--sport",
    "2",
    "--dport",
    "53",
    "-t",
    "50",
    "-m",
    "5",
  ],
  [
    "-I",
    "-p",
    "tcp",
    "-s",
    "10.70.0.3",
    "-d",
    "10.70.1.1",
    "--sport",
    "3",
    "--dport",
    "80",
    "--state",
    "ESTABLISHED",
    "-t",
    "50",
    "-u",
    "ASSURED",
  ],
  ["-U", "-p", "udp", "-s", "10.70.0.2", "-m", "7"],
  ["-U", "-p", "tcp", "-s", "10.70.0.1", "-m", "5"],
  ["-D", "-p", "tcp", "-s", "10.70.0.3"],
  ["-D", "-s", "10.70.0.0/24"],
];

/** Both programs listen with the same options while EVENT_ACTIONS run; compares what they print. */
export async function runEventCase(sb: Sandbox, c: Case): Promise<Divergence[]> {
  const args = argv(c);
  const listen = (cmd: string[]) => {
    const p = sb.spawn(cmd);
    const r = { stdout: "", stderr: "", code: -1, done: undefined as unknown as Promise<void> };
    p.stdout!.on("data", (d) => (r.stdout += d));
    p.stderr!.on("data", (d) => (r.stderr += d));
    r.done = new Promise<void>((res) =>
      p.once("exit", (code, sig) => ((r.code = code ?? (sig ? 128 : -1)), res()))
    );
    return { p, r };
  };
  const a = listen(["conntrack", ...args]);
  const b = listen([...sb.nfct, ...args]);
  // Both have subscribed (nfct's runtime takes seconds to start on a loaded machine).
  const listening = () => [a, b].every((x) => eventSockets(x.p.pid!).length > 0);
  await waitFor(listening, "conntrack -E and nfct -E to subscribe", 60000);
  for (const act of EVENT_ACTIONS) sb.conntrack(act);
  // Both have read every event the actions queued (then printing them takes no time).
  const drained = () => [a, b].every((x) => eventSockets(x.p.pid!).every((s) => s.queued === 0));
  await waitFor(drained, "conntrack -E and nfct -E to read their events", 60000);
  await sleep(1000);
  a.p.kill("SIGINT");
  b.p.kill("SIGINT");
  await Promise.all([a.r.done, b.r.done]);
  const out: Divergence[] = [];
  if (a.r.code !== b.r.code) {
    out.push({ aspect: "exit", conntrack: String(a.r.code), nfct: String(b.r.code) });
  }
  const oa = normaliseLines(a.r.stdout), ob = normaliseLines(b.r.stdout);
  if (!same(oa, ob)) {
    const d = diffLines(oa, ob);
    out.push({ aspect: "stdout", conntrack: d.a, nfct: d.b });
  }
  const ea = summaryLines(a.r.stderr), eb = summaryLines(b.r.stderr);
  if (!same(ea, eb)) {
    out.push({ aspect: "stderr", conntrack: ea.join(" | "), nfct: eb.join(" | ") });
  }
  return out;
}
