/**
 * `nfct` (cli.ts) on a real pseudo-terminal and on failing outputs, in a throwaway network
 * namespace.
 *
 * 1. Progress: `script` (util-linux) runs nfct on a new pty and its stdout is the raw pty
 *    stream. With stdout on the terminal (`nfct -L`, `nfct -D`) the stream holds flow lines and
 *    the summary and no progress text at all; with stdout elsewhere (`nfct -L > file`, or a
 *    pipe) the terminal shows `nfct: N of T flow entries listed (P%), R/s`, erased at the end,
 *    and the file holds flow lines only. So that progress is due (it starts after 500 ms) on
 *    any machine, the reader is stalled partway: `script` is stopped (SIGSTOP) while stdout is
 *    the pty, the pipe's reader sleeps otherwise; nfct blocks on its full output meanwhile.
 *    Without a terminal there is no progress.
 * 2. Write errors: stdout or stderr on /dev/full (ENOSPC) for every kind of output (flow lines,
 *    the XML footer, counts, events, usage): one line `write error: ENOSPC (…)`, exit 1, no
 *    stack trace; conntrack 1.4.7 beside it (it ignores write errors and exits 0). A reader
 *    that leaves (EPIPE) ends nfct silently with 0.
 *
 * The CLI runs as a child of the current runtime: `deno run -A cli.ts` or `bun cli.ts`.
 * @module
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { after, test } from "node:test";
import { Conntrack, type Flow } from "../../mod.ts";
import { assertThrowawayNetns } from "../_helpers/netns.ts";
import { NFCT as NFCT_ARGV, ROOT } from "../_helpers/run.ts";
import { sleep } from "../_helpers/wait.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };
const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const NFCT = NFCT_ARGV.map(q).join(" ");
const TMP = mkdtempSync("/tmp/nfct-tty-");
after(() => rmSync(TMP, { recursive: true, force: true }));
const ENV = { ...process.env, NO_COLOR: "1", SHELL: "/bin/bash" };

const PREFIX = /^nfct v[0-9.]+ \(conntrack-tools compatible\): /;
const WRITE_ERROR = "write error: ENOSPC (No space left on device)";
const FLOW_LINE =
  /^udp +17 \d+ src=10\.\d+\.\d+\.\d+ dst=10\.99\.0\.1 sport=1024 dport=53 \[UNREPLIED\] src=/;
const PROGRESS = (verb: string, total: number) =>
  new RegExp(`nfct: \\d+ of ${total} flow entries ${verb} \\(\\d+%\\), [0-9.]+[kM]?/s`);

const N = 30000;
const flow = (i: number): Flow => ({
  family: "ipv4",
  proto: "udp",
  orig: {
    src: `10.${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
    dst: "10.99.0.1",
    sport: 1024,
    dport: 53,
  },
  timeout: 600,
} as Flow);
/** N unreplied UDP entries, nothing else. */
function fill(n = N): void {
  // The lines below are matched without counters and timestamps, which other test files of
  // this namespace may have switched on.
  spawnSync("sysctl", [
    "-qw",
    "net.netfilter.nf_conntrack_acct=0",
    "net.netfilter.nf_conntrack_timestamp=0",
  ]);
  using ct = Conntrack.open();
  ct.flushAll();
  assert.equal(ct.createMany(Array.from({ length: n }, (_, i) => flow(i))).created, n);
}
function count(): number {
  using ct = Conntrack.open();
  return ct.count();
}

/**
 * Runs a bash command line on a new pseudo-terminal (`script -qfec`); returns its exit code
 * and everything written to the terminal. `stall`: once output appears, stop `script` (the
 * terminal's reader) for that many ms.
 */
async function onPty(cmd: string, stall = 0): Promise<{ code: number; tty: string }> {
  const child = spawn("script", ["-qfec", `set -o pipefail; ${cmd}`, "/dev/null"], {
    cwd: ROOT,
    env: ENV,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const chunks: Buffer[] = [];
  let stalled = false;
  child.stdout!.on("data", (b: Buffer) => {
    chunks.push(b);
    if (stall && !stalled) {
      stalled = true;
      process.kill(child.pid!, "SIGSTOP");
      setTimeout(() => process.kill(child.pid!, "SIGCONT"), stall);
    }
  });
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c) => resolve(c ?? -1));
  });
  if (stall) assert.ok(stalled, "the terminal showed nothing");
  return { code, tty: Buffer.concat(chunks).toString("utf8") };
}

/** The lines a terminal shows for a stream: `\r` returns to column 0, `ESC[K` erases to the end. */
function screen(stream: string): string[] {
  const lines: string[] = [];
  for (const raw of stream.split("\n")) {
    let line = "";
    let col = 0;
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === "\r") col = 0;
      else if (raw.startsWith("\x1b[K", i)) {
        line = line.slice(0, col);
        i += 2;
      } else {
        assert.notEqual(
          raw[i],
          "\x1b",
          `an escape sequence other than ESC[K in ${JSON.stringify(raw.slice(i, i + 8))}`,
        );
        line = line.slice(0, col) + raw[i] + line.slice(col + 1);
        col++;
      }
    }
    lines.push(line);
  }
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** stdout was the terminal: the stream is flow lines and the summary, no progress, no escapes. */
function assertListingOnly(tty: string, summary: string): void {
  assert.ok(!tty.includes("\x1b"), "no terminal control on the terminal");
  assert.ok(!/flow entries (listed|deleted)/.test(tty), "no progress text");
  const lines = tty.split("\r\n");
  assert.equal(lines.pop(), "");
  assert.match(lines.pop()!, new RegExp(PREFIX.source + summary));
  assert.equal(lines.length, N);
  for (const l of lines) assert.match(l, FLOW_LINE);
}

/** stdout went elsewhere: the terminal showed progress, and in the end only the summary. */
function assertProgressThenSummary(tty: string, verb: string, summary: string): void {
  assert.match(tty, PROGRESS(verb, N));
  assert.ok(tty.endsWith("\r\n"), "the summary ends the stream");
  const shown = screen(tty);
  assert.equal(shown.length, 1, `one line left on the terminal: ${JSON.stringify(shown)}`);
  assert.match(shown[0], new RegExp(PREFIX.source + summary + "$"));
}

function assertFlowFile(path: string): void {
  const lines = readFileSync(path, "utf8").split("\n");
  assert.equal(lines.pop(), "");
  assert.equal(lines.length, N);
  for (const l of lines) assert.match(l, FLOW_LINE);
}

/** Holds the pipe's first byte back, then sleeps: the writer blocks on a full pipe meanwhile. */
const SLOW_READER = "{ dd bs=1 count=1 2>/dev/null; sleep 0.8; cat; }";

test(
  "nfct -L to the terminal: flow lines and the summary, no progress (stderr is the same terminal)",
  T,
  async () => {
    fill();
    const r = await onPty(`${NFCT} -L`, 800);
    assert.equal(r.code, 0);
    assertListingOnly(r.tty, `${N} flow entries have been shown\\.`);
  },
);

test(
  "nfct -L > file on a terminal: progress with total, percentage and rate, erased; the file holds flow lines only",
  T,
  async () => {
    fill();
    const file = `${TMP}/list.txt`;
    const slow = await onPty(`${NFCT} -L | ${SLOW_READER} > ${q(file)}`);
    assert.equal(slow.code, 0);
    assertProgressThenSummary(slow.tty, "listed", `${N} flow entries have been shown\\.`);
    assertFlowFile(file);
    // Straight into a file: progress only if the listing took over 500 ms, always erased.
    const r = await onPty(`${NFCT} -L > ${q(file)}`);
    assert.equal(r.code, 0);
    assert.deepEqual(screen(r.tty).map((l) => l.replace(PREFIX, "")), [
      `${N} flow entries have been shown.`,
    ]);
    assertFlowFile(file);
  },
);

test(
  "nfct -D to the terminal: no progress; nfct -D > file: progress of the whole table, erased",
  T,
  async () => {
    fill();
    const r = await onPty(`${NFCT} -D`, 800);
    assert.equal(r.code, 0);
    assertListingOnly(r.tty, `${N} flow entries have been deleted\\.`);
    assert.equal(count(), 0);
    fill();
    const file = `${TMP}/deleted.txt`;
    const slow = await onPty(`${NFCT} -D | ${SLOW_READER} > ${q(file)}`);
    assert.equal(slow.code, 0);
    assertProgressThenSummary(slow.tty, "deleted", `${N} flow entries have been deleted\\.`);
    assertFlowFile(file);
    assert.equal(count(), 0);
  },
);

test("no terminal, no progress: stderr is the summary line alone", T, () => {
  fill();
  const r = spawnSync("bash", ["-c", `${NFCT} -L | ${SLOW_READER} > /dev/null`], {
    cwd: ROOT,
    env: ENV,
    encoding: "utf8",
  });
  assert.equal(r.status, 0);
  assert.match(r.stderr, new RegExp(PREFIX.source + `${N} flow entries have been shown\\.\\n$`));
  assert.equal(r.stderr.split("\n").length, 2);
});

test(
  "nfct -R on a terminal: progress (stdout is unused) never left behind, nor in front of an error",
  T,
  async () => {
    using ct = Conntrack.open();
    ct.flushAll();
    const line = (i: number) =>
      `-I -p udp -s ${flow(i).orig.src} -d 10.99.0.1 --sport 1024 --dport 53 -t 600`;
    const file = `${TMP}/load.txt`;
    const n = 5000;
    writeFileSync(file, Array.from({ length: n }, (_, i) => line(i) + "\n").join(""));
    const r = await onPty(`${NFCT} -R ${q(file)}`);
    assert.equal(r.code, 0);
    assert.deepEqual(screen(r.tty), [], "nothing left on the terminal");
    assert.ok(
      !r.tty.includes("flow entries") || PROGRESS("loaded", n).test(r.tty),
      JSON.stringify(r.tty),
    );
    assert.equal(ct.count(), n);
    // The same lines again: the first create fails (EEXIST); its message alone is left.
    const again = await onPty(`${NFCT} -R ${q(file)}`);
    assert.equal(again.code, 1);
    assert.deepEqual(screen(again.tty).map((l) => l.replace(PREFIX, "")), [
      "Operation failed: Such conntrack exists, try -U to update",
    ]);
  },
);

// ---------------------------------------------------------------------------------------------
// Write errors

function bash(cmd: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync("bash", ["-c", cmd], {
    cwd: ROOT,
    env: ENV,
    encoding: "utf8",
    maxBuffer: 256 << 20,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
/** Exit 1 with the one-line write error on stderr: no stack trace, nothing else. */
function assertWriteError(r: { code: number; stderr: string }, what: string): void {
  assert.equal(r.code, 1, `${what}: exit code (stderr: ${r.stderr})`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: a stack trace`);
  const lines = r.stderr.split("\n");
  assert.equal(lines.pop(), "", what);
  assert.equal(lines.length, 1, `${what}: ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0], PREFIX, what);
  assert.equal(lines[0].replace(PREFIX, ""), WRITE_ERROR, what);
}

test(
  "stdout on /dev/full: one line naming the errno, exit 1, no stack trace; conntrack ignores it",
  T,
  () => {
    fill(3000);
    for (
      const args of [
        "-L", // 3000 lines: a flush while listing
        "-L -p udp -s 10.20.0.1", // one line, written at the end
        "-L -p udp -s 10.20.0.1 -o xml", // header, line and footer in the last write
        "-L -o save",
        "-L -o json",
        "-G -p udp -s 10.20.0.1 -d 10.99.0.1 --sport 1024 --dport 53",
        "-C",
        "-S",
        "-V",
        "-h",
      ]
    ) {
      assertWriteError(bash(`${NFCT} ${args} > /dev/full`), `nfct ${args}`);
    }
    // -D: the deletes happened (256 lines fit one buffer, written at the end), their lines are lost.
    const d = bash(`${NFCT} -D -p udp -s 10.20.0.0/24 > /dev/full`);
    assertWriteError(d, "nfct -D");
    // conntrack 1.4.7: every line lost, the summary printed, exit 0.
    const c = bash("conntrack -L > /dev/full");
    assert.equal(c.code, 0);
    assert.match(
      c.stderr,
      /^conntrack v1\.4\.7 \(conntrack-tools\): \d+ flow entries have been shown\.\n$/,
    );
  },
);

test(
  "stderr on /dev/full: exit 1 (nothing can be said); stdout complete; both on /dev/full: exit 1",
  T,
  () => {
    fill(3000);
    const l = bash(`${NFCT} -L 2>/dev/full`);
    assert.equal(l.code, 1);
    assert.equal(l.stdout.split("\n").length, 3001);
    const bad = bash(`${NFCT} -L --no-such-option 2>/dev/full`);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "");
    const d = bash(`${NFCT} -D -p udp -s 10.20.0.0/24 2>/dev/full`);
    assert.equal(d.code, 1);
    assert.equal(d.stdout.split("\n").length, 257);
    assert.equal(bash(`${NFCT} -L 2>/dev/full >/dev/full`).code, 1);
    assert.equal(bash(`${NFCT} -C 2>/dev/full >/dev/full`).code, 1);
    // conntrack 1.4.7: exit 0.
    assert.equal(bash("conntrack -L 2>/dev/full >/dev/null").code, 0);
  },
);

test("the reader leaves (EPIPE): silent, exit 0", T, () => {
  fill(3000);
  const r = bash(`set -o pipefail; ${NFCT} -L | head -1`);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, FLOW_LINE);
  assert.equal(r.stdout.split("\n").length, 2);
});

test("-E with stdout on /dev/full: the first event ends it with the write error", T, async () => {
  for (const args of [["-E"], ["-E", "-o", "xml"], ["-E", "-o", "save"]]) {
    const child = spawn("bash", ["-c", `exec ${NFCT} ${args.join(" ")} > /dev/full`], {
      cwd: ROOT,
      env: ENV,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => stderr += b.toString());
    let code: number | undefined;
    const closed = new Promise<void>((r) => child.on("close", (c) => (code = c ?? -1, r())));
    using ct = Conntrack.open();
    for (let i = 0; code === undefined && i < 200; i++) {
      ct.createMany([flow(60000 + i)]);
      await Promise.race([closed, sleep(50)]);
    }
    if (code === undefined) child.kill("SIGKILL");
    await closed;
    assertWriteError({ code: code!, stderr }, `nfct ${args.join(" ")}`);
  }
});
