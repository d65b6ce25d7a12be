/**
 * The rich table the CLI listing tests read (cli_list_test.ts, cli_restore_test.ts): every
 * protocol, IPv4 and IPv6, zones, marks, counters and timestamps, and real traffic over lo; in
 * this process's throwaway network namespace, made on first use.
 * @module
 */
import assert from "node:assert/strict";
import { after } from "node:test";
import { Conntrack, type Filter, type Flow } from "../../mod.ts";
import { sh, trackLoopback } from "./netns.ts";
import { labelConf } from "./label_conf.ts";
import { type Ran, runConntrack as conntrack, runNfct } from "./run.ts";
import { loopbackTraffic, type Traffic } from "./traffic.ts";

/** nfct and conntrack(8) for a test file on the rich table. */
export interface RichTableCli {
  /** A temporary directory (with the connlabel.conf nfct reads). */
  dir: string;
  nfct(args: string[], input?: string): Ran;
  conntrack(args: string[], input?: string): Ran;
}

/**
 * For a test file on the rich table: nfct (with label names) and conntrack; after the file's
 * tests the table and the directory are removed.
 */
export function onRichTable(prefix: string): RichTableCli {
  const conf = labelConf(prefix);
  after(async () => {
    await removeRichTable();
    conf.remove();
  });
  return {
    dir: conf.dir,
    nfct: (args, input) => runNfct(args, { input, env: conf.env }),
    conntrack: (args, input) => conntrack(args, { input, env: conf.env }),
  };
}

/** The table through the library (a client opened and closed per call). */
export function listed(filter?: Filter): Flow[] {
  using ct = Conntrack.open();
  return ct.list(filter);
}

let traffic: Traffic | undefined;
let rich: Promise<void> | undefined;
let tracking = false;

/** Closes the connection the last traffic left open, and waits until it is closed. */
export async function closeTraffic(): Promise<void> {
  await traffic?.close();
  traffic = undefined;
}

/**
 * This namespace's table made anew: lo tracked with counters and timestamps (`timestamps`:
 * nf_conntrack_timestamp), {@link fill}'s entries, and real traffic over lo.
 */
export async function freshTable(timestamps: boolean): Promise<void> {
  if (!tracking) trackLoopback("nfct_cli_lo", { acct: 1 });
  tracking = true;
  sh(`sysctl -qw net.netfilter.nf_conntrack_timestamp=${timestamps ? 1 : 0}`);
  await closeTraffic();
  conntrack(["-F"]);
  fill();
  traffic = await loopbackTraffic();
}

/**
 * The rich table (every protocol, zones, marks, counters and timestamps) that the listing tests
 * read: made on first use, and again after a test changed the table ({@link tableChanged}).
 */
export function richTable(): Promise<void> {
  rich ??= freshTable(true).catch((e) => {
    rich = undefined;
    throw e;
  });
  return rich;
}
/** Says the table is no longer {@link richTable}'s (a test flushed it or made another one). */
export const tableChanged = (): void => {
  rich = undefined;
};

/** Closes the traffic, empties the table and undoes the settings {@link freshTable} made. */
async function removeRichTable(): Promise<void> {
  await closeTraffic();
  conntrack(["-F"]);
  if (tracking) sh("nft delete table inet nfct_cli_lo");
  sh("sysctl -qw net.netfilter.nf_conntrack_acct=0 net.netfilter.nf_conntrack_timestamp=0");
  tracking = false; // (bun test may run the next file with this module as it is)
  rich = undefined;
}

/** 750 entries: TCP, UDP, ICMP/ICMPv6, SCTP and GRE, half IPv6, with marks and zones. */
function fill(): void {
  const flows: (Partial<Flow> & Pick<Flow, "proto">)[] = [];
  for (let i = 0; i < 150; i++) {
    const six = i % 2 === 1;
    const a = (
      n: number,
    ) => (six ? `fd00::${(i * 4 + n).toString(16)}` : `10.${(i >> 8) & 255}.${i & 255}.${n}`);
    const common = {
      timeout: 600 + i,
      mark: [0, 1, 5, 0x10, 0xdeadbeef][i % 5],
      ...(i % 4 === 0 ? { zone: 7 } : {}),
    };
    const tz = i % 4 === 1 ? { zone: 3 } : {};
    flows.push({
      proto: "tcp",
      ...common,
      orig: { src: a(1), dst: a(2), sport: 1024 + i, dport: 443, ...tz },
      tcp: { state: (["ESTABLISHED", "SYN_SENT", "TIME_WAIT"] as const)[i % 3] },
      status: i % 3 ? [] : ["ASSURED", "SEEN_REPLY"],
    });
    flows.push({
      proto: "udp",
      ...common,
      orig: { src: a(1), dst: a(2), sport: 2000 + i, dport: 53, ...tz },
    });
    flows.push({
      proto: six ? "icmpv6" : "icmp",
      ...common,
      orig: { src: a(1), dst: a(2), type: six ? 128 : 8, code: 0, id: i },
    });
    flows.push({
      proto: "sctp",
      ...common,
      orig: { src: a(1), dst: a(2), sport: 3000 + i, dport: 36412 },
      sctp: { state: "ESTABLISHED", vtagOrig: 0x100 + i, vtagReply: 0x200 + i },
    });
    flows.push({
      proto: "gre",
      ...common,
      orig: { src: a(1), dst: a(2), srcKey: i, dstKey: 1000 + i },
    });
  }
  using ct = Conntrack.open();
  const r = ct.createMany(flows);
  assert.equal(r.failed.length, 0, r.failed[0]?.error.message);
}
