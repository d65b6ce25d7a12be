/**
 * Captures real ctnetlink replies from the kernel into `test/fixtures/real_dump_*.hex`, for the
 * scripted-transport and fuzz unit tests. Refuses to run in the host's network namespace:
 *
 *   unshare -n -- ./node_modules/.bin/deno run -A scripts/capture_real_dump.ts
 *   unshare -n -- ./node_modules/.bin/bun scripts/capture_real_dump.ts
 *
 * It creates flows with nfct's own client in the fresh namespace's empty table (accounting and
 * timestamps switched on), then records every datagram a recording {@link Transport} wrapped
 * around {@link LibcTransport} receives. The recorder lends the kernel at most 8 KiB per
 * recvfrom(), so the kernel sizes dump datagrams to 8 KiB and a dump of 60 flows spans several.
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { Conntrack } from "../conntrack/client.ts";
import * as C from "../conntrack/constants.ts";
import { encodeFlow } from "../conntrack/flow_encode.ts";
import { validateFlow } from "../conntrack/flow_validate.ts";
import { writeNfgenmsg } from "../conntrack/nfnl.ts";
import { MessageBuilder } from "../netlink/attribute.ts";
import { NETLINK_NETFILTER, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST } from "../netlink/message.ts";
import { NetlinkSocket } from "../netlink/socket.ts";
import { LibcTransport, type Transport } from "../netlink/transport.ts";
import { assertThrowawayNetns } from "../netlink/netns.ts";

assertThrowawayNetns("create flows to capture");

// A fresh namespace has nothing but `lo` (/proc/1/ns/net is not always readable, so do not rely on it).
const ifaces = readFileSync("/proc/self/net/dev", "utf8").split("\n").slice(2)
  .map((l) => l.split(":")[0].trim()).filter((s) => s !== "");
if (ifaces.join() !== "lo") {
  console.error(
    `Refusing to capture in a namespace with interfaces ${
      ifaces.join(", ")
    }: run under \`unshare -n --\``,
  );
  process.exit(1);
}
writeFileSync("/proc/sys/net/netfilter/nf_conntrack_acct", "1");
writeFileSync("/proc/sys/net/netfilter/nf_conntrack_timestamp", "1");

const LEND = 8192;
let phase = "";
const captured = new Map<string, Uint8Array[]>();

/** Passes everything through to the real socket and keeps a copy of each received datagram. */
class RecordingTransport implements Transport {
  #inner: LibcTransport;
  constructor() {
    this.#inner = new LibcTransport(NETLINK_NETFILTER, { receiveBufferSize: 1 << 20 });
  }
  get portId(): number {
    return this.#inner.portId;
  }
  send(buf: Uint8Array): void {
    this.#inner.send(buf);
  }
  recv(buf: Uint8Array, wait: boolean): number {
    const n = this.#inner.recv(buf.subarray(0, Math.min(buf.length, LEND)), wait);
    if (n > 0 && phase) {
      const list = captured.get(phase) ?? [];
      list.push(buf.slice(0, Math.min(n, LEND)));
      captured.set(phase, list);
    }
    return n;
  }
  receiveBufferSize(): number {
    return this.#inner.receiveBufferSize();
  }
  close(): void {
    this.#inner.close();
  }
}

const ct = Conntrack.open({ transport: () => new RecordingTransport() });

// A mix of protocols and attributes, then enough UDP flows that a dump spans several datagrams.
ct.create({
  proto: "tcp",
  orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443 },
  timeout: 300,
  mark: 0x2a,
  status: ["SEEN_REPLY", "ASSURED"],
  tcp: { state: "ESTABLISHED", wscaleOrig: 7, wscaleReply: 7 },
});
ct.create({
  proto: "icmp",
  orig: { src: "10.0.0.1", dst: "10.0.0.3", type: 8, code: 0, id: 77 },
  timeout: 30,
});
ct.create({
  proto: "tcp",
  orig: { src: "fd00::1", dst: "fd00::2", sport: 50000, dport: 22 },
  timeout: 120,
});
ct.create({
  proto: "udp",
  orig: { src: "fd00::1", dst: "2001:db8::53", sport: 5353, dport: 53 },
  timeout: 60,
  zone: 7,
});
ct.create({
  proto: "icmpv6",
  orig: { src: "fd00::1", dst: "fd00::2", type: 128, code: 0, id: 9 },
  timeout: 30,
});
ct.create({
  proto: "gre",
  orig: { src: "10.1.0.1", dst: "10.1.0.2", srcKey: 1, dstKey: 2 },
  timeout: 90,
});
ct.create({
  proto: "sctp",
  orig: { src: "10.2.0.1", dst: "10.2.0.2", sport: 3868, dport: 3868 },
  timeout: 90,
});
const many = [];
for (let i = 0; i < 53; i++) {
  many.push({
    proto: "udp" as const,
    orig: { src: "192.168.1.1", dst: "192.168.2.1", sport: 10000 + i, dport: 53 },
    timeout: 100,
  });
}
console.log("createMany:", ct.createMany(many).created);

phase = "flows";
const flows = ct.list();
console.log("dumped", flows.length, "flows in", captured.get("flows")?.length, "datagrams");

phase = "get";
ct.get({ proto: "tcp", orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443 } });

phase = "stats_cpu";
ct.stats();
phase = "stats_global";
ct.globalStats();

// Three deletes in one datagram, each with NLM_F_ACK (so successes are answered too).
phase = "batch";
{
  const sock = new NetlinkSocket(() => new RecordingTransport());
  const b = new MessageBuilder();
  const first = sock.nextSeq(3);
  [10000, 9999, 10001].forEach((sport, i) => {
    const at = b.begin(
      (C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_DELETE,
      NLM_F_REQUEST | NLM_F_ACK,
      first + i,
    );
    writeNfgenmsg(b, C.AF_INET);
    const key = {
      proto: "udp" as const,
      orig: { src: "192.168.1.1", dst: "192.168.2.1", sport, dport: 53 },
    };
    encodeFlow(b, validateFlow(key, "key"), "key");
    b.end(at);
  });
  sock.send(b.bytes());
  const errnos: number[] = [];
  sock.drainBatch({
    first,
    count: 3,
    op: "Cannot delete flows",
    onOutcome: (o) => errnos.push(o.errno),
  });
  console.log("batch of deletes:", errnos.join(", "));
  sock.close();
}

phase = "error_eexist";
try {
  ct.create({
    proto: "icmp",
    orig: { src: "10.0.0.1", dst: "10.0.0.3", type: 8, code: 0, id: 77 },
    timeout: 30,
  });
} catch (e) {
  console.log(String(e));
}
phase = "error_enoent";
try {
  ct.delete({
    proto: "udp",
    orig: { src: "192.168.1.1", dst: "192.168.2.1", sport: 1, dport: 53 },
  });
} catch (e) {
  console.log(String(e));
}

// A request the kernel's attribute policy refuses (CTA_TIMEOUT of 2 bytes, not 4): the reply is
// an extended ACK with a message and the offset of the bad attribute.
phase = "error_extack";
{
  const sock = new NetlinkSocket(() => new RecordingTransport());
  const b = new MessageBuilder();
  const seq = sock.nextSeq();
  const at = b.begin(
    (C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_NEW,
    NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE,
    seq,
  );
  writeNfgenmsg(b, C.AF_INET);
  b.u16(C.CTA_TIMEOUT, 5);
  b.end(at);
  sock.send(b.bytes());
  try {
    for (const _ of sock.replies(seq, "Cannot create flow", false));
  } catch (e) {
    console.log(String(e));
  }
  sock.close();
}
phase = "";
ct.close();

const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
const what: Record<string, string> = {
  flows:
    "ct.list() of 60 flows (tcp/icmp/tcp6/udp6 zone 7/icmpv6/gre/sctp + 53 udp), acct and timestamps on: a multipart dump ended by NLMSG_DONE",
  get:
    "ct.get() of the tcp 10.0.0.1:40000 -> 10.0.0.2:443 flow: the IPCTNL_MSG_CT_NEW reply, then its ACK",
  stats_cpu:
    "ct.stats(): IPCTNL_MSG_CT_GET_STATS_CPU dump, one message per CPU, ended by NLMSG_DONE",
  stats_global: "ct.globalStats(): the IPCTNL_MSG_CT_GET_STATS reply, then its ACK",
  batch:
    "3 IPCTNL_MSG_CT_DELETE with NLM_F_ACK in one datagram (1st and 3rd flows exist, 2nd does not): ACK, ENOENT, ACK",
  error_eexist: "ct.create() of an existing icmp flow: NLMSG_ERROR EEXIST (capped ACK)",
  error_enoent: "ct.delete() of a missing udp flow: NLMSG_ERROR ENOENT (capped ACK)",
  error_extack:
    "IPCTNL_MSG_CT_NEW with a 2-byte CTA_TIMEOUT: NLMSG_ERROR ERANGE with extended-ACK message, offset and policy",
};
for (const [name, grams] of captured) {
  const lines = [
    `# ${what[name] ?? name}`,
    `# Captured from the kernel (Linux ${kernel}) by scripts/capture_real_dump.ts on ${runtime}, run under`,
    "# `unshare -n`: a recording Transport around LibcTransport kept each datagram recvfrom() returned",
    "# (the kernel was lent 8 KiB per recvfrom). One datagram per line, hex; nlmsg_seq values are the",
    "# capture's own, tests rewrite them to their request's.",
    ...grams.map((g) => Array.from(g, (x) => x.toString(16).padStart(2, "0")).join("")),
  ];
  const path = new URL(`../test/fixtures/real_dump_${name}.hex`, import.meta.url);
  writeFileSync(path, lines.join("\n") + "\n");
  console.log(
    `wrote ${path.pathname}: ${grams.length} datagrams, ${
      grams.reduce((s, g) => s + g.length, 0)
    } bytes`,
  );
}
