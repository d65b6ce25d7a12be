/**
 * `nfct -L [filter] [-o …]` prints the lines `conntrack -L …` prints (sorted, timeouts masked),
 * on one rich table (IPv4/IPv6, TCP/UDP/ICMP/SCTP/GRE, zones, marks, counters, timestamps:
 * cli_table.ts) in a throwaway network namespace; and with timestamps off, where nfct makes its
 * lines straight from the kernel's bytes.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { freshTable, listed, onRichTable, richTable, tableChanged } from "../_helpers/cli_table.ts";
import { sorted } from "../_helpers/masked.ts";
import { assertThrowawayNetns, sh } from "../_helpers/netns.ts";
import { messages, words } from "../_helpers/run.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };
const { nfct, conntrack } = onRichTable("nfct-cli-list-");

test(
  "the listed table has every protocol with zones, marks, counters and timestamps",
  T,
  async () => {
    await richTable();
    const all = listed();
    assert.ok(all.some((f) => f.counters && f.counters.orig.bytes > 0), "counters");
    assert.ok(all.some((f) => f.timestamp), "timestamps");
  },
);

const LISTINGS: string[] = [
  "",
  "-o extended",
  "-o extended,id",
  "-o ktimestamp",
  "-o save",
  "-o xml",
  "-o extended,id,ktimestamp",
  "-p tcp",
  "-p udp -o extended",
  "-f ipv6",
  "-f ipv4 -p gre",
  "-p icmp",
  "-p icmpv6 --icmpv6-type 128",
  "-p sctp --state ESTABLISHED",
  "-w 7",
  "-w 0",
  "--orig-zone 3",
  "-m 5",
  "-m 0x10/0x10",
  "-u ASSURED",
  "-u SEEN_REPLY",
  "-s 10.0.0.0/16",
  "-d fd00::/112",
  "-p tcp --dport 443",
  "-s 127.0.0.1",
  "-p tcp --state ESTABLISHED",
];

for (const args of LISTINGS) {
  test(`nfct -L ${args} prints the lines conntrack -L ${args} prints`, T, async () => {
    await richTable();
    const a = words(args);
    const o = nfct(["-L", ...a]);
    const t = conntrack(["-L", ...a]);
    assert.equal(o.code, 0, o.stderr);
    assert.equal(t.code, 0, t.stderr);
    const ours = sorted(o.stdout), theirs = sorted(t.stdout);
    assert.ok(theirs.length > 0, "conntrack listed something");
    assert.deepEqual(ours, theirs);
    assert.deepEqual(messages(o.stderr), messages(t.stderr));
  });
}

test(
  "timestamps off (nfct -L then makes its lines straight from the kernel's bytes): -L, -o extended, -o id, -o extended,id print conntrack's lines",
  T,
  async () => {
    tableChanged();
    try {
      await freshTable(false);
      const all = listed();
      assert.ok(!all.some((f) => f.timestamp), "no timestamps");
      assert.ok(all.some((f) => f.counters && f.counters.orig.bytes > 0), "counters");
      for (const args of ["", "-o extended", "-o id", "-o extended,id"]) {
        const a = words(args);
        const o = nfct(["-L", ...a]);
        const t = conntrack(["-L", ...a]);
        assert.equal(o.code, 0, o.stderr);
        const ours = sorted(o.stdout), theirs = sorted(t.stdout);
        assert.ok(theirs.length > 700, `conntrack -L ${args} listed ${theirs.length}`);
        assert.deepEqual(ours, theirs, `-L ${args}`);
        assert.deepEqual(messages(o.stderr), messages(t.stderr));
      }
    } finally {
      sh("sysctl -qw net.netfilter.nf_conntrack_timestamp=1");
    }
  },
);
