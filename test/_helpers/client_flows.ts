/**
 * Flows for the client's kernel tests (client_test.ts, flush_test.ts, filter_test.ts).
 * @module
 */
import type { Flow } from "../../mod.ts";

/** UDP flow `i`: 10.1.x.y:(1024 + i) -> 10.2.0.1:53, 600 s, with `extra` on top. */
export function udp(i: number, extra: Partial<Flow> = {}): Flow {
  return {
    family: "ipv4",
    proto: "udp",
    orig: {
      src: `10.1.${(i >> 8) & 255}.${i & 255}`,
      dst: "10.2.0.1",
      sport: 1024 + (i % 60000),
      dport: 53,
    },
    reply: undefined as unknown as Flow["reply"],
    timeout: 600,
    ...extra,
  };
}

/**
 * `n` flows of six kinds in turn: UDP, TCP ESTABLISHED (ASSURED), IPv6 TCP SYN_SENT, ICMP,
 * ICMPv6, SCTP with marks and zones.
 */
export function mixed(n: number): Flow[] {
  const out: Flow[] = [];
  for (let i = 0; i < n; i++) {
    const a = i & 255, b = (i >> 8) & 255;
    switch (i % 6) {
      case 0:
        out.push({ ...udp(i), reply: undefined as never });
        break;
      case 1:
        out.push({
          family: "ipv4",
          proto: "tcp",
          timeout: 600,
          tcp: { state: "ESTABLISHED" },
          status: ["ASSURED", "SEEN_REPLY"],
          orig: { src: `10.3.${b}.${a}`, dst: "10.4.0.1", sport: 2000 + (i % 50000), dport: 443 },
        } as Flow);
        break;
      case 2:
        out.push({
          family: "ipv6",
          proto: "tcp",
          timeout: 600,
          tcp: { state: "SYN_SENT" },
          orig: {
            src: `fd00::${b.toString(16)}:${a.toString(16)}`,
            dst: "fd00::ffff",
            sport: 3000,
            dport: 80,
          },
        } as Flow);
        break;
      case 3:
        out.push({
          family: "ipv4",
          proto: "icmp",
          timeout: 30,
          orig: { src: `10.5.${b}.${a}`, dst: "10.6.0.1", type: 8, code: 0, id: i & 0xffff },
        } as Flow);
        break;
      case 4:
        out.push({
          family: "ipv6",
          proto: "icmpv6",
          timeout: 30,
          orig: {
            src: `fd01::${b.toString(16)}:${a.toString(16)}`,
            dst: "fd01::1",
            type: 128,
            code: 0,
            id: i & 0xffff,
          },
        } as Flow);
        break;
      case 5:
        out.push({
          family: "ipv4",
          proto: "sctp",
          timeout: 600,
          mark: i % 4,
          zone: i % 3,
          sctp: { state: "ESTABLISHED" },
          orig: { src: `10.7.${b}.${a}`, dst: "10.8.0.1", sport: 5000, dport: 36412 },
        } as Flow);
        break;
    }
  }
  return out;
}
