/**
 * `nfct -L -z` against `conntrack -L -z`, in a throwaway network namespace with real UDP traffic
 * over lo: each one's output equals the other's `-L` just before, and leaves zero counters
 * behind.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sorted } from "../_helpers/masked.ts";
import { assertThrowawayNetns, sh, trackLoopback } from "../_helpers/netns.ts";
import { messages, runConntrack as conntrack, runNfct as nfct } from "../_helpers/run.ts";
import { udpPingPong } from "../_helpers/traffic.ts";

assertThrowawayNetns();

const T = { timeout: 60000 };

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
