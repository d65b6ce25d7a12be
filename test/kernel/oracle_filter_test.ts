/**
 * conntrack(8) as the oracle for filters: `ct.dump(filter)` lists what `conntrack -L` with the
 * same options lists, `ct.count()` equals `conntrack -C`, and `flush()` deletes what conntrack
 * lists; on the table of oracle_table.ts (thousands of entries of every protocol) in a throwaway
 * network namespace.
 * @module
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { Filter } from "../../mod.ts";
import { assertThrowawayNetns, conntrackCli } from "../_helpers/netns.ts";
import { compare, lines } from "../_helpers/oracle_lines.ts";
import { removeTable, table, tableChanged } from "../_helpers/oracle_table.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };
after(removeTable);

// Filters: the same question to nfct's Filter and to conntrack's options.
const FILTERS: [string, Filter, string[]][] = [
  ["-p udp", { proto: "udp" }, ["-p", "udp"]],
  ["-p tcp --dport 443", { proto: "tcp", dport: 443 }, ["-p", "tcp", "--dport", "443"]],
  ["-p udp --sport 2010", { proto: "udp", sport: 2010 }, ["-p", "udp", "--sport", "2010"]],
  ["-s 10.0.0.17", { src: "10.0.0.17" }, ["-s", "10.0.0.17"]],
  ["-s 10.0.1.0/24", { src: "10.0.1.0/24" }, ["-s", "10.0.1.0/24"]],
  ["-d fd00::1:12", { dst: "fd00::1:12" }, ["-d", "fd00::1:12"]],
  ["-r 10.0.0.34", { reply: { src: "10.0.0.34" } }, ["-r", "10.0.0.34"]],
  ["-m 5", { mark: 5 }, ["-m", "5"]],
  ["-m 0x10/0x10", { mark: { value: 0x10, mask: 0x10 } }, ["-m", "0x10/0x10"]],
  ["-m 5/0xff", { mark: { value: 5, mask: 0xff } }, ["-m", "5/0xff"]],
  ["-m 0/0x80000000", { mark: { value: 0, mask: 0x80000000 } }, ["-m", "0/0x80000000"]],
  ["-m 0x15/0x10 (value outside the mask)", { mark: { value: 0x15, mask: 0x10 } }, [
    "-m",
    "0x15/0x10",
  ]],
  ["-w 7", { zone: 7 }, ["-w", "7"]],
  ["-w 65535", { zone: 65535 }, ["-w", "65535"]],
  ["-w 0", { zone: 0 }, ["-w", "0"]],
  ["--reply-zone 4", { reply: { zone: 4 } }, ["--reply-zone", "4"]],
  ["--reply-zone 0", { reply: { zone: 0 } }, ["--reply-zone", "0"]],
  ["-w 7 -p udp", { zone: 7, proto: "udp" }, ["-w", "7", "-p", "udp"]],
  ["-f ipv6", { family: "ipv6" }, ["-f", "ipv6"]],
  ["-f ipv4 -p gre", { family: "ipv4", proto: "gre" }, ["-f", "ipv4", "-p", "gre"]],
  ["-p 99", { proto: 99 }, ["-p", "99"]],
  ["-u ASSURED", { status: ["ASSURED"] }, ["-u", "ASSURED"]],
  ["-u SEEN_REPLY,ASSURED", { status: ["SEEN_REPLY", "ASSURED"] }, ["-u", "SEEN_REPLY,ASSURED"]],
  ["-p tcp --state ESTABLISHED", { proto: "tcp", state: "ESTABLISHED" }, [
    "-p",
    "tcp",
    "--state",
    "ESTABLISHED",
  ]],
  ["-p tcp --state TIME_WAIT", { proto: "tcp", state: "TIME_WAIT" }, [
    "-p",
    "tcp",
    "--state",
    "TIME_WAIT",
  ]],
  ["-p sctp --state COOKIE_WAIT", { proto: "sctp", state: "COOKIE_WAIT" }, [
    "-p",
    "sctp",
    "--state",
    "COOKIE_WAIT",
  ]],
];

for (const [name, filter, args] of FILTERS) {
  test(`dump(${JSON.stringify(filter)}) lists what \`conntrack -L ${name}\` lists`, T, async () => {
    const ct = await table();
    compare(
      ct,
      filter,
      args,
      { extended: true, id: true },
      ["-o", "extended,id"],
      `conntrack -L ${name}`,
    );
  });
}

test("count() equals `conntrack -C`", T, async () => {
  const ct = await table();
  assert.equal(ct.count(), Number(conntrackCli(["-C"]).trim()));
});

test(
  'flush({ proto: "dccp" }) deletes the DCCP entries conntrack lists, even portless ones',
  T,
  async () => {
    const ct = await table();
    const listed = lines(conntrackCli(["-L", "-p", "dccp"])).length;
    assert.ok(listed > 0);
    assert.deepEqual(ct.flush({ proto: "dccp" }, { via: "dump" }), {
      via: "dump",
      deleted: listed,
    });
    tableChanged();
    assert.equal(lines(conntrackCli(["-L", "-p", "dccp"])).length, 0);
  },
);
