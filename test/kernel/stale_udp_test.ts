/**
 * examples/flush_stale_udp.ts end to end, with real packets: the netavark case, once with an
 * IPv4 container and once with an IPv6 one, each among unrelated flows of both families.
 *
 * Inside the test's own throwaway namespace ("host") two more namespaces are made with
 * `ip netns add` (private names, deleted at the end): a client and a "container", each joined
 * to the host by a dual-stack veth pair (client 10.99.0.2 / fd99::2, host 10.99.0.1 / fd99::1;
 * container 10.88.0.5 / fd88::5, host 10.88.0.1 / fd88::1). The host forwards, has an (empty)
 * NAT prerouting chain and a rule matching on `ct state`, so conntrack tracks everything.
 *
 * 1. The client sends a UDP datagram from port 40000 to host:8080 before the container is up:
 *    the host has no DNAT rule yet, so an entry without NAT is made (the stale one).
 * 2. The container starts listening on port 80 and the DNAT rule host:8080 → it is added.
 * 3. The client sends again from port 40000: the datagram follows the stale entry, not the rule,
 *    and does not arrive; one from port 40002 is NATed and arrives (an entry whose reply comes
 *    from the container: stale too once the container restarts, so the example deletes it).
 * 4. Unrelated flows, all of which must survive: real datagrams of both families to another
 *    port, to the same port in the other family, and entries made with `create()`: the same
 *    port on other addresses, TCP on the same address and port, addresses that share a prefix
 *    with the container's, the other family's container address.
 * 5. flush_stale_udp.ts <container> <host-ip>:8080: the table afterwards is exactly the table
 *    before minus the two stale entries (full tuples compared), and it printed exactly those.
 * 6. The next datagram from port 40000 is NATed and arrives.
 *
 * Exact IPv6 addresses must be matched in userspace: Linux's ctnetlink_filter_match_tuple()
 * compares IPv6 addresses inverted, so a kernel-side filter by fd88::5 keeps that entry and
 * deletes every other IPv6 one. The IPv6 run is the test for that.
 * @module
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import process from "node:process";
import { test } from "node:test";
import { Conntrack, type Flow } from "../../mod.ts";
import { assertThrowawayNetns, sh } from "../_helpers/netns.ts";
import { waitFor } from "../_helpers/wait.ts";
import { ROOT, RUN_TS } from "../_helpers/run.ts";

assertThrowawayNetns();

const CLIENT = `nfct-client-${process.pid}`, CTR = `nfct-ctr-${process.pid}`;
const PY = "python3";

/** One family's addresses in the test network. */
interface Net {
  family: "ipv4" | "ipv6";
  /** Python's socket family. */
  af: "AF_INET" | "AF_INET6";
  client: string;
  host: string;
  ctr: string;
  /** How nft writes a DNAT target of this family: `ip to 10.88.0.5:80`, `ip6 to [fd88::5]:80`. */
  dnat: string;
  /** `ADDR:PORT` as flush_stale_udp.ts takes it. */
  hostPort: string;
}
const V4: Net = {
  family: "ipv4",
  af: "AF_INET",
  client: "10.99.0.2",
  host: "10.99.0.1",
  ctr: "10.88.0.5",
  dnat: "ip daddr 10.99.0.1 udp dport 8080 dnat ip to 10.88.0.5:80",
  hostPort: "10.99.0.1:8080",
};
const V6: Net = {
  family: "ipv6",
  af: "AF_INET6",
  client: "fd99::2",
  host: "fd99::1",
  ctr: "fd88::5",
  dnat: "ip6 daddr fd99::1 udp dport 8080 dnat ip6 to [fd88::5]:80",
  hostPort: "[fd99::1]:8080",
};

const receiverCode = (n: Net) => `
import socket
s = socket.socket(socket.${n.af}, socket.SOCK_DGRAM)
s.bind(("${n.ctr}", 80))
print("ready", flush=True)
while True:
    d, a = s.recvfrom(2048)
    print(d.decode(), flush=True)
`;

/** One datagram from the client's port `sport` to the host's `dport`. */
function send(n: Net, text: string, sport = 40000, dport = 8080): void {
  const code = `import socket
s = socket.socket(socket.${n.af}, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("${n.client}", ${sport}))
s.sendto(b"${text}", ("${n.host}", ${dport}))`;
  const r = spawnSync("ip", ["netns", "exec", CLIENT, PY, "-c", code], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

function setup(): void {
  sh(`ip link set lo up
ip netns add ${CLIENT}
ip netns add ${CTR}
ip link add nfct-hc type veth peer name eth0 netns ${CLIENT}
ip link add nfct-hk type veth peer name eth0 netns ${CTR}
ip addr add 10.99.0.1/24 dev nfct-hc && ip -6 addr add fd99::1/64 dev nfct-hc nodad && ip link set nfct-hc up
ip addr add 10.88.0.1/24 dev nfct-hk && ip -6 addr add fd88::1/64 dev nfct-hk nodad && ip link set nfct-hk up
ip -n ${CLIENT} addr add 10.99.0.2/24 dev eth0 && ip -n ${CLIENT} -6 addr add fd99::2/64 dev eth0 nodad
ip -n ${CLIENT} link set eth0 up && ip -n ${CLIENT} link set lo up
ip -n ${CTR} addr add 10.88.0.5/24 dev eth0 && ip -n ${CTR} -6 addr add fd88::5/64 dev eth0 nodad
ip -n ${CTR} link set eth0 up && ip -n ${CTR} link set lo up
ip -n ${CTR} route add default via 10.88.0.1 && ip -n ${CTR} -6 route add default via fd88::1
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
nft -f - <<'EOF'
table inet nfct_stale {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
  }
  chain track {
    type filter hook prerouting priority filter; policy accept;
    ct state new counter
  }
}
EOF`);
}

function teardown(): void {
  for (
    const cmd of [
      `ip netns del ${CLIENT}`,
      `ip netns del ${CTR}`,
      "nft delete table inet nfct_stale",
      "ip link del nfct-hc",
      "ip link del nfct-hk",
    ]
  ) {
    spawnSync("sh", ["-c", cmd], { stdio: "ignore" });
  }
}

/** A flow's identity, both directions in full, and its id. */
const key = (f: Flow) =>
  `${f.family} ${f.proto} zone=${
    f.zone ?? 0
  } orig ${f.orig.src} ${f.orig.dst} ${f.orig.sport} ${f.orig.dport} ` +
  `reply ${f.reply.src} ${f.reply.dst} ${f.reply.sport} ${f.reply.dport} id=${f.id}`;
const table = (ct: Conntrack) => ct.list().map(key).sort();

/** Polls `cond` every 20 ms for up to 30 s (IPv6 neighbour discovery takes seconds under load); true once it held. */
const until = (cond: () => boolean): Promise<boolean> =>
  waitFor(cond, "a condition", 30000).then(() => true, () => false);

/** Entries made with create(), unrelated to the container: none of them may go. */
function createUnrelated(ct: Conntrack): void {
  const udp = (src: string, dst: string, sport: number, dport: number) => ({
    proto: "udp" as const,
    timeout: 300,
    orig: { src, dst, sport, dport },
  });
  const tcp = (src: string, dst: string, sport: number, dport: number) => ({
    ...udp(src, dst, sport, dport),
    proto: "tcp" as const,
    tcp: { state: "ESTABLISHED" as const },
  });
  for (
    const f of [
      // the same port on other addresses, both families
      udp("10.99.0.2", "192.0.2.77", 40000, 8080),
      udp("fd99::2", "2001:db8::77", 40000, 8080),
      // another protocol on the published address and port
      tcp("10.99.0.2", "10.99.0.1", 40000, 8080),
      tcp("fd99::2", "fd99::1", 40000, 8080),
      // addresses that share a prefix with the containers'
      udp("10.88.0.50", "10.99.0.2", 5000, 53),
      udp("fd88::50", "fd99::2", 5000, 53),
      udp("10.99.0.2", "10.88.0.55", 5001, 80),
      udp("fd99::2", "fd88::55", 5001, 80),
    ]
  ) ct.create(f);
}

/** The netavark case for a container of family `n.family`; `other` is the other family. */
async function netavark(n: Net, other: Net): Promise<void> {
  let receiver: ChildProcess | undefined;
  try {
    setup();
    using ct = Conntrack.open();
    ct.flushAll();
    const stale = (sport: number) =>
      ct.list({ family: n.family, proto: "udp", sport, dport: 8080 });

    // 1. Before the container is up: an entry without NAT.
    send(n, "early");
    assert.ok(await until(() => stale(40000).length === 1), "the first datagram made an entry"); // ND/ARP, link up
    assert.equal(stale(40000)[0].reply.src, n.host, "not NATed");

    // 2. The container listens; the DNAT rule is added.
    const got: string[] = [];
    receiver = spawn("ip", ["netns", "exec", CTR, PY, "-u", "-c", receiverCode(n)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    let buf = "";
    receiver.stdout!.on("data", (d: Uint8Array) => {
      buf += new TextDecoder().decode(d);
      let nl;
      while ((nl = buf.indexOf("\n")) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === "ready") ready();
        else got.push(line);
      }
    });
    await isReady;
    sh(`nft add rule inet nfct_stale pre ${n.dnat}`);

    // 3. The same flow again follows the stale entry and never reaches the container; a new
    //    flow (port 40002) is NATed and does.
    send(n, "blocked");
    send(n, "nat", 40002);
    assert.ok(
      await until(() => got.includes("nat")),
      `the NATed datagram arrives (got ${got.join(", ")})`,
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(got, ["nat"], "the datagram on the stale entry must not arrive");
    assert.equal(stale(40002)[0]?.reply.src, n.ctr, "NATed to the container");

    // 4. Unrelated flows: real datagrams of both families (another port; the same port in the
    //    other family, which has no DNAT rule), and created entries.
    send(n, "other-port", 40000, 9999);
    send(other, "other-port", 40000, 9999);
    send(other, "other-family", 40000, 8080);
    createUnrelated(ct);
    const realOnes = (f: Flow) =>
      (f.orig.src === n.client && f.orig.dst === n.host) ||
      (f.orig.src === other.client && f.orig.dst === other.host);
    // (Matched here, not by a filter: the test must not depend on how nfct filters IPv6 addresses.)
    const tracked = (f: Flow) =>
      f.proto === "udp" && realOnes(f) &&
      (f.orig.dport === 9999 || (f.family === other.family && f.orig.dport === 8080));
    assert.ok(
      await until(() => ct.list().filter(tracked).length === 3),
      `the unrelated datagrams are tracked:\n${table(ct).join("\n")}`,
    );

    const before = ct.list();
    const staleKeys = before.filter((f) =>
      f.family === n.family && f.proto === "udp" && f.orig.src === n.client &&
      f.orig.dst === n.host && f.orig.dport === 8080
    ).map(key).sort();
    assert.equal(
      staleKeys.length,
      2,
      `the two stale entries (ports 40000 and 40002) are there:\n${staleKeys.join("\n")}`,
    );
    assert.ok(
      before.filter(realOnes).length >= 6,
      "unrelated real traffic of both families is tracked",
    );
    const beforeKeys = before.map(key).sort();

    // 5. The example deletes exactly the stale entries.
    const r = spawnSync(
      RUN_TS[0],
      [...RUN_TS.slice(1), "examples/flush_stale_udp.ts", n.ctr, n.hostPort],
      { cwd: ROOT, encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    const left = table(ct);
    const gone = beforeKeys.filter((k) => !left.includes(k));
    const appeared = left.filter((k) => !beforeKeys.includes(k));
    assert.deepEqual(
      { gone, appeared },
      { gone: staleKeys, appeared: [] },
      `exactly the stale entries went, and nothing else; the example said:\n${r.stdout}${r.stderr}`,
    );
    const printed = r.stdout.split("\n").filter((l) => l !== "");
    assert.equal(printed.length, 2, r.stdout);
    for (const sport of [40000, 40002]) {
      assert.ok(
        printed.some((l) => l.includes(`src=${n.client} dst=${n.host} sport=${sport} dport=8080 `)),
        `printed the entry from port ${sport}:\n${r.stdout}`,
      );
    }
    assert.match(r.stderr, /^2 stale conntrack entries deleted$/m);

    // 6. Now the rule applies and the datagram arrives.
    send(n, "after");
    assert.ok(await until(() => got.includes("after")));
    assert.deepEqual(got, ["nat", "after"]);
    const fresh = stale(40000).filter((f) => f.orig.dst === n.host);
    assert.equal(fresh.length, 1);
    assert.equal(fresh[0].reply.src, n.ctr, "NATed to the container");
    ct.flushAll();
  } finally {
    receiver?.kill();
    teardown();
  }
}

test(
  "flush_stale_udp.ts, IPv4 container: only the stale entries go (the one that keeps UDP from a restarted container, and its NATed sibling); unrelated flows of both families survive",
  { timeout: 300000 }, // 42-58 s each under load (a few processes per step)
  () => netavark(V4, V6),
);

test(
  "flush_stale_udp.ts, IPv6 container: only the stale entries go; unrelated flows of both families survive (IPv6 addresses matched in userspace)",
  { timeout: 300000 }, // 42-58 s each under load (a few processes per step)
  () => netavark(V6, V4),
);
