/**
 * `nfct` (cli.ts) against conntrack(8) 1.4.7 on the `expect` table (and `-L dying`,
 * `-L unconfirmed`, `-z` and `-E` command lines), in a throwaway network namespace.
 *
 * 1. A script of command lines in the style of conntrack-tools' testsuite ("command ; OK/BAD"),
 *    run by conntrack and by nfct on the same table (FTP masters and expectations created
 *    through the library): same exit code, same summary, same sorted stdout (timeouts masked).
 *    Its `-L expect` lines list a table with IPv4/IPv6, TCP/UDP, PERMANENT/INACTIVE expectations.
 * 2. nfct's deliberate differences: `-I expect` (1.4.7 puts a byte of --tuple-port-* into the
 *    expected tuple's protocol) and `-D expect` (1.4.7 exits 1 after a successful delete).
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Conntrack, type Expectation } from "../../mod.ts";
import { createFtpMaster, ftpExpectation, ftpMaster, ONES4 } from "../_helpers/ftp.ts";
import { mask, sorted } from "../_helpers/masked.ts";
import { assertThrowawayNetns, sh } from "../_helpers/netns.ts";
import { messages, type Ran, runConntrack, runNfct, words } from "../_helpers/run.ts";
import { type ScriptLine, scriptProblems } from "../_helpers/script.ts";

assertThrowawayNetns();

const T = { timeout: 60000 };
const nfct = (args: string[]) => runNfct(args);
const conntrack = (args: string[]) => runConntrack(args);

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
const SCRIPT: ScriptLine[] = [
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
    const problems = scriptProblems(SCRIPT, theirs, ours, {
      // -S expect: the counters of the two runs differ (the second run creates more).
      stdout: (line, out) => line.startsWith("-S") ? out.map((l) => l.replace(/=\d+/g, "=N")) : out,
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
// 2. Where nfct does what conntrack 1.4.7 meant

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
