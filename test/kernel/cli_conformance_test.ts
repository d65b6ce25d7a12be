/**
 * nfct (cli.ts, on the current runtime) against conntrack(8) on the same table, one test per
 * divergence found by running conntrack-tools' testsuite and differential runs (issue 11):
 * SYN_SENT2, `-U -u FLAG`, `-o save` of IPv6 NAT, `labels=` whenever the label map is loaded,
 * `--mask-*` vs CIDR order, options without a command, `-o json,…`, `-E -o timestamp`.
 * Where conntrack 1.4.7 is broken: cli_conntrack147_test.ts.
 *
 * Each test builds its tables in namespaces of its own (`ip netns add` inside the throwaway one);
 * where a command changes the table, conntrack and nfct each get a twin namespace with the same
 * entries, and the tables left behind are compared.
 * @module
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { test } from "node:test";
import { addNetns } from "../_helpers/netns.ts";
import { messages, NFCT, ROOT, words } from "../_helpers/run.ts";
import {
  conntrack,
  conntrackLabels,
  lines,
  nfct,
  same,
  table,
  TCP,
  twins,
  twinsFile,
} from "../_helpers/twins.ts";

const T = twinsFile();

test(
  "--state SYN_SENT2 (and LISTEN, its old name) is accepted, and -o save output parses back through nfct -R",
  T,
  () => {
    const ns = table("nfct-syn2", [`-I ${TCP} --sport 1 --state LISTEN -u SEEN_REPLY -w 10`]);
    try {
      for (const [cli, sport] of [[conntrack, 2], [nfct, 5]] as const) {
        const r = cli(ns.path, words(`-I ${TCP} --sport ${sport} --state SYN_SENT2 -w 10`));
        assert.equal(r.code, 0, r.stderr);
      }
      same(ns.path, words("-L -p tcp --state SYN_SENT2"));
      same(ns.path, words("-L -p tcp --state LISTEN"));
      const save = same(ns.path, words("-L -w 10 -o save"));
      assert.equal(
        lines(save.stdout).filter((l) => l.endsWith("--state SYN_SENT2")).length,
        3,
        save.stdout,
      );
      const replay = nfct(ns.path, ["-R", "-"], save.stdout.replaceAll("-w 10", "-w 11"));
      assert.equal(replay.code, 0, replay.stderr);
      assert.deepEqual(
        lines(conntrack(ns.path, words("-L -w 11 -o save")).stdout),
        lines(save.stdout.replaceAll("-w 10", "-w 11")),
        "the replayed entries are the saved ones",
      );
    } finally {
      ns.remove();
    }
  },
);

test(
  "-U -u FLAG sets the flag (IPS_CONFIRMED goes with the new status, as conntrack sends it)",
  T,
  () => {
    const setup = [`-I ${TCP} --sport 3 --state SYN_RECV -u SEEN_REPLY,ASSURED`];
    const r = twins(
      "nfct-upd",
      setup,
      words("-U -s 10.0.0.1 -p tcp --sport 3 --dport 80 -u FIXED_TIMEOUT"),
    );
    assert.equal(r.ct.code, 0, r.ct.stderr);
    assert.equal(r.ours.code, 0, r.ours.stderr);
    assert.deepEqual(lines(r.ours.stdout), lines(r.ct.stdout));
    assert.deepEqual(messages(r.ours.stderr), messages(r.ct.stderr));
    assert.deepEqual(r.ourTable, r.ctTable);
    // FIXED_TIMEOUT is not shown by -L; -o save shows it.
    const ns = table("nfct-upd2", setup);
    try {
      assert.equal(nfct(ns.path, words("-U -s 10.0.0.1 -u FIXED_TIMEOUT")).code, 0);
      assert.match(
        nfct(ns.path, words("-L -o save")).stdout,
        / -u SEEN_REPLY,ASSURED,FIXED_TIMEOUT /,
      );
    } finally {
      ns.remove();
    }
  },
);

test(
  "-o save of IPv6 NAT entries writes -g/-n like conntrack (libnetfilter_conntrack 1.0.9)",
  T,
  () => {
    const ns = table("nfct-save6", [
      "-I -p udp -s 2001:db8::1 -d 2001:db8::2 --sport 1 --dport 2 -t 100 --dst-nat 2001:db8::99",
      "-I -p udp -s 2001:db8::1 -d 2001:db8::3 --sport 1 --dport 2 -t 100 --src-nat 2001:db8::98",
      "-I -p udp -s 2001:DB8::1.1.1.1 -d 2001:db8::4 --sport 1 --dport 2 -t 100",
      "-I -p tcp -s 10.0.0.1 -d 10.0.0.3 --sport 1 --dport 2 -t 100 --state ESTABLISHED --dst-nat 10.0.0.99:8080",
      "-I -p udp -s 10.0.0.1 -d 10.0.0.4 --sport 1 --dport 2 -t 100 --src-nat 10.0.0.98",
    ]);
    try {
      const out = same(ns.path, words("-L -o save")).stdout;
      assert.match(out, / -g 2001:db8::99 -q 2001:db8::1 /);
      assert.match(out, / -r 2001:db8::3 -n 2001:db8::98 /);
    } finally {
      ns.remove();
    }
  },
);

test(
  "labels= ends every labelled line whenever the label map is loaded (-l, --label-add/--label-del, -o labels)",
  T,
  () => {
    const ns = addNetns("nfct-labels");
    try {
      execFileSync("ip", ["netns", "exec", ns.name, "nft", "-f", "-"], {
        input:
          "table inet t {\n chain out {\n  type filter hook output priority 0; policy accept;\n  udp dport 9 ct label set 1\n }\n}\n",
      });
      for (const src of ["10.0.0.1", "10.0.0.3", "10.0.0.7"]) {
        assert.equal(
          conntrack(ns.path, words(`-I -p udp -s ${src} -d 10.0.0.2 --sport 1 --dport 2 -t 100`))
            .code,
          0,
        );
      }
      assert.equal(conntrackLabels(ns.path, words("-U -s 10.0.0.1 --label-add one")).code, 0);
      assert.equal(conntrackLabels(ns.path, words("-U -s 10.0.0.7 --label-add one,five")).code, 0);
      const get = "-G -p udp -s 10.0.0.1 -d 10.0.0.2 --sport 1 --dport 2";
      for (
        const args of [
          "-L",
          "-L -l one",
          "-L -o labels",
          "-L -o labels,extended",
          "-L -o xml -l one",
          `${get} -l one`,
          `${get}`,
        ]
      ) {
        const ct = conntrackLabels(ns.path, words(args)), ours = nfct(ns.path, words(args));
        assert.equal(ours.code, ct.code, args);
        assert.deepEqual(lines(ours.stdout), lines(ct.stdout), args);
      }
      assert.match(nfct(ns.path, words("-L -l one")).stdout, / labels=one\n/);
      // -U prints the updated entries: both tools on the same entry, one after the other.
      const ct = conntrackLabels(ns.path, words("-U -s 10.0.0.3 -m 3 --label-add five"));
      const ours = nfct(ns.path, words("-U -s 10.0.0.3 -m 4 --label-add zero"));
      assert.equal(ct.code, 0);
      assert.equal(ours.code, 0);
      assert.match(ct.stdout, / mark=3 use=\d+ labels=five\n/);
      assert.match(ours.stdout, / mark=4 use=\d+ labels=zero,five\n/);
    } finally {
      ns.remove();
    }
  },
);

test(
  "--mask-src/--mask-dst and a CIDR address: whichever comes last sets the mask, as in conntrack",
  T,
  () => {
    const setup: string[] = [];
    for (const i of [1, 2, 3]) {
      setup.push(
        `-I -p udp -s 10.${i}.1.1 -d 10.0.0.2 --sport 1 --dport 2 -t 100`,
      );
    }
    for (const i of [1, 2, 3]) {
      setup.push(
        `-I -p udp -s 10.1.${i}.1 -d 10.0.0.${i} --sport 1 --dport 2 -t 100`,
      );
    }
    const ns = table("nfct-mask", setup);
    try {
      const cases = [
        ["-L -s 10.1.1.0/24 --mask-src 255.255.0.0", 4],
        ["-L --mask-src 255.255.0.0 -s 10.1.1.0/24", 2],
        ["-L --mask-src 255.0.0.0 -s 10.1.1.1/32", 6],
        ["-L -d 10.0.0.0/30 --mask-dst 255.255.255.255", 0],
        ["-L --mask-dst 255.255.255.255 -d 10.0.0.0/30", 6],
        ["-L --mask-src 255.255.0.0 -s 10.1.9.9 --mask-src 255.0.0.0 -s 10.1.1.1/24", 2],
      ] as const;
      for (const [args, n] of cases) {
        assert.equal(
          lines(same(ns.path, words(args)).stdout).length,
          n,
          args,
        );
      }
    } finally {
      ns.remove();
    }
  },
);

test(
  "options without a command exit 2 with conntrack's message (the first illegal option); no arguments print usage",
  T,
  () => {
    const ns = addNetns("nfct-nocmd");
    try {
      for (
        const args of [
          "-s 10.0.0.1",
          "-p tcp --dport 80",
          "-m 5",
          "-z",
          "-o extended",
          "-f ipv4",
          "-u ASSURED",
          "-e NEW",
          "--zone 1",
          "-b 100",
          "-t 5",
          "-i 5",
          "-s 10.0.0.1 -o save",
          "-w 1 -s 1.1.1.1",
          "--mask-src 255.0.0.0",
        ]
      ) {
        const ours = same(ns.path, words(args));
        assert.equal(ours.code, 2, args);
        assert.match(
          messages(ours.stderr)[0],
          /^Illegal option `--[a-z-]+' with this command$/,
          args,
        );
      }
      for (const args of [[], ["foo"]]) {
        const ct = conntrack(ns.path, args), ours = nfct(ns.path, args);
        assert.equal(ct.code, 0);
        assert.equal(ours.code, 0);
        assert.match(ours.stdout, /^Usage: nfct \[commands\] \[options\]$/m);
      }
    } finally {
      ns.remove();
    }
  },
);

test(
  "-o json with another output type is a parameter problem (exit 2, as conntrack exits on any -o json,…); save with others stays exit 1",
  T,
  () => {
    const ns = addNetns("nfct-json");
    try {
      for (const o of ["json,extended", "id,json"]) {
        assert.equal(conntrack(ns.path, ["-L", "-o", o]).code, 2);
        const ours = nfct(ns.path, ["-L", "-o", o]);
        assert.equal(ours.code, 2, ours.stderr);
        assert.deepEqual(messages(ours.stderr), [
          "cannot combine json output with any other output type, use -o json only",
        ]);
      }
      same(ns.path, words("-L -o save,extended"));
    } finally {
      ns.remove();
    }
  },
);

test(
  "-E -o timestamp prints [seconds.microseconds] like conntrack, with real microseconds",
  T,
  async () => {
    const ns = addNetns("nfct-evts");
    try {
      const child = spawn("nsenter", [`--net=${ns.path}`, "--", ...NFCT, "-E", "-o", "timestamp"], {
        cwd: ROOT,
      });
      let out = "";
      child.stdout.on("data", (d) => out += String(d));
      const exited = new Promise((resolve) => child.on("exit", resolve));
      const deadline = Date.now() + 30000;
      let made = 0;
      while (out.split("\n").length <= 5 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        // Events made before nfct subscribed are lost; keep making them until enough were seen.
        conntrack(
          ns.path,
          words(
            `-I -p udp -s 10.9.${made >> 8}.${made & 255} -d 10.0.0.2 --sport 1 --dport 2 -t 100`,
          ),
        );
        made++;
      }
      child.kill("SIGTERM");
      await exited;
      const stamps = out.split("\n").filter((l) => l !== "").map((l) =>
        /^\[(\d{10})\.(\d{6})\]\t +\[NEW\] udp /.exec(l)
      );
      assert.ok(stamps.length >= 5, out);
      for (const m of stamps) assert.ok(m, out);
      assert.ok(
        stamps.some((m) => !m![2].endsWith("000")),
        `all stamps are whole milliseconds:\n${out}`,
      );
      const now = Date.now() / 1000;
      for (const m of stamps) {
        assert.ok(
          Math.abs(Number(m![1]) - now) < 120,
          "the seconds are wall-clock time",
        );
      }
    } finally {
      ns.remove();
    }
  },
);
