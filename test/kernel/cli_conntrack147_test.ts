/**
 * The places where conntrack 1.4.7 is broken and nfct deliberately does what the command means
 * (README, "What conntrack does not have"): both sides are shown — what 1.4.7 does (asserted only
 * when the installed conntrack is 1.4.7) and what nfct does. Each test builds its tables in
 * namespaces of its own (`ip netns add` inside the throwaway one); where a command changes the
 * table, conntrack and nfct each get a twin namespace with the same entries.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { addNetns } from "../_helpers/netns.ts";
import { words } from "../_helpers/run.ts";
import {
  conntrack,
  IS_147,
  lines,
  nfct,
  same,
  table,
  TCP,
  twins,
  twinsFile,
} from "../_helpers/twins.ts";

const T = twinsFile();

/** Asserts conntrack's known behaviour only on 1.4.7 (a fixed conntrack must not fail the suite). */
function ctDoes(check: () => void): void {
  if (IS_147) check();
}

test(
  "1.4.7 segfaults on --state HEARTBEAT_SENT and saves it as '(null)'; nfct creates, lists and saves it by name",
  T,
  () => {
    const ns = addNetns("nfct-hb");
    try {
      const args = words(
        "-I -p sctp -s 10.2.0.1 -d 10.2.0.2 --sport 1 --dport 2 --state HEARTBEAT_SENT -t 30",
      );
      ctDoes(() => assert.equal(conntrack(ns.path, args).signal, "SIGSEGV"));
      assert.equal(nfct(ns.path, args).code, 0);
      ctDoes(() =>
        assert.equal(
          conntrack(ns.path, words("-L -p sctp --state HEARTBEAT_SENT")).signal,
          "SIGSEGV",
        )
      );
      const listed = nfct(ns.path, words("-L -p sctp --state HEARTBEAT_SENT"));
      assert.deepEqual(
        lines(listed.stdout),
        lines(conntrack(ns.path, ["-L"]).stdout),
        "nfct lists the entry conntrack -L shows",
      );
      assert.equal(lines(listed.stdout).length, 1);
      ctDoes(() =>
        assert.match(conntrack(ns.path, words("-L -o save")).stdout, / --state \(null\) /)
      );
      const save = nfct(ns.path, words("-L -o save")).stdout;
      assert.match(save, / --state HEARTBEAT_SENT /);
      assert.equal(nfct(ns.path, words("-D -p sctp")).code, 0);
      assert.equal(nfct(ns.path, ["-R", "-"], save).code, 0, "the save line parses back");
      assert.deepEqual(lines(nfct(ns.path, words("-L -o save")).stdout), lines(save));
    } finally {
      ns.remove();
    }
  },
);

test(
  "1.4.7 ignores GRE key filters and the address of an IPv6 --any-nat; nfct filters by them",
  T,
  () => {
    const ns = table("nfct-gre", [
      "-I -p gre -s 10.0.0.1 -d 10.0.0.2 --srckey 5 --dstkey 6 -t 100",
      "-I -p gre -s 10.0.0.1 -d 10.0.0.2 --srckey 7 --dstkey 8 -t 100",
      "-I -p udp -s 2001:db8::1 -d 2001:db8::2 --sport 1 --dport 2 -t 100 --dst-nat 2001:db8::99",
      "-I -p udp -s 2001:db8::1 -d 2001:db8::3 --sport 1 --dport 2 -t 100 --src-nat 2001:db8::98",
    ]);
    try {
      for (
        const [args, want] of [
          ["-L -p gre --srckey 5 --dstkey 6", / srckey=0x5 dstkey=0x6 /],
          ["-L -p gre --reply-key-src 8 --reply-key-dst 7", / srckey=0x7 dstkey=0x8 /],
          ["-L --any-nat 2001:db8::99", / src=2001:db8::99 /],
        ] as const
      ) {
        ctDoes(() =>
          assert.equal(
            lines(conntrack(ns.path, words(args)).stdout).length,
            2,
            `1.4.7: ${args} lists both`,
          )
        );
        const ours = lines(nfct(ns.path, words(args)).stdout);
        assert.equal(ours.length, 1, args);
        assert.match(ours[0], want, args);
      }
    } finally {
      ns.remove();
    }
  },
);

const STATUS_TABLE = [
  `-I ${TCP} --sport 1 --state ESTABLISHED -u ASSURED,SEEN_REPLY -m 2`,
  `-I ${TCP} --sport 3 --state ESTABLISHED -u SEEN_REPLY -m 4`,
  `-I ${TCP} --sport 4 --state ESTABLISHED -u SEEN_REPLY -m 6 -w 3`,
  "-I -p udp -s 10.0.0.1 -d 10.0.0.2 --sport 1 --dport 2 -t 100",
];

test(
  "1.4.7 -D -u '!ASSURED' deletes every entry; nfct deletes exactly what -L -u '!ASSURED' lists",
  T,
  () => {
    const ns = table("nfct-neg", STATUS_TABLE);
    let listed: string[];
    try {
      listed = lines(same(ns.path, ["-L", "-u", "!ASSURED"]).stdout);
      assert.equal(listed.length, 3);
    } finally {
      ns.remove();
    }
    const r = twins("nfct-negd", STATUS_TABLE, ["-D", "-u", "!ASSURED"]);
    ctDoes(() => assert.deepEqual(r.ctTable, [], "1.4.7 left nothing"));
    assert.equal(r.ours.code, 0, r.ours.stderr);
    assert.deepEqual(lines(r.ours.stdout), listed, "nfct deleted (and printed) what -L listed");
    assert.equal(r.ourTable.length, 1);
    assert.match(r.ourTable[0], / \[ASSURED\] mark=2$/);
  },
);

test("1.4.7 -U cannot update an entry in a zone; nfct updates it", T, () => {
  const r = twins("nfct-zoneu", STATUS_TABLE, words("-U -s 10.0.0.1 -p tcp -u ASSURED"));
  ctDoes(() => {
    assert.ok(
      r.ctTable.some((l) => / sport=4 .* mark=6 zone=3/.test(l) && !l.includes("[ASSURED]")),
      "1.4.7 left the zone-3 entry as it was",
    );
  });
  assert.equal(r.ours.code, 0, r.ours.stderr);
  assert.equal(
    r.ourTable.filter((l) => l.startsWith("tcp") && l.includes("[ASSURED]")).length,
    3,
    r.ourTable.join("\n"),
  );
});

test(
  "1.4.7 with -m before -u compares the mark with the status; nfct gives the same result in either order",
  T,
  () => {
    const ns = table("nfct-mu", STATUS_TABLE);
    try {
      for (
        const [mu, um] of [["-L -m 6 -u SEEN_REPLY", "-L -u SEEN_REPLY -m 6"], [
          "-L -m 2 -u ASSURED",
          "-L -u ASSURED -m 2",
        ]]
      ) {
        const right = lines(conntrack(ns.path, words(um)).stdout);
        assert.equal(right.length, 1, um);
        ctDoes(() =>
          assert.deepEqual(
            lines(conntrack(ns.path, words(mu)).stdout),
            [],
            `1.4.7: ${mu} finds nothing`,
          )
        );
        assert.deepEqual(lines(nfct(ns.path, words(mu)).stdout), right, mu);
        assert.deepEqual(lines(nfct(ns.path, words(um)).stdout), right, um);
      }
    } finally {
      ns.remove();
    }
  },
);
