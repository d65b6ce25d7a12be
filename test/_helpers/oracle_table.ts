/**
 * The oracle tests' table (oracle_test.ts, oracle_filter_test.ts): thousands of flows of every
 * protocol, zones, marks, labels (set by update), and real traffic over lo (counters, timestamps,
 * and a flow an nft rule labels); in this process's throwaway network namespace.
 * @module
 */
import assert from "node:assert/strict";
import { Conntrack, type Flow, TCP_STATES } from "../../mod.ts";
import { MARKS, SCTP_STATES } from "./filter_property_table.ts";
import { sh, trackLoopback } from "./netns.ts";
import { loopbackTraffic, type Traffic } from "./traffic.ts";

const N_PER_KIND = 400;
/** Outcomes of the creates that failed, by protocol and errno code. */
const kinds: Record<string, number> = {};

function v4(i: number, net = 10): string {
  return `${net}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}
function v6(i: number, pfx = "fd00"): string {
  return `${pfx}::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
}

const STATUSES: Flow["status"][] = [[], ["ASSURED"], ["SEEN_REPLY"], ["SEEN_REPLY", "ASSURED"], [
  "FIXED_TIMEOUT",
], ["SEEN_REPLY", "ASSURED", "FIXED_TIMEOUT"]];

/** Flows of every kind for bulk creation. Index `i` varies addresses, ports, marks, zones, timeouts. */
function* bulkFlows(): Generator<Partial<Flow> & Pick<Flow, "proto">> {
  for (let i = 0; i < N_PER_KIND; i++) {
    const fam6 = i % 2 === 1;
    const a = (n: number) => (fam6 ? v6(i * 16 + n) : v4(i * 16 + n));
    const common = {
      timeout: 600 + (i % 500),
      mark: MARKS[i % MARKS.length],
      status: STATUSES[i % STATUSES.length],
    };
    // A zone on some, a per-direction zone on others.
    const zoned = i % 5 === 0 ? { zone: 7 } : i % 5 === 1 ? { zone: 65535 } : {};
    // (A zone and a tuple zone together are refused with EINVAL.)
    const oz = i % 7 === 3 && !("zone" in zoned) ? 3 : undefined,
      rz = i % 7 === 4 && !("zone" in zoned) ? 4 : undefined;
    const tup = (o: object) => ({
      src: a(1),
      dst: a(2),
      ...o,
      ...(oz !== undefined ? { zone: oz } : {}),
    });
    const reply = (o: object) => ({
      src: a(2),
      dst: a(1),
      ...o,
      ...(rz !== undefined ? { zone: rz } : {}),
    });
    yield {
      proto: "tcp",
      ...common,
      ...zoned,
      orig: tup({ sport: 1024 + i, dport: [80, 443, 22][i % 3] }),
      reply: reply({ sport: [80, 443, 22][i % 3], dport: 1024 + i }),
      tcp: { state: TCP_STATES[i % TCP_STATES.length] },
    };
    yield {
      proto: "udp",
      ...common,
      ...zoned,
      orig: tup({ sport: 2000 + i, dport: 53 }),
      // With an orig zone, let create() invert the reply (it must not copy the zone).
      ...(oz === undefined ? { reply: reply({ sport: 53, dport: 2000 + i }) } : {}),
    };
    yield {
      proto: "udplite",
      ...common,
      orig: tup({ sport: 3000 + i, dport: 5004 }),
      reply: reply({ sport: 5004, dport: 3000 + i }),
    };
    yield {
      proto: "sctp",
      ...common,
      ...zoned,
      orig: tup({ sport: 4000 + i, dport: 36412 }),
      reply: reply({ sport: 36412, dport: 4000 + i }),
      sctp: {
        state: SCTP_STATES[i % SCTP_STATES.length],
        vtagOrig: 0x1000 + i,
        vtagReply: 0xfffff000 + i,
      },
    };
    yield {
      proto: fam6 ? "icmpv6" : "icmp",
      ...common,
      orig: tup({ type: fam6 ? 128 : [8, 13, 15, 17][i % 4], code: 0, id: i }),
      reply: reply({ type: fam6 ? 129 : [0, 14, 16, 18][i % 4], code: 0, id: i }),
    };
    yield {
      proto: "gre",
      ...common,
      orig: tup({ srcKey: i, dstKey: 0xffff - i }),
      reply: reply({ srcKey: 0xffff - i, dstKey: i }),
    };
    yield { proto: [99, 253][i % 2], ...common, orig: tup({}), reply: reply({}) };
    yield {
      proto: "dccp",
      ...common,
      orig: tup({ sport: 5000 + i, dport: 6000 }),
      reply: reply({ sport: 6000, dport: 5000 + i }),
    };
  }
  // Address forms inet_ntop shortens in different ways.
  const odd6 = [
    "::1",
    "::",
    "::ffff:1.2.3.4",
    "::1.2.3.4",
    "2001:db8::",
    "2001:db8:0:1:0:0:0:1",
    "fe80::1:0:0:1",
    "1:0:0:2:0:0:0:3",
    "1:2:3:4:5:6:7:8",
    "0:0:1::",
  ];
  for (const [k, s] of odd6.entries()) {
    yield {
      proto: "udp",
      timeout: 900,
      orig: { src: s, dst: "2001:db8::99", sport: 7000 + k, dport: 7 },
    };
  }
}

let ct: Conntrack | undefined;
let traffic: Traffic | undefined;
let built: Promise<Conntrack> | undefined;

/**
 * The table every test here reads, made on first use: thousands of flows of every protocol,
 * zones, marks, labels (set by update), and real traffic over lo (counters, timestamps, and a
 * flow the nft rule labels). A rule that sets a label, so the namespace has connlabel storage
 * (creating and updating labels needs it).
 */
export function table(): Promise<Conntrack> {
  built ??= fill().catch((e) => {
    built = undefined;
    throw e;
  });
  return built;
}

async function fill(): Promise<Conntrack> {
  await traffic?.close();
  ct ??= Conntrack.open();
  sh("nft delete table inet nfct_oracle 2>/dev/null || true"); // when made again
  trackLoopback("nfct_oracle", { acct: 1, timestamp: 1 }, ["udp dport 9999 ct label set 100"]);
  ct.flushAll();
  const res = ct.createMany([...bulkFlows()]);
  for (const f of res.failed) {
    const p = String(f.flow.proto);
    kinds[`failed ${p} ${f.error.code}`] = (kinds[`failed ${p} ${f.error.code}`] ?? 0) + 1;
  }
  // DCCP: this kernel may track it generically (no ports), so all but one per address pair clash.
  const unexpected = res.failed.filter((f) => f.flow.proto !== "dccp");
  assert.deepEqual(
    unexpected.map((f) => `${f.flow.proto} ${f.error.code} ${f.error.kernelMessage ?? ""}`),
    [],
  );
  // Labels through update: various bit sets, on several protocols.
  const labelSets = [[0], [1, 3], [5], [64, 100], [0, 1, 3, 5, 64, 100, 126, 127], [127], [5, 6]];
  let n = 0;
  for (const f of ct.list()) {
    if (f.zone !== undefined || f.orig.zone !== undefined || f.reply.zone !== undefined) continue;
    if (n % 3 === 0) {
      ct.update({
        family: f.family,
        proto: f.proto,
        orig: f.orig,
        reply: f.reply,
        labels: labelSets[(n / 3) % labelSets.length],
      });
    }
    if (++n > 300) break;
  }
  // TCP and UDP on both families (a connection left open: ESTABLISHED and ASSURED), and one
  // datagram to the labelled port (nobody listens on 9999).
  traffic = await loopbackTraffic({ closed: 3, openBytes: 1000, unansweredPort: 9999 });
  return ct;
}

/** Says the table is no longer {@link table}'s (a test deleted from it). */
export const tableChanged = (): void => {
  built = undefined;
};

/** Closes the traffic, empties the table and undoes the settings {@link table} made. */
export async function removeTable(): Promise<void> {
  await traffic?.close();
  ct?.flushAll();
  ct?.close();
  sh("nft delete table inet nfct_oracle 2>/dev/null || true");
  sh("sysctl -qw net.netfilter.nf_conntrack_acct=0 net.netfilter.nf_conntrack_timestamp=0");
  if (Object.keys(kinds).length) console.log("create outcomes:", kinds);
  // (bun test may run the next file with this module as it is)
  [ct, traffic, built] = [undefined, undefined, undefined];
  for (const k of Object.keys(kinds)) delete kinds[k];
}
