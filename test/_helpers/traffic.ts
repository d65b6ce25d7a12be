/**
 * Real packets over lo, for kernel tests whose entries need counters, timestamps and the
 * states only traffic makes. The namespace must track lo (see `trackLoopback` in netns.ts).
 * @module
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, createServer, type Socket } from "node:net";
import { sh } from "./netns.ts";
import { sleep } from "./wait.ts";

type Host = "127.0.0.1" | "::1";

/** Sockets a helper left open on purpose: `close()` closes them and waits until they are. */
export interface Traffic {
  close(): Promise<void>;
}

/** Options of {@link loopbackTraffic}. */
export interface TrafficOptions {
  /** TCP connections per family that exchange a line and close (default 1). */
  closed?: number;
  /** Bytes written on the TCP connection left open (default 500). */
  openBytes?: number;
  /** A UDP port nobody listens on, sent one datagram per family (e.g. a port an nft rule labels). */
  unansweredPort?: number;
}

/** Sends one datagram from `from` to `port` on `host` and waits until it went out. */
function udpSend(from: UdpSocket, port: number, host: string, text: string): Promise<void> {
  return new Promise((resolve, reject) =>
    from.send(text, port, host, (e) => (e ? reject(e) : resolve()))
  );
}

/** A UDP exchange over lo on `host`: a ping, and the peer's reply (`reply` text); both sockets closed. */
export async function udpPingPong(host: Host = "127.0.0.1", reply = "pong"): Promise<void> {
  const a = createSocket(host === "::1" ? "udp6" : "udp4"),
    b = createSocket(host === "::1" ? "udp6" : "udp4");
  a.on("error", () => {});
  b.on("error", () => {});
  try {
    await new Promise<void>((r) => b.bind(0, host, () => r()));
    await new Promise<void>((r) => a.bind(0, host, () => r()));
    b.on("message", (_m, ri) => b.send(reply, ri.port, ri.address));
    await new Promise<void>((r) => {
      a.once("message", () => r());
      a.send("ping", b.address().port, host);
    });
  } finally {
    await Promise.all([a, b].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** One UDP datagram from `host` to `port` (nobody listens: the entry stays unreplied). */
async function udpOneWay(port: number, host: Host = "127.0.0.1"): Promise<void> {
  const s = createSocket(host === "::1" ? "udp6" : "udp4");
  s.on("error", () => {}); // the ICMP port-unreachable comes back as ECONNREFUSED (on Bun)
  try {
    await udpSend(s, port, host, "x");
  } finally {
    await new Promise<void>((r) => s.close(() => r()));
  }
}

/**
 * The namespace's timeouts (s) of the states {@link loopbackTraffic}'s entries end in. The
 * defaults are short (UDP 30 and 120, TCP CLOSE 10, TIME_WAIT 120): entries a test lists twice,
 * minutes apart on a loaded machine, must not expire in between.
 */
const LONG_TIMEOUTS = [
  "udp_timeout",
  "udp_timeout_stream",
  "tcp_timeout_fin_wait",
  "tcp_timeout_close_wait",
  "tcp_timeout_last_ack",
  "tcp_timeout_time_wait",
  "tcp_timeout_close",
].map((k) => `net.netfilter.nf_conntrack_${k}`);

/**
 * Real traffic on 127.0.0.1 and ::1: per family, `closed` TCP connections that exchange a line
 * and close (their entries stay, in TIME_WAIT or CLOSE), one left open (ESTABLISHED, ASSURED)
 * until `close()`, a UDP exchange both ways (SEEN_REPLY), and optionally a datagram to a port
 * nobody answers. The entries get an hour's timeout (the namespace's timeouts of their states
 * are raised while the packets pass, then set back).
 */
export async function loopbackTraffic(options: TrafficOptions = {}): Promise<Traffic> {
  const saved = sh(`sysctl -n ${LONG_TIMEOUTS.join(" ")}`).trim().split(/\s+/);
  sh(`sysctl -qw ${LONG_TIMEOUTS.map((k) => `${k}=3600`).join(" ")}`);
  try {
    return await traffic(options);
  } finally {
    sh(`sysctl -qw ${LONG_TIMEOUTS.map((k, i) => `${k}=${saved[i]}`).join(" ")}`);
  }
}

async function traffic(options: TrafficOptions): Promise<Traffic> {
  const { closed = 1, openBytes = 500, unansweredPort } = options;
  const held: Socket[] = [];
  const open: Traffic = {
    close: () =>
      Promise.all(
        held.splice(0).map((s) =>
          new Promise<void>((r) => {
            if (s.destroyed) return r();
            s.once("close", () => r());
            s.destroy();
          })
        ),
      ).then(() => {}),
  };
  try {
    for (const host of ["127.0.0.1", "::1"] as const) {
      const server = createServer((s: Socket) => {
        s.on("data", (d) => s.write(d));
        s.on("error", () => {});
      });
      await new Promise<void>((r) => server.listen(0, host, () => r()));
      const port = (server.address() as { port: number }).port;
      for (let k = 0; k < closed; k++) {
        await new Promise<void>((resolve, reject) => {
          const c = connect(port, host, () => c.write(`hello nfct ${k}`));
          c.on("data", () => c.end());
          c.on("close", () => resolve());
          c.on("error", reject);
        });
      }
      const c = connect(port, host);
      held.push(c);
      await new Promise<void>((resolve, reject) => {
        c.once("connect", () => resolve());
        c.once("error", reject);
      });
      // The echo of what is written comes back: then both directions have been seen.
      await new Promise<void>((r) => {
        let got = 0;
        c.on("data", (d) => (got += d.length) >= openBytes && r());
        c.write("x".repeat(openBytes));
      });
      server.close(); // no new connections; the open one stays
      await udpPingPong(host);
      if (unansweredPort !== undefined) await udpOneWay(unansweredPort, host);
    }
  } catch (e) {
    await open.close();
    throw e;
  }
  await sleep(50); // lets the last ACKs and FINs reach conntrack before anyone lists
  return open;
}
