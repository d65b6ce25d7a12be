/**
 * `nfct -E` against `conntrack -E` (conntrack-tools 1.4.7), in a throwaway network namespace.
 *
 * `conntrack -E …` and `nfct -E …` are started side by side, then flows and expectations are
 * created, updated and deleted (by the CLI, the library and real packets); both are stopped with
 * SIGTERM/SIGINT and their lines compared sorted. Normalised: the `-o timestamp` stamp and XML
 * `<when>` (each reads its own clock), and ` progname=…` (both look the program up in /proc when
 * they print: whether the process still exists by then is a race). Then a tiny `-b`: ENOBUFS is
 * reported as conntrack reports it, and the listener keeps listening.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Conntrack } from "../../mod.ts";
import { createFtpMaster, ftpExpectation, ftpMaster as master } from "../_helpers/ftp.ts";
import {
  hasSentinel,
  isSentinel,
  listen,
  type Listener,
  sentinel,
  sentinelAll,
  stop,
} from "../_helpers/listen.ts";
import { assertThrowawayNetns, sh, trackLoopback } from "../_helpers/netns.ts";
import { messages, NFCT, runConntrack as conntrack, words } from "../_helpers/run.ts";
import { udpPingPong } from "../_helpers/traffic.ts";
import { waitFor } from "../_helpers/wait.ts";

assertThrowawayNetns();

const T = { timeout: 60000 };

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
