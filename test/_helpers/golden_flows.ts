/**
 * The flows of the golden capture (test/fixtures/golden.hex, see test/_helpers/golden.ts) as
 * conntrack(8) printed them at capture time: what decoding the kernel's replies must give.
 * @module
 */
import type { Flow } from "../../conntrack/flow.ts";

// Written out from the annotated bytes and cross-checked with the CLI's text in golden.hex.
// `conntrack -I` flows carry CTA_SYNPROXY (the kernel adds the seqadj/synproxy extensions to
// every ctnetlink-created entry) and zeroed counters; flows from real packets carry counters,
// the nft mark 42 (UDP to port 5300) and the nft label 3 instead.

/** The addresses of the flows made with `conntrack -I`. */
export const V4A = "192.0.2.1", V4B = "198.51.100.2", V6A = "2001:db8::1", V6B = "2001:db8::2";
const NO_COUNTERS = { orig: { packets: 0, bytes: 0 }, reply: { packets: 0, bytes: 0 } };
const ZERO_SYNPROXY = { isn: 0, its: 0, tsoff: 0 };
/** `conntrack -I` sets IP_CT_TCP_FLAG_SACK_PERM|IP_CT_TCP_FLAG_BE_LIBERAL (0x0a) in both directions. */
export const CLI_TCP_FLAGS = { flags: 0x0a, mask: 0x0a };

/** `conntrack -L -o extended,id,labels,ktimestamp`, in dump order (list.reply1..14). */
export const LIST: Flow[] = [
  // ipv4 2 icmp 1 29 src=127.0.0.1 dst=127.0.0.1 type=8 code=0 id=4660 packets=1 bytes=34
  //   src=127.0.0.1 dst=127.0.0.1 type=0 code=0 id=4660 packets=1 bytes=34 mark=0 use=1 id=1052235032 labels=nft-3
  {
    family: "ipv4",
    proto: "icmp",
    orig: { src: "127.0.0.1", dst: "127.0.0.1", id: 4660, type: 8, code: 0 },
    reply: { src: "127.0.0.1", dst: "127.0.0.1", id: 4660, type: 0, code: 0 },
    status: ["SEEN_REPLY", "CONFIRMED"],
    mark: 0,
    id: 1052235032,
    use: 1,
    timeout: 29,
    counters: { orig: { packets: 1, bytes: 34 }, reply: { packets: 1, bytes: 34 } },
    timestamp: { start: 1795500917729477977n },
    labels: [3],
  },
  // ipv4 2 udp 17 29 src=192.0.2.1 dst=198.51.100.3 sport=2000 dport=2001 [UNREPLIED] ... mark=0 use=1
  //   id=1711636562 labels=golden-1,golden-66,golden-127
  {
    family: "ipv4",
    proto: "udp",
    orig: { src: V4A, dst: "198.51.100.3", sport: 2000, dport: 2001 },
    reply: { src: "198.51.100.3", dst: V4A, sport: 2001, dport: 2000 },
    status: ["CONFIRMED"],
    mark: 0,
    id: 1711636562,
    use: 1,
    timeout: 29,
    counters: NO_COUNTERS,
    timestamp: { start: 1795500917638302418n },
    labels: [1, 66, 127],
    synproxy: ZERO_SYNPROXY,
  },
  // ipv4 2 udp 17 29 src=127.0.0.1 dst=127.0.0.1 sport=40000 dport=5300 packets=1 bytes=40
  //   src=127.0.0.1 dst=127.0.0.1 sport=5300 dport=40000 packets=1 bytes=42 mark=42 use=1 id=717969665 labels=nft-3
  {
    family: "ipv4",
    proto: "udp",
    orig: { src: "127.0.0.1", dst: "127.0.0.1", sport: 40000, dport: 5300 },
    reply: { src: "127.0.0.1", dst: "127.0.0.1", sport: 5300, dport: 40000 },
    status: ["SEEN_REPLY", "CONFIRMED"],
    mark: 42,
    id: 717969665,
    use: 1,
    timeout: 29,
    counters: { orig: { packets: 1, bytes: 40 }, reply: { packets: 1, bytes: 42 } },
    timestamp: { start: 1795500917728898713n },
    labels: [3],
  },
  // ipv6 10 udp 17 29 src=::1 dst=::1 sport=40000 dport=5300 packets=1 bytes=60
  //   src=::1 dst=::1 sport=5300 dport=40000 packets=1 bytes=62 mark=42 use=1 id=180028002 labels=nft-3
  {
    family: "ipv6",
    proto: "udp",
    orig: { src: "::1", dst: "::1", sport: 40000, dport: 5300 },
    reply: { src: "::1", dst: "::1", sport: 5300, dport: 40000 },
    status: ["SEEN_REPLY", "CONFIRMED"],
    mark: 42,
    id: 180028002,
    use: 1,
    timeout: 29,
    counters: { orig: { packets: 1, bytes: 60 }, reply: { packets: 1, bytes: 62 } },
    timestamp: { start: 1795500917729042307n },
    labels: [3],
  },
  // ipv4 2 tcp 6 431999 ESTABLISHED src=127.0.0.1 dst=127.0.0.1 sport=40001 dport=8080 packets=4 bytes=221
  //   src=127.0.0.1 dst=127.0.0.1 sport=8080 dport=40001 packets=3 bytes=170 [ASSURED] mark=0 use=1
  //   id=4292160626 labels=nft-3
  // Window scale 10 both ways; flags 0x23 = WINDOW_SCALE|SACK_PERM|MAXACK_SET (mask is 0 in dumps).
  {
    family: "ipv4",
    proto: "tcp",
    orig: { src: "127.0.0.1", dst: "127.0.0.1", sport: 40001, dport: 8080 },
    reply: { src: "127.0.0.1", dst: "127.0.0.1", sport: 8080, dport: 40001 },
    status: ["SEEN_REPLY", "ASSURED", "CONFIRMED"],
    mark: 0,
    id: 4292160626,
    use: 1,
    timeout: 431999,
    tcp: {
      state: "ESTABLISHED",
      wscaleOrig: 10,
      wscaleReply: 10,
      flagsOrig: { flags: 0x23, mask: 0 },
      flagsReply: { flags: 0x23, mask: 0 },
    },
    counters: { orig: { packets: 4, bytes: 221 }, reply: { packets: 3, bytes: 170 } },
    timestamp: { start: 1795500917729299761n },
    labels: [3],
  },
  // ipv4 2 tcp 6 119 ESTABLISHED src=192.0.2.1 dst=198.51.100.2 sport=40000 dport=443 [UNREPLIED] ...
  //   [ASSURED] mark=5 use=1 id=2944905661
  {
    family: "ipv4",
    proto: "tcp",
    orig: { src: V4A, dst: V4B, sport: 40000, dport: 443 },
    reply: { src: V4B, dst: V4A, sport: 443, dport: 40000 },
    status: ["ASSURED", "CONFIRMED"],
    mark: 5,
    id: 2944905661,
    use: 1,
    timeout: 119,
    tcp: {
      state: "ESTABLISHED",
      wscaleOrig: 0,
      wscaleReply: 0,
      flagsOrig: { flags: 0x0a, mask: 0 },
      flagsReply: { flags: 0x0a, mask: 0 },
    },
    counters: NO_COUNTERS,
    timestamp: { start: 1795500917566591802n },
    synproxy: ZERO_SYNPROXY,
  },
  // ipv4 2 udp 17 29 src=192.0.2.1 dst=198.51.100.2 sport=1053 dport=53 zone-orig=3 [UNREPLIED] ...
  //   mark=0 use=1 id=330280458
  {
    family: "ipv4",
    proto: "udp",
    orig: { src: V4A, dst: V4B, sport: 1053, dport: 53, zone: 3 },
    reply: { src: V4B, dst: V4A, sport: 53, dport: 1053 },
    status: ["CONFIRMED"],
    mark: 0,
    id: 330280458,
    use: 1,
    timeout: 29,
    counters: NO_COUNTERS,
    timestamp: { start: 1795500917584101828n },
    synproxy: ZERO_SYNPROXY,
  },
  // ipv4 2 sctp 132 99 ESTABLISHED src=192.0.2.1 dst=198.51.100.2 sport=5000 dport=5001 [UNREPLIED] ...
  //   mark=0 use=1 id=1066285593
  // The CLI does not print vtags. conntrack 1.4.7 was given --orig-vtag 287454020 (0x11223344)
  // and sent 44 33 22 11 (it byte-swaps the tag on little-endian hosts); the kernel stored and
  // returned exactly those bytes, a be32 0x44332211.
  {
    family: "ipv4",
    proto: "sctp",
    orig: { src: V4A, dst: V4B, sport: 5000, dport: 5001 },
    reply: { src: V4B, dst: V4A, sport: 5001, dport: 5000 },
    status: ["CONFIRMED"],
    mark: 0,
    id: 1066285593,
    use: 1,
    timeout: 99,
    sctp: { state: "ESTABLISHED", vtagOrig: 0x44332211, vtagReply: 0x88776655 },
    counters: NO_COUNTERS,
    timestamp: { start: 1795500917602017830n },
    synproxy: ZERO_SYNPROXY,
  },
  // ipv4 2 gre 47 89 src=192.0.2.1 dst=198.51.100.2 srckey=0x1111 dstkey=0x2222 [UNREPLIED]
  //   src=198.51.100.2 dst=192.0.2.1 srckey=0x2222 dstkey=0x1111 mark=0 use=1 id=311691394
  {
    family: "ipv4",
    proto: "gre",
    orig: { src: V4A, dst: V4B, srcKey: 0x1111, dstKey: 0x2222 },
    reply: { src: V4B, dst: V4A, srcKey: 0x2222, dstKey: 0x1111 },
    status: ["CONFIRMED"],
    mark: 0,
    id: 311691394,
    use: 1,
    timeout: 89,
    counters: NO_COUNTERS,
    timestamp: { start: 1795500917628781798n },
    synproxy: ZERO_SYNPROXY,
  },
  // ipv6 10 udp 17 29 src=2001:db8::1 dst=2001:db8::2 sport=1053 dport=53 [UNREPLIED] ... zone-reply=4
  //   mark=255 use=1 id=2061966347
  {
    family: "ipv6",
    proto: "udp",
    orig: { src: V6A, dst: V6B, sport: 1053, dport: 53 },
    reply: { src: V6B, dst: V6A, sport: 53, dport: 1053, zone: 4 },
    status: ["CONFIRMED"],
    mark: 255,
    id: 2061966347,
    use: 1,
    timeout: 29,
    counters: NO_COUNTERS,
    timestamp: { start: 1795500917593084896n },
    synproxy: ZERO_SYNPROXY,
  },
  // ipv6 10 icmpv6 58 29 src=::1 dst=::1 type=128 code=0 id=17185 packets=1 bytes=54
  //   src=::1 dst=::1 type=129 code=0 id=17185 packets=1 bytes=54 mark=0 use=1 id=3339541192 labels=nft-3
  {
    family: "ipv6",
    proto: "icmpv6",
    orig: { src: "::1", dst: "::1", id: 17185, type: 128, code: 0 },
    reply: { src: "::1", dst: "::1", id: 17185, type: 129, code: 0 },
    status: ["SEEN_REPLY", "CONFIRMED"],
    mark: 0,
    id: 3339541192,
    use: 1,
    timeout: 29,
    counters: { orig: { packets: 1, bytes: 54 }, reply: { packets: 1, bytes: 54 } },
    timestamp: { start: 1795500917729510665n },
    labels: [3],
  },
  // ipv6 10 icmpv6 58 29 src=2001:db8::1 dst=2001:db8::2 type=128 code=0 id=99 [UNREPLIED]
  //   src=2001:db8::2 dst=2001:db8::1 type=129 code=0 id=99 mark=0 use=1 id=1360983111
  {
    family: "ipv6",
    proto: "icmpv6",
    orig: { src: V6A, dst: V6B, id: 99, type: 128, code: 0 },
    reply: { src: V6B, dst: V6A, id: 99, type: 129, code: 0 },
    status: ["CONFIRMED"],
    mark: 0,
    id: 1360983111,
    use: 1,
    timeout: 29,
    counters: NO_COUNTERS,
    timestamp: { start: 1795500917619903286n },
    synproxy: ZERO_SYNPROXY,
  },
  // ipv6 10 tcp 6 59 SYN_SENT src=2001:db8::1 dst=2001:db8::2 sport=50000 dport=22 [UNREPLIED] ...
  //   mark=0 zone=7 use=1 id=3258194991
  {
    family: "ipv6",
    proto: "tcp",
    orig: { src: V6A, dst: V6B, sport: 50000, dport: 22 },
    reply: { src: V6B, dst: V6A, sport: 22, dport: 50000 },
    zone: 7,
    status: ["CONFIRMED"],
    mark: 0,
    id: 3258194991,
    use: 1,
    timeout: 59,
    tcp: {
      state: "SYN_SENT",
      wscaleOrig: 0,
      wscaleReply: 0,
      flagsOrig: { flags: 0x0a, mask: 0 },
      flagsReply: { flags: 0x0a, mask: 0 },
    },
    counters: NO_COUNTERS,
    timestamp: { start: 1795500917575406950n },
    synproxy: ZERO_SYNPROXY,
  },
  // ipv4 2 icmp 1 29 src=192.0.2.1 dst=198.51.100.2 type=8 code=0 id=77 [UNREPLIED]
  //   src=198.51.100.2 dst=192.0.2.1 type=0 code=0 id=77 mark=0 use=1 id=1128089454
  {
    family: "ipv4",
    proto: "icmp",
    orig: { src: V4A, dst: V4B, id: 77, type: 8, code: 0 },
    reply: { src: V4B, dst: V4A, id: 77, type: 0, code: 0 },
    status: ["CONFIRMED"],
    mark: 0,
    id: 1128089454,
    use: 1,
    timeout: 29,
    counters: NO_COUNTERS,
    timestamp: { start: 1795500917611044523n },
    synproxy: ZERO_SYNPROXY,
  },
];

/** LIST entry by the `id=` conntrack printed. */
export function listed(id: number): Flow {
  const f = LIST.find((x) => x.id === id);
  if (!f) throw new Error(`no listed flow with id ${id}`);
  return f;
}
