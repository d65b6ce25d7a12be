/**
 * `nfct` (cli.ts) against conntrack(8) 1.4.7 for what test/kernel/cli_test.ts does not cover:
 * the `expect` table, `-E` events, `-L dying`/`-L unconfirmed`, `-L -z`; and a smoke test of
 * examples/watch.ts. In a throwaway network namespace.
 *
 * 1. A script of command lines in the style of conntrack-tools' testsuite ("command ; OK/BAD"),
 *    run by conntrack and by nfct on the same table (FTP masters and expectations created
 *    through the library): same exit code, same summary, same sorted stdout (timeouts masked).
 * 2. `-L expect` on a table with IPv4/IPv6, TCP/UDP, PERMANENT/INACTIVE expectations.
 * 3. nfct's deliberate differences: `-I expect` (1.4.7 puts a byte of --tuple-port-* into the
 *    expected tuple's protocol) and `-D expect` (1.4.7 exits 1 after a successful delete).
 * 4. `conntrack -E …` and `nfct -E …` started side by side, then flows and expectations are
 *    created, updated and deleted (by the CLI, the library and real packets); both are stopped
 *    with SIGTERM/SIGINT and their lines compared sorted. Normalised: the `-o timestamp` stamp
 *    and XML `<when>` (each reads its own clock), and ` progname=…` (both look the program up
 *    in /proc when they print: whether the process still exists by then is a race).
 * 5. `-L -z` against `conntrack -L -z`: each one's output equals the other's `-L` just before,
 *    and leaves zero counters behind.
 * @module
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { test } from "node:test";
import { Conntrack, type Expectation } from "../../mod.ts";
import { createFtpMaster, ftpExpectation, ftpMaster, ONES4 } from "../_helpers/ftp.ts";
import { assertThrowawayNetns, sh, trackLoopback } from "../_helpers/netns.ts";
import { exec, messages, NFCT, type Ran, ROOT, RUN_TS, words } from "../_helpers/run.ts";
import { udpPingPong } from "../_helpers/traffic.ts";
import { waitFor } from "../_helpers/wait.ts";

assertThrowawayNetns();

const T = { timeout: 60000 };
const nfct = (args: string[]) => exec([...NFCT, ...args]);
const conntrack = (args: string[]) => exec(["conntrack", ...args]);

/** Timeouts (first field of an expectation, third of a flow) and XML timeouts masked. */
function mask(line: string): string {
  return line
    .replace(/^(\d+) proto=/, "T proto=")
    .replace(/^((?:ipv[46] +\d+ )?[a-z]+ +\d+ )\d+ /, "$1T ")
    .replace(/<timeout>\d+<\/timeout>/, "<timeout>T</timeout>")
    .replace(/ use=\d+/, " use=U")
    .replace(/<id>\d+<\/id>/, "<id>I</id>");
}
const sorted = (s: string) => s.split("\n").filter((l) => l !== "").map(mask).sort();

const master = ftpMaster;

/** FTP masters 1..6 (5 is IPv6) and their expectations; flags, UDP and a /24 mask included. */
function fillExpectations(ct: Conntrack): void {
  ct.flushExpect();
  ct.flushAll();
  for (let i = 1; i <= 7; i++) createFtpMaster(ct, master(i, i === 5));
  const exp = (i: number, extra: Partial<Expectation> = {}) =>
    ftpExpectation(master(i, i === 5), 50000 + i, extra);
  ct.createExpect(exp(1));
  ct.createExpect(exp(2, { flags: ["PERMANENT"] }));
  ct.createExpect(exp(3, { flags: ["PERMANENT", "INACTIVE"] }));
  ct.createExpect(exp(4, { mask: { src: "255.255.255.0", dst: ONES4, sport: 0, dport: 0xffff } }));
  ct.createExpect(exp(5));
  ct.createExpect(exp(6, { proto: "udp" }));
}

// ---------------------------------------------------------------------------------------------
// 1. The script

// Each line: arguments, and the exit code both must return (0 OK, 1 failed, 2 BAD).
const E1 = "-s 10.40.1.1 -d 10.40.0.1 -p tcp --sport 0 --dport 50001";
const NEW7 =
  "-s 10.40.0.7 -d 10.40.1.1 -p tcp --sport 40007 --dport 21 --tuple-src 10.40.1.1 --tuple-dst 10.40.0.7 --tuple-port-src 0 --tuple-port-dst 50007";
const SCRIPT: [string, number][] = [
  ["-L expect", 0],
  ["-L expect -o xml", 0],
  ["-L expect -f ipv6", 0], // conntrack lists AF_INET unless told otherwise
  ["-L expect -f ipv6 -o xml", 0],
  ["-L expect -o extended,id", 0], // accepted, no effect on expectations
  ["-L exp", 0],
  ["-C expect", 0],
  ["-S expect", 0],
  ["-G expect " + E1 + " --reply-port-src 1 --reply-port-dst 2", 0],
  ["-G expect " + E1 + " --reply-port-src 1 --reply-port-dst 2 -o xml", 2], // no -o with -G expect
  [
    "-G expect -s 10.40.1.1 -d 10.40.0.1 -p tcp --sport 0 --dport 50009 --reply-port-src 1 --reply-port-dst 2",
    1,
  ],
  ["-G expect " + E1, 2], // the reply ports are compulsory (and ignored)
  [
    "-G expect -s 10.40.1.1 -p tcp --sport 0 --dport 50001 --reply-port-src 1 --reply-port-dst 2",
    2,
  ],
  ["-D expect -s 10.40.1.1 -d 10.40.0.1", 2], // -p compulsory
  [
    "-D expect -s 10.40.1.1 -d 10.40.0.1 -p tcp --sport 0 --dport 50009 --reply-port-src 1 --reply-port-dst 2",
    1,
  ],
  ["-D expect " + E1 + " --reply-port-src 1", 2],
  [
    "-I expect " + NEW7 +
    " --mask-src 255.255.255.255 --mask-dst 255.255.255.255 --mask-port-src 0 --mask-port-dst 65535",
    2,
  ], // -t
  ["-I expect " + NEW7 + " --mask-src 255.255.255.255 --mask-dst 255.255.255.255 -t 5", 2], // mask ports
  [
    "-I expect " + NEW7 +
    " --mask-dst 255.255.255.255 --mask-port-src 0 --mask-port-dst 65535 -t 5",
    2,
  ], // --mask-src
  [
    "-I expect " + NEW7 +
    " --mask-src 255.255.255.0/24 --mask-dst 255.255.255.255 --mask-port-src 0 --mask-port-dst 65535 -t 5",
    2,
  ],
  [
    "-I expect " + NEW7 +
    " --mask-src 255.255.255.255 --mask-dst 255.255.255.255 --mask-port-src 0 --mask-port-dst 65535 -t 5 --state LISTEN",
    2,
  ],
  [
    "-I expect " + NEW7.replace("10.40.0.7 -d", "10.40.0.99 -d") +
    " --mask-src 255.255.255.255 --mask-dst 255.255.255.255 --mask-port-src 0 --mask-port-dst 65535 -t 5",
    1,
  ], // no master
  [
    "-I expect -s 10.40.0.7 -d 10.40.1.1 -p icmp --icmp-type 8 --icmp-code 0 -t 5 --tuple-src 10.40.1.1 --tuple-dst 10.40.0.7 --mask-src 255.255.255.255 --mask-dst 255.255.255.255",
    2,
  ],
  ["-L expect -p tcp", 2],
  ["-L expect -s 10.40.1.1", 2],
  ["-C expect -f ipv4", 2],
  ["-S expect -f ipv4", 2],
  ["-E expect -e NEW", 2],
  ["-E expect -p tcp", 2],
  ["-F expect -f ipv4", 2],
  ["-U expect", 2],
  ["-L foo", 2],
  // dying and unconfirmed lists (empty here: no reliable event listener falls behind, and
  // Linux ≥ 6.1 keeps no unconfirmed list)
  ["-L dying", 0],
  ["-L unconfirmed", 0],
  ["-L dying -o extended", 0],
  ["-L dying -z", 0],
  ["-L unconfirmed -p tcp -o xml", 0],
  ["-G dying", 2],
  ["-I unconfirmed", 2],
  ["-F dying", 2],
  // -z
  ["-L -z", 0],
  ["-L -z -f ipv4 -o extended", 0],
  ["-L -z -o xml", 0],
  ["-L -z -m 1", 2],
  ["-L -z -s 10.40.0.1", 2],
  ["-D -z", 2],
  // -E parameters (what runs is compared in part 4)
  ["-E -t 5", 2],
  ["-E -e FOO", 2],
  ["-E -e NEW,", 2],
  ["-E -z", 2],
  ["-E -i 5", 2],
  ["-E -u ASSURED", 2],
  ["-E -p tcp --state FOO", 2],
  ["-F expect", 0],
  ["-L expect", 0],
  ["-C expect", 0],
];

// About 60 lines, each run by both programs: minutes on a loaded machine.
test(
  "nfct and conntrack give the same exit code, summary and output for expect, dying, unconfirmed, -z and -E command lines",
  { timeout: 600000 },
  () => {
    sh("ip link set lo up");
    const run = (cli: (a: string[]) => Ran) => {
      using ct = Conntrack.open();
      fillExpectations(ct);
      return SCRIPT.map(([line]) => cli(words(line)));
    };
    const theirs = run(conntrack);
    const ours = run(nfct);
    const problems: string[] = [];
    SCRIPT.forEach(([line, want], i) => {
      const t = theirs[i], o = ours[i];
      if (t.code !== want) {
        problems.push(
          `conntrack ${line}: exit ${t.code}, the script expects ${want} (${t.stderr.trim()})`,
        );
      }
      if (o.code !== want) {
        problems.push(`nfct ${line}: exit ${o.code}, expected ${want} (${o.stderr.trim()})`);
      }
      const tm = messages(t.stderr), om = messages(o.stderr);
      if (!(want === 2 && o.code === 2) && JSON.stringify(tm) !== JSON.stringify(om)) {
        problems.push(
          `${line}: stderr differs:\n  conntrack: ${tm.join(" | ")}\n  nfct:      ${
            om.join(" | ")
          }`,
        );
      }
      // -S expect: the counters of the two runs differ (the second run creates more).
      const st = line.startsWith("-S")
        ? sorted(t.stdout).map((l) => l.replace(/=\d+/g, "=N"))
        : sorted(t.stdout);
      const so = line.startsWith("-S")
        ? sorted(o.stdout).map((l) => l.replace(/=\d+/g, "=N"))
        : sorted(o.stdout);
      if (JSON.stringify(st) !== JSON.stringify(so)) {
        problems.push(
          `${line}: stdout differs:\n  conntrack: ${st.join("\n             ")}\n  nfct:      ${
            so.join("\n             ")
          }`,
        );
      }
    });
    assert.deepEqual(problems, []);
    // The script did list something.
    assert.equal(sorted(ours[0].stdout).length, 5);
    assert.equal(sorted(ours[2].stdout).length, 1);
    assert.match(
      ours[1].stdout,
      /^<\?xml version="1\.0" encoding="utf-8"\?>\n<expect>\n<flow>.*<\/flow>\n/,
    );
    assert.match(ours[1].stdout, /<\/expect>\n$/);
    assert.match(ours[0].stdout, / PERMANENT,INACTIVE class=0 helper=ftp\n/);
  },
);

// ---------------------------------------------------------------------------------------------
// 3. Where nfct does what conntrack 1.4.7 meant

test(
  "-I expect creates the expectation the options describe; -D expect deletes it and exits 0",
  T,
  () => {
    using ct = Conntrack.open();
    fillExpectations(ct);
    const add = nfct(
      words(
        "-I expect " + NEW7 +
          " --mask-src 255.255.255.255 --mask-dst 255.255.255.255 --mask-port-src 0 --mask-port-dst 65535 -t 120",
      ),
    );
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stderr, ""); // no summary, as conntrack
    const line = conntrack(["-L", "expect"]).stdout.split("\n").find((l) =>
      l.includes("master-src=10.40.0.7")
    );
    assert.ok(line, "conntrack lists the new expectation");
    assert.equal(
      mask(line),
      "T proto=6 src=10.40.1.1 dst=10.40.0.7 sport=0 dport=50007 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.40.0.7 master-dst=10.40.1.1 sport=40007 dport=21 class=0 helper=ftp",
    );
    // A CIDR on --tuple-src is the source mask, as conntrack reads it.
    ct.deleteExpect({
      proto: "tcp",
      tuple: { src: "10.40.1.1", dst: "10.40.0.7", sport: 0, dport: 50007 },
    });
    const cidr = nfct(
      words(
        "-I expect " + NEW7.replace("--tuple-src 10.40.1.1", "--tuple-src 10.40.1.0/24") +
          " --mask-dst 255.255.255.255 --mask-port-src 0 --mask-port-dst 65535 -t 120",
      ),
    );
    assert.equal(cidr.code, 0, cidr.stderr);
    const e = ct.listExpect({ master: { proto: "tcp", orig: master(7) } })[0];
    assert.equal(e.mask.src, "255.255.255.0");
    assert.equal(e.tuple.src, "10.40.1.0");
    // Again: the kernel says it exists.
    const again = nfct(
      words(
        "-I expect " + NEW7.replace("--tuple-src 10.40.1.1", "--tuple-src 10.40.1.0/24") +
          " --mask-dst 255.255.255.255 --mask-port-src 0 --mask-port-dst 65535 -t 120",
      ),
    );
    assert.equal(again.code, 1);
    assert.deepEqual(messages(again.stderr), ["Operation failed: File exists"]);
    // -D expect: conntrack 1.4.7 prints "0 expectations have been shown." and exits 1 on success.
    const del = nfct(words("-D expect " + E1 + " --reply-port-src 1 --reply-port-dst 2"));
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(messages(del.stderr), ["1 expectations have been deleted."]);
    assert.ok(!conntrack(["-L", "expect"]).stdout.includes("dport=50001"));
    const gone = nfct(words("-D expect " + E1 + " --reply-port-src 1 --reply-port-dst 2"));
    assert.equal(gone.code, 1);
    assert.deepEqual(messages(gone.stderr), ["Operation failed: No such file or directory"]);
    // -o json: one Expectation per line.
    const json = nfct(["-L", "expect", "-o", "json"]);
    const list = json.stdout.trim().split("\n").map((l) => JSON.parse(l) as Expectation);
    assert.ok(list.length >= 5 && list.every((x) => x.family === "ipv4" && x.master.dport === 21));
    ct.flushExpect();
    ct.flushAll();
  },
);

// ---------------------------------------------------------------------------------------------
// 4. -E side by side

interface Listener {
  name: string;
  args: string[];
  proc: ChildProcess;
  out: string;
  err: string;
  done: Promise<number | null>;
}

function listen(name: string, argv: string[]): Listener {
  const proc = spawn(argv[0], argv.slice(1), { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
  const l: Listener = { name, args: argv, proc, out: "", err: "", done: undefined as never };
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => (l.out += d));
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => (l.err += d));
  l.done = new Promise((r) => proc.on("exit", (code) => r(code)));
  return l;
}

/**
 * Signals a listener. (Through process.kill: Deno's ChildProcess.kill() reports the child as
 * killed by the signal even when it handled it and exited 0.)
 */
function stop(l: Listener, sig: string): void {
  process.kill(l.proc.pid!, sig);
}

/** A flow every listener shows (udp to port 53, mark 5), created and deleted: a marker. */
function sentinel(ct: Conntrack, port: number): void {
  const f = {
    proto: "udp" as const,
    orig: { src: "10.255.255.1", dst: "10.255.255.2", sport: port, dport: 53 },
    timeout: 30,
    mark: 5,
  };
  ct.create(f);
  ct.delete(f);
}
/**
 * A marker for every listener of the variants test: the flow of {@link sentinel}, the same in
 * IPv6 (for `-f ipv6`), and an expectation on an FTP master (for `expect`), all made and deleted.
 */
function sentinelAll(ct: Conntrack, port: number): void {
  sentinel(ct, port);
  const f = {
    proto: "udp" as const,
    orig: { src: "fd00:ffff::1", dst: "fd00:ffff::2", sport: port, dport: 53 },
    timeout: 30,
    mark: 5,
  };
  ct.create(f);
  ct.delete(f);
  const m = {
    proto: "tcp" as const,
    src: "10.255.255.1",
    dst: "10.255.255.2",
    sport: port,
    dport: 21,
  };
  createFtpMaster(ct, m);
  ct.createExpect(ftpExpectation(m, port));
  ct.delete({ proto: "tcp", orig: m }); // and its expectation with it
}
const isSentinel = (line: string) => line.includes("10.255.255.") || line.includes("fd00:ffff::");
const hasSentinel = (l: Listener, port: number) =>
  l.out.split("\n").some((x) => isSentinel(x) && new RegExp(`[ =>]${port}[ <]`).test(x));

/** A listener's event lines, normalised (see the module doc), without markers and XML wrapping. */
function eventLines(out: string): string[] {
  return out.split("\n").filter((l) => l && !isSentinel(l))
    .map((l) =>
      l.replace(/ progname=\S+/, "").replace(/^\[\d+ *\.\d+ *\]\t/, "[TS]\t").replace(
        /<when>.*<\/when>/,
        "<when/>",
      )
    )
    .sort();
}

const EVENT_VARIANTS = [
  "",
  "-o timestamp,extended,id",
  "-o xml",
  "-o xml,timestamp",
  "-o save",
  "-e DESTROY -b 1000000",
  "-e NEW,UPDATES",
  "-p udp --dport 53",
  "-m 5",
  "-f ipv6",
  "expect",
  "expect -o xml",
];

test(
  "nfct -E prints the lines conntrack -E prints for the same events, and the same summary when stopped",
  T,
  async () => {
    trackLoopback("nfct_cli_ev");
    using ct = Conntrack.open();
    ct.flushExpect();
    ct.flushAll();
    const pairs = EVENT_VARIANTS.map((v, i) => {
      const args = ["-E", ...words(v)];
      return {
        v,
        sig: i % 2 ? "SIGINT" : "SIGTERM",
        theirs: listen(`conntrack -E ${v}`, ["conntrack", ...args]),
        ours: listen(`nfct -E ${v}`, [...NFCT, ...args]),
      };
    });
    const all = pairs.flatMap((p) => [p.theirs, p.ours]);
    try {
      // Wait until every listener is subscribed: a marker every 50 ms until all have shown one.
      let port = 61000;
      await waitFor(
        () => {
          sentinelAll(ct, ++port);
          return all.every((l) => l.out.split("\n").some(isSentinel));
        },
        "the listeners to start",
        60000,
        50,
      ); // 24 processes starting at once

      // The changes: the conntrack CLI, the library, real packets.
      assert.equal(
        conntrack(words("-I -p udp -s 10.0.0.1 -d 10.0.0.2 --sport 1000 --dport 53 -t 100")).code,
        0,
      );
      assert.equal(conntrack(words("-U -s 10.0.0.1 -m 5")).code, 0);
      assert.equal(
        conntrack(
          words(
            "-I -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1000 --dport 80 -t 100 --state ESTABLISHED",
          ),
        ).code,
        0,
      );
      ct.create({
        proto: "udp",
        orig: { src: "fd00::1", dst: "fd00::2", sport: 5, dport: 53 },
        timeout: 50,
      });
      ct.create({
        proto: "icmp",
        orig: { src: "10.0.0.5", dst: "10.0.0.6", type: 8, code: 0, id: 9 },
        timeout: 30,
        mark: 5,
      });
      for (let i = 1; i <= 2; i++) {
        createFtpMaster(ct, master(i));
        ct.createExpect(ftpExpectation(master(i), 50000 + i));
      }
      await udpPingPong();
      assert.equal(conntrack(["-F", "expect"]).code, 0);
      assert.equal(conntrack(words("-D -s 10.0.0.1")).code, 0);
      ct.flushAll();
      // A last marker: once every flow listener has shown it, they have seen everything before.
      const last = 62000;
      sentinelAll(ct, last);
      await waitFor(() => all.every((l) => hasSentinel(l, last)), "the last marker");
    } finally {
      for (const p of pairs) {
        stop(p.theirs, p.sig);
        stop(p.ours, p.sig);
      }
      await Promise.all(all.map((l) => l.done));
      sh("nft delete table inet nfct_cli_ev");
    }
    for (const { v, theirs, ours } of pairs) {
      assert.equal(await ours.done, 0, `nfct -E ${v}: ${ours.err}`);
      assert.equal(await theirs.done, 0, `conntrack -E ${v}: ${theirs.err}`);
      const t = eventLines(theirs.out), o = eventLines(ours.out);
      assert.ok(t.length > 1, `conntrack -E ${v} printed events`);
      assert.deepEqual(o, t, `-E ${v}`);
      // The same stderr; the count there includes the markers, which each saw from its own start.
      const norm = (s: string) =>
        messages(s).map((m) => m.replace(/^\d+ (flow|expectation) events/, "N $1 events"));
      assert.deepEqual(norm(ours.err), norm(theirs.err), `-E ${v} stderr`);
      const shown = (l: Listener) =>
        Number(/(\d+) (?:flow|expectation) events have been shown/.exec(l.err)?.[1]);
      const printed = (l: Listener) =>
        l.out.split("\n").filter((x) =>
          x && !x.startsWith("<?xml") && !/^<\/?(conntrack|expect)>$/.test(x)
        ).length;
      assert.equal(shown(ours), printed(ours), `nfct -E ${v} counts what it printed`);
      assert.equal(shown(theirs), printed(theirs), `conntrack -E ${v} counts what it printed`);
    }
  },
);

test(
  "nfct -E with a tiny -b reports ENOBUFS as conntrack does and keeps listening",
  T,
  async () => {
    using ct = Conntrack.open();
    ct.flushAll();
    const l = listen("nfct -E -b 4096", [...NFCT, "-E", "-b", "4096"]);
    try {
      let port = 61000;
      await waitFor(
        () => {
          sentinel(ct, ++port);
          return l.out.includes("10.255.255.1");
        },
        "nfct -E to start",
        15000,
        50,
      );
      const flows = Array.from({ length: 3000 }, (_, i) => ({
        proto: "udp" as const,
        orig: { src: `10.7.${i >> 8}.${i & 255}`, dst: "10.8.0.1", sport: 1000, dport: 53 },
        timeout: 60,
      }));
      assert.equal(ct.createMany(flows).created, 3000);
      ct.flushAll();
      await waitFor(() => l.err.includes("WARNING: We have hit ENOBUFS!"), "the ENOBUFS warning");
      // A marker shown after the overrun. (Markers until one is: while the tiny buffer is still
      // full, a marker's events can be lost too.)
      const marks: number[] = [];
      await waitFor(
        () => {
          marks.push(62000 + marks.length);
          sentinel(ct, marks.at(-1)!);
          return marks.some((p) => hasSentinel(l, p));
        },
        "an event after the overrun",
        30000,
        200,
      );
    } finally {
      stop(l, "SIGTERM");
    }
    assert.equal(await l.done, 0, l.err);
    assert.match(l.err, /^NOTICE: Netlink socket buffer size has been set to \d+ bytes\.\n/);
    assert.ok(l.err.includes(
      "WARNING: We have hit ENOBUFS! We are losing events.\n" +
        "This message means that the current netlink socket buffer size is too small.\n" +
        "Please, check --buffer-size in conntrack(8) manpage.\n",
    ));
    const printed = l.out.split("\n").filter((x) => x).length;
    const flood = l.out.split("\n").filter((x) => x && !isSentinel(x)).length;
    assert.ok(flood < 6000, `events were lost (${flood} of the 6000 shown)`);
    assert.match(l.err, new RegExp(`: ${printed} flow events have been shown\\.\\n$`));
  },
);

// ---------------------------------------------------------------------------------------------
// 5. -L -z

async function udpTraffic(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await udpPingPong("127.0.0.1", "pong".repeat(i + 1));
}

test(
  "nfct -L -z prints what conntrack -L showed and zeroes the counters; so does conntrack -L -z for nfct -L",
  T,
  async () => {
    trackLoopback("nfct_cli_z", { acct: 1 });
    try {
      conntrack(["-F"]);
      await udpTraffic(5);
      const before = conntrack(["-L"]);
      assert.match(before.stdout, /packets=1 bytes=3\d /, "counters are on");
      const z = nfct(["-L", "-z"]);
      assert.equal(z.code, 0, z.stderr);
      assert.deepEqual(sorted(z.stdout), sorted(before.stdout));
      assert.deepEqual(messages(z.stderr), messages(before.stderr));
      const after = conntrack(["-L"]).stdout.split("\n").filter((l) => l);
      assert.equal(after.length, 5);
      assert.ok(
        after.every((l) => (l.match(/packets=0 bytes=0 /g) ?? []).length === 2),
        after.join("\n"),
      );

      await udpTraffic(3);
      const before2 = nfct(["-L", "-o", "extended"]);
      const z2 = conntrack(["-L", "-z", "-o", "extended"]);
      assert.equal(z2.code, 0);
      assert.deepEqual(sorted(z2.stdout), sorted(before2.stdout));
      assert.ok(
        nfct(["-L"]).stdout.split("\n").filter((l) => l).every((l) =>
          (l.match(/packets=0 bytes=0 /g) ?? []).length === 2
        ),
      );

      // -z with a family: only that family's entries are shown (and zeroed).
      await udpTraffic(1);
      const v4 = nfct(["-L", "-z", "-f", "ipv4", "-o", "xml"]);
      assert.equal(v4.code, 0, v4.stderr);
      assert.match(v4.stdout, /^<\?xml/);
      assert.equal((v4.stdout.match(/<flow>/g) ?? []).length, 9);
      assert.equal((v4.stdout.match(/<packets>1<\/packets>/g) ?? []).length, 2);
      assert.equal(
        (conntrack(["-L", "-o", "xml"]).stdout.match(/<packets>0<\/packets>/g) ?? []).length,
        18,
      );
    } finally {
      conntrack(["-F"]);
      sh("nft delete table inet nfct_cli_z; sysctl -qw net.netfilter.nf_conntrack_acct=0");
    }
  },
);

// ---------------------------------------------------------------------------------------------
// examples/watch.ts

test(
  "examples/watch.ts prints one typed line per matching event and stops on SIGINT",
  T,
  async () => {
    using ct = Conntrack.open();
    ct.flushAll();
    const argv = [...RUN_TS, "examples/watch.ts"];
    const w = listen("watch.ts", [...argv, "--proto", "udp", "--port", "53"]);
    try {
      await waitFor(() => w.err.includes("listening"), "watch.ts to start");
      let port = 61000;
      await waitFor(() => {
        sentinel(ct, ++port);
        return w.out.includes("10.255.255.1");
      }, "watch.ts to see events");
      ct.create({
        proto: "udp",
        orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 53 },
        timeout: 100,
      });
      ct.create({
        proto: "udp",
        orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 54 },
        timeout: 100,
      }); // other port
      ct.create({
        proto: "tcp",
        orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 53 },
        timeout: 100,
        tcp: { state: "ESTABLISHED" },
      }); // other proto
      ct.flushAll();
      await waitFor(
        () => w.out.includes("destroy udp 10.0.0.1:1000 -> 10.0.0.2:53"),
        "the destroy line",
      );
    } finally {
      stop(w, "SIGINT");
    }
    assert.equal(await w.done, 0, w.err);
    const lines = w.out.split("\n").filter((l) => l && !isSentinel(l));
    assert.deepEqual(lines.map((l) => l.replace(/ timeout=\d+ portId=\d+ time=\S+/, "")), [
      "new     udp 10.0.0.1:1000 -> 10.0.0.2:53",
      "destroy udp 10.0.0.1:1000 -> 10.0.0.2:53",
    ]);
    for (const l of lines) {
      assert.match(l, new RegExp(` portId=${ct.portId} time=\\d{4}-\\d\\d-\\d\\dT`));
    }
    assert.match(w.err, /watch\.ts: \d+ events\n$/);
  },
);
