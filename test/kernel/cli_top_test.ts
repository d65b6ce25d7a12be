/**
 * `nfct top` (cli/top.ts, run as `cli.ts top` by a child of the current runtime) on real
 * traffic over `lo` in a throwaway network namespace whose loopback traffic is tracked:
 *
 * 1. On a real pseudo-terminal (a private tmux server, started here so it and its panes are in
 *    this namespace): the header, the busiest flow on top, the sort keys, a frame that fits after
 *    each resize, `q` ending it with the terminal restored (normal screen, cursor shown, cooked
 *    mode) and accounting switched back off.
 * 2. Without a terminal: `--once` prints one ranked snapshot; `-o json` prints JSON lines until
 *    SIGTERM, which still switches accounting back off; usage errors exit 2.
 *
 * Traffic: python3 sends a heavy UDP flow (big datagrams to 127.0.0.1:5001) and a chatty one
 * (many tiny datagrams to [::1]:5002): the first is busiest by bytes, the second by packets.
 * @module
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { readlinkSync } from "node:fs";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { after, before, test } from "node:test";
import { assertThrowawayNetns, sh, trackLoopback } from "../_helpers/netns.ts";
import { sleep } from "../_helpers/wait.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
const TOP = isBun
  ? [process.execPath, "cli.ts", "top"]
  : [process.execPath, "run", "-A", "cli.ts", "top"];
const NETNS = readlinkSync("/proc/self/ns/net");
const ACCT = "net.netfilter.nf_conntrack_acct";
const acct = () => sh(`sysctl -n ${ACCT}`).trim();

/** Runs top to its end without a terminal. */
const runTop = (...args: string[]) =>
  spawnSync(TOP[0], [...TOP.slice(1), ...args], { cwd: ROOT, encoding: "utf8" });
/** Accounting off, as each test that checks it is switched on and back off starts. */
const acctOff = () => sh(`sysctl -qw ${ACCT}=0`);
// Other test files share this namespace: leave it as it was found.
let acctBefore = "0";
before(() => {
  acctBefore = acct();
  trackLoopback("nfcttop");
});

const TRAFFIC = `
import socket, sys, time
heavy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); heavy.bind(("127.0.0.1", 5001))
chatty = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); chatty.bind(("::1", 5002))
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
print("sending", flush=True)
while True:
    for _ in range(10): s4.sendto(b"x" * 1400, ("127.0.0.1", 5001))
    for _ in range(40): s6.sendto(b"y", ("::1", 5002))
    for r in (heavy, chatty):
        r.setblocking(False)
        try:
            while True: r.recv(2000)
        except BlockingIOError: pass
    time.sleep(0.01)
`;
let traffic: ChildProcess | undefined;
/** Starts the traffic (new flows: they get counters when accounting is on by now). */
async function startTraffic(): Promise<void> {
  traffic = spawn("python3", ["-c", TRAFFIC], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    traffic!.stdout!.once("data", () => resolve());
    traffic!.once("exit", (c) => reject(new Error(`traffic generator exited ${c}`)));
  });
}
function stopTraffic(): void {
  traffic?.kill("SIGKILL");
  traffic = undefined;
  sh("conntrack -F 2>/dev/null || true");
}
after(() => {
  stopTraffic();
  sh(`nft delete table inet nfcttop; sysctl -qw ${ACCT}=${acctBefore}`);
});

const HEAVY = /127\.0\.0\.1:\d+ -> 127\.0\.0\.1:5001/;
const CHATTY = /\[::1\]:\d+ -> \[::1\]:5002/;

/** Polls `get` until `ok` holds of its value; fails with the last value after `ms`. */
async function until<V>(what: string, get: () => V, ok: (v: V) => boolean, ms = 20000): Promise<V> {
  const end = Date.now() + ms;
  let v = get();
  while (!ok(v)) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}; last:\n${String(v)}`);
    await sleep(100);
    v = get();
  }
  return v;
}

/** A private tmux server (its socket here: it starts in this namespace, as do its panes). */
function tmuxServer() {
  const sock = `/tmp/nfct-top-tmux-${process.pid}`;
  const tmux = (...a: string[]) => execFileSync("tmux", ["-S", sock, ...a], { encoding: "utf8" });
  return {
    tmux,
    pane: () => tmux("capture-pane", "-p", "-t", "top"),
    /** Alternate screen on (1/0), cursor shown (1/0), pane size. */
    info: () =>
      tmux(
        "display-message",
        "-p",
        "-t",
        "top",
        "#{alternate_on} #{cursor_flag} #{pane_width}x#{pane_height}",
      )
        .trim(),
    kill: () => spawnSync("tmux", ["-S", sock, "kill-server"]),
  };
}

/**
 * The pane's command: refuses to start top anywhere but this namespace; after top, its exit
 * code and the terminal's modes.
 */
const paneCommand = (args: string) =>
  `[ "$(readlink /proc/self/ns/net)" = '${NETNS}' ] || { echo WRONG NETNS; exit 99; }; ` +
  `cd '${ROOT}'; echo BEFORE TOP; ${TOP.join(" ")} ${args}; echo "EXIT $?"; ` +
  `echo "TTY $(stty -a | tr ' ;' '\\n\\n' | grep -x -e -icanon -e icanon -e -echo -e echo -e -isig -e isig | tr '\\n' ' ')"; ` +
  "sleep 600";

/** The modes the pane's `TTY` line lists (`-icanon`: raw mode left on). */
const ttyModes = (pane: string) => /^TTY (.*)$/m.exec(pane)![1].trim().split(" ").sort();

test(
  "on a terminal: busiest flow on top, sort keys, resize, q restores the terminal and accounting",
  T,
  async () => {
    const { tmux, pane, info, kill } = tmuxServer();
    const cmd = paneCommand("-i 0.5");
    acctOff();
    try {
      tmux("new-session", "-d", "-s", "top", "-x", "120", "-y", "40", cmd);
      await until("the first frame", pane, (p) => /^nfct top - /.test(p));
      assert.equal(acct(), "1", "accounting switched on for the run");
      assert.match(info(), /^1 0 120x40$/, "alternate screen, cursor hidden");
      await startTraffic();

      let p = await until("both flows, heavy first", pane, (p) => {
        const rows = p.split("\n").slice(6);
        return HEAVY.test(rows[0] ?? "") && rows.some((r) => CHATTY.test(r));
      });
      let lines = p.split("\n");
      assert.match(
        lines[0],
        /^nfct top - \d\d:\d\d:\d\d - every 0\.5 s \(last 0\.\d\d s\) - sort: bytes\/s - \d+ flows, \d+ with counters$/,
      );
      assert.match(lines[1], /^total [\d.]+ [kM]?B\/s [\d.]+k? packets\/s; .*udp \d+ flows/);
      assert.match(lines[2], /^states: .*udp /);
      assert.match(
        lines[3],
        /^units: SI \(1 kB = 1000 B\); keys: b bytes\/s {2}p packets\/s {2}t bytes {2}P packets {2}q quit/,
      );
      assert.match(lines[4], /nf_conntrack_acct switched on for this run/);
      assert.match(lines[5], /\*bytes\/s/);
      assert.match(
        lines[6],
        /^ +[\d.]+ [kM]B\/s +[\d.]+k? +[\d.]+ [kM]?B +[\d.]+k? {2}udp {4}127\.0\.0\.1:\d+ -> 127\.0\.0\.1:5001 +UNREPLIED$/,
      );

      tmux("send-keys", "-t", "top", "p");
      p = await until(
        "packets/s order",
        pane,
        (p) => /sort: packets\/s/.test(p) && CHATTY.test(p.split("\n")[6] ?? ""),
      );
      assert.match(p.split("\n")[5], /\*pkts\/s/);
      tmux("send-keys", "-t", "top", "t");
      await until(
        "total bytes order",
        pane,
        (p) => /sort: bytes -/.test(p) && HEAVY.test(p.split("\n")[6] ?? ""),
      );
      tmux("send-keys", "-t", "top", "b");
      await until(
        "bytes/s order again",
        pane,
        (p) => /sort: bytes\/s/.test(p) && HEAVY.test(p.split("\n")[6] ?? ""),
      );

      for (const [w, h] of [[60, 12], [100, 30], [40, 6]]) {
        tmux("resize-window", "-t", "top", "-x", String(w), "-y", String(h));
        await until(`a ${w}x${h} pane`, info, (i) => i.endsWith(` ${w}x${h}`));
        // Cut at the width (capture-pane drops a trailing space), or whole when it fits.
        const fits = (l0: string) => l0.length >= w - 1 || /with counters$/.test(l0);
        p = await until(
          `a frame that fits ${w}x${h}`,
          pane,
          (p) => p.startsWith("nfct top - ") && fits(p.split("\n")[0]),
        );
        lines = p.replace(/\n$/, "").split("\n");
        assert.equal(lines.length, h, p);
        assert.ok(
          lines.every((l) => l.length <= w),
          p,
        );
        if (h > 6) {
          assert.match(lines[5], /^ +\*bytes\/s/);
          assert.match(lines[6], /^ +[\d.]+ [kM]B\/s/);
        }
        assert.equal(
          lines.filter((l) => l.startsWith("nfct top - ")).length,
          1,
          "one frame, not two",
        );
      }

      // Back to a size where the normal screen shows what was there before and after top.
      tmux("resize-window", "-t", "top", "-x", "160", "-y", "40");
      await until("a 160x40 pane", info, (i) => i.endsWith(" 160x40"));
      tmux("send-keys", "-t", "top", "q");
      p = await until("top's exit", pane, (p) => /^EXIT /m.test(p) && /^TTY /m.test(p));
      assert.match(p, /^EXIT 0$/m);
      assert.deepEqual(ttyModes(p), ["echo", "icanon", "isig"], "raw mode switched off");
      assert.match(p, /^BEFORE TOP$/m, "back on the normal screen");
      assert.match(
        p,
        /nfct top: accounting was off: net\.netfilter\.nf_conntrack_acct set to 1 for this run/,
      );
      assert.match(p, /nfct top: net\.netfilter\.nf_conntrack_acct set back to 0/);
      assert.match(info(), /^0 1 /, "normal screen, cursor shown");
      assert.equal(acct(), "0", "accounting switched back off");
    } finally {
      stopTraffic();
      kill();
      acctOff();
    }
  },
);

test("on a terminal: a resize redraws at once (SIGWINCH), not at the next refresh", T, async () => {
  const { tmux, pane, info, kill } = tmuxServer();
  acctOff();
  try {
    tmux("new-session", "-d", "-s", "top", "-x", "50", "-y", "20", paneCommand("-i 60"));
    let p = await until("the first frame", pane, (p) => /^nfct top - /.test(p));
    assert.equal(p.split("\n")[0].length, 50);
    // Widened: tmux leaves the cut lines as they are; only a redraw shows the rest.
    tmux("resize-window", "-t", "top", "-x", "130", "-y", "20");
    p = await until("a redraw at 130 columns", pane, (p) => /with counters$/m.test(p), 5000);
    assert.match(
      p.split("\n")[0],
      /^nfct top - .* - every 60 s \(first sample: rates next refresh\) - /,
    );
    tmux("send-keys", "-t", "top", "C-c");
    p = await until("top's exit", pane, (p) => /^TTY /m.test(p));
    assert.match(p, /^EXIT 0$/m);
    assert.deepEqual(ttyModes(p), ["echo", "icanon", "isig"]);
    assert.match(info(), /^0 1 /);
    assert.equal(acct(), "0");
  } finally {
    kill();
    acctOff();
  }
});

test(
  "--once without a terminal: one ranked snapshot after one interval, accounting left as it was",
  T,
  async () => {
    sh(`sysctl -qw ${ACCT}=1`);
    try {
      await startTraffic();
      await sleep(300);
      const t0 = Date.now();
      const r = runTop("--once", "-i", "0.5", "-n", "5");
      assert.equal(r.status, 0, r.stderr);
      assert.ok(Date.now() - t0 >= 500, "after one interval");
      assert.equal(r.stderr, "", "no accounting message: it was on");
      const lines = r.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^nfct top - .* - every 0\.5 s \(last 0\.\d+ s\) - sort: bytes\/s - /);
      assert.match(lines[3], /^units: SI \(1 kB = 1000 B\)$/);
      assert.match(lines[4], /\*bytes\/s/);
      assert.match(lines[5], HEAVY);
      assert.ok(lines.slice(5).some((l) => CHATTY.test(l)), r.stdout);
      assert.ok(lines.length <= 5 + 5);
      const p = runTop("--once", "-i", "0.3", "--sort", "packets/s", "--iec");
      assert.equal(p.status, 0, p.stderr);
      assert.match(p.stdout.split("\n")[5], CHATTY);
      assert.match(p.stdout, /^units: IEC \(1 KiB = 1024 B\)$/m);
      // A filter as conntrack -L takes it: only the IPv6 flow.
      const f = runTop("--once", "-i", "0.3", "-p", "udp", "-f", "ipv6");
      assert.equal(f.status, 0, f.stderr);
      const rows = f.stdout.split("\n").filter((l) => / -> /.test(l));
      assert.ok(rows.length >= 1 && rows.every((l) => CHATTY.test(l)), f.stdout);
      assert.equal(acct(), "1");
    } finally {
      stopTraffic();
      acctOff();
    }
  },
);

test(
  "-o json without a terminal: JSON lines until SIGTERM, which switches accounting back off",
  T,
  async () => {
    acctOff();
    const child = spawn(TOP[0], [...TOP.slice(1), "-o", "json", "-i", "0.4", "-n", "3"], {
      cwd: ROOT,
    });
    let out = "", err = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (err += b));
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    try {
      await until("the accounting message", () => err, (e) => /accounting was off/.test(e));
      assert.equal(acct(), "1");
      await startTraffic();
      const lines = await until("two JSON lines with both flows", () => out, (o) => {
        const ls = o.split("\n").filter(Boolean).map((l) => JSON.parse(l));
        return ls.filter((l) => l.top.length >= 2).length >= 2;
      });
      const last = lines.trimEnd().split("\n").map((l) => JSON.parse(l)).at(-1);
      assert.equal(last.sort, "bytes/s");
      assert.ok(last.top.length <= 3);
      assert.deepEqual(Object.keys(last.top[0]).slice(0, 6), [
        "family",
        "proto",
        "src",
        "dst",
        "sport",
        "dport",
      ]);
      assert.equal(last.top[0].dport, 5001);
      assert.ok(last.top[0].bytesPerSecond > last.top[1].bytesPerSecond);
      assert.ok(last.protocols.udp.flows >= 2);
      // process.kill, not child.kill: Deno's node:child_process reports any child it signalled as
      // killed by that signal, whatever its exit code.
      process.kill(child.pid!, "SIGTERM");
      assert.equal(await exited, 0, err);
      assert.match(err, /nf_conntrack_acct set back to 0\n$/);
      assert.equal(acct(), "0");
    } finally {
      child.kill("SIGKILL");
      stopTraffic();
      acctOff();
    }
  },
);

test(
  "on a terminal that hangs up (SIGHUP): top ends and switches accounting back off",
  T,
  async () => {
    const { tmux, pane, kill } = tmuxServer();
    const mark = `-i 0.${700 + (process.pid % 200)}`; // tells this run's process from others
    acctOff();
    try {
      tmux("new-session", "-d", "-s", "top", "-x", "80", "-y", "24", paneCommand(mark));
      await until("the first frame", pane, (p) => /^nfct top - /.test(p));
      assert.equal(acct(), "1");
      const running = () => spawnSync("pgrep", ["-f", `cli.ts top ${mark}`]).status === 0;
      assert.ok(running());
      kill(); // the pane's terminal goes away: SIGHUP
      await until("top's exit", running, (r) => !r);
      assert.equal(acct(), "0");
    } finally {
      kill();
      acctOff();
    }
  },
);

test("usage: --help exits 0 untouched, an unknown option exits 2 with a hint", T, () => {
  acctOff();
  const h = runTop("--help");
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^usage: nfct top \[options\]/);
  const u = runTop("--bogus");
  assert.equal(u.status, 2);
  assert.equal(
    u.stderr,
    "nfct top: unknown option --bogus\nTry `nfct top --help' for more information.\n",
  );
  const f = runTop("-p", "bogus");
  assert.equal(f.status, 2);
  assert.match(f.stderr, /^nfct top: Invalid protocol "bogus"/);
  assert.equal(acct(), "0", "accounting untouched");
});
