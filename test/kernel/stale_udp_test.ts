/**
 * examples/flush_stale_udp.ts end to end, with real packets: the netavark case.
 *
 * Inside the test's own throwaway namespace ("host") two more namespaces are made with
 * `ip netns add` (private names, deleted at the end): a client and a "container", each joined
 * to the host by a veth pair. The host forwards, has an (empty) NAT prerouting chain and a
 * rule matching on `ct state`, so conntrack tracks everything (a NAT chain alone does not).
 *
 * 1. The client sends a UDP datagram to host:8080 before the container is up: the host has no
 *    DNAT rule yet, so an entry without NAT is made.
 * 2. The container starts listening on 10.88.0.5:80 and the DNAT rule host:8080 → it is added.
 * 3. The client sends again from the same port: the datagram follows the stale entry, not the
 *    rule, and does not arrive.
 * 4. flush_stale_udp.ts 10.88.0.5 8080 deletes the entry (and prints it).
 * 5. The next datagram is NATed and arrives.
 * @module
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { test } from "node:test";
import { Conntrack } from "../../mod.ts";
import { assertThrowawayNetns, sh } from "./_netns.ts";

assertThrowawayNetns();

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
const RUN = isBun ? [process.execPath] : [process.execPath, "run", "-A"];
const CLIENT = `nfct-client-${process.pid}`, CTR = `nfct-ctr-${process.pid}`;
const PY = "python3";

const RECEIVER = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.88.0.5", 80))
print("ready", flush=True)
while True:
    d, a = s.recvfrom(2048)
    print(d.decode(), flush=True)
`;

/** One datagram from the client's fixed port 40000 to the host's published port. */
function send(text: string): void {
  const code = `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.2", 40000))
s.sendto(b"${text}", ("10.99.0.1", 8080))`;
  const r = spawnSync("ip", ["netns", "exec", CLIENT, PY, "-c", code], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

function setup(): void {
  sh(`ip link set lo up
ip netns add ${CLIENT}
ip netns add ${CTR}
ip link add nfct-hc type veth peer name eth0 netns ${CLIENT}
ip link add nfct-hk type veth peer name eth0 netns ${CTR}
ip addr add 10.99.0.1/24 dev nfct-hc && ip link set nfct-hc up
ip addr add 10.88.0.1/24 dev nfct-hk && ip link set nfct-hk up
ip -n ${CLIENT} addr add 10.99.0.2/24 dev eth0 && ip -n ${CLIENT} link set eth0 up && ip -n ${CLIENT} link set lo up
ip -n ${CTR} addr add 10.88.0.5/24 dev eth0 && ip -n ${CTR} link set eth0 up && ip -n ${CTR} link set lo up
ip -n ${CTR} route add default via 10.88.0.1
sysctl -qw net.ipv4.ip_forward=1
nft -f - <<'EOF'
table ip nfct_stale {
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
  for (const cmd of [`ip netns del ${CLIENT}`, `ip netns del ${CTR}`, "nft delete table ip nfct_stale", "ip link del nfct-hc", "ip link del nfct-hk"]) {
    spawnSync("sh", ["-c", cmd], { stdio: "ignore" });
  }
}

test("flush_stale_udp.ts removes the stale entry that keeps UDP from reaching a restarted container", { timeout: 60000 }, async () => {
  let receiver: ChildProcess | undefined;
  try {
    setup();
    using ct = Conntrack.open();
    ct.flushAll();

    // 1. Before the container is up: an entry without NAT.
    send("early");
    let stale = ct.list({ proto: "udp", dport: 8080 });
    for (const t0 = Date.now(); stale.length === 0 && Date.now() - t0 < 3000;) {
      await new Promise((r) => setTimeout(r, 20)); // ARP, link up
      stale = ct.list({ proto: "udp", dport: 8080 });
    }
    assert.equal(stale.length, 1);
    assert.equal(stale[0].reply.src, "10.99.0.1", "not NATed");

    // 2. The container listens; the DNAT rule is added.
    const got: string[] = [];
    receiver = spawn("ip", ["netns", "exec", CTR, PY, "-u", "-c", RECEIVER], { stdio: ["ignore", "pipe", "pipe"] });
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    let buf = "";
    receiver.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === "ready") ready();
        else got.push(line);
      }
    });
    await isReady;
    sh("nft add rule ip nfct_stale pre udp dport 8080 dnat to 10.88.0.5:80");

    // 3. The same flow again: it follows the stale entry and never reaches the container.
    send("blocked");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(got.length, 0, `the datagram must not arrive while the stale entry exists (got ${got.join(", ")})`);

    // 4. The example deletes it.
    const r = spawnSync(RUN[0], [...RUN.slice(1), "examples/flush_stale_udp.ts", "10.88.0.5", "8080"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^udp +17 \d+ src=10\.99\.0\.2 dst=10\.99\.0\.1 sport=40000 dport=8080 /m);
    assert.match(r.stderr, /1 stale conntrack entries deleted/);
    assert.equal(ct.list({ proto: "udp", dport: 8080 }).length, 0);

    // 5. Now the rule applies and the datagram arrives.
    send("after");
    const t0 = Date.now();
    while (!got.includes("after") && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, ["after"]);
    const fresh = ct.list({ proto: "udp", dport: 8080 });
    assert.equal(fresh.length, 1);
    assert.equal(fresh[0].reply.src, "10.88.0.5", "NATed to the container");
    ct.flushAll();
  } finally {
    receiver?.kill();
    teardown();
  }
});
