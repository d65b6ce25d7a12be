/**
 * The inputs of the fuzzer (test/_helpers/fuzz.ts): mutations of real kernel datagrams that go
 * for the length fields, and flow messages from nfct's encoder for the decoder branches a kernel
 * dump never reaches.
 * @module
 */
import type { Flow } from "../../conntrack/flow.ts";
import { NLA_F_NESTED } from "../../netlink/attribute.ts";
import {
  HOST_LE,
  NLMSG_ALIGN,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
} from "../../netlink/message.ts";
import { flowMessage } from "./flow_message.ts";
import type { Rng } from "./rng.ts";

/** Seq every replayed reply carries. */
export const SEQ = 0x5eed;

const INTERESTING_8 = [0, 1, 3, 4, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_16 = [0, 1, 3, 4, 5, 8, 15, 16, 19, 20, 0x7fff, 0x8000, 0xfffc, 0xffff];
const INTERESTING_32 = [
  0,
  1,
  15,
  16,
  19,
  20,
  35,
  36,
  0x7fffffff,
  0x80000000,
  0xfffffff0,
  0xffffffff,
];

/** Offsets of the length fields in a datagram: every `nlmsg_len`, and every `nla_len` found by walking nests. */
function lengthFields(d: Uint8Array): { at: number; size: 2 | 4 }[] {
  const out: { at: number; size: 2 | 4 }[] = [];
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const walk = (p: number, end: number, depth: number) => {
    while (p + 4 <= end) {
      const len = dv.getUint16(p, HOST_LE);
      if (len < 4 || p + len > end) return;
      out.push({ at: p, size: 2 });
      if (depth < 6 && dv.getUint16(p + 2, HOST_LE) & NLA_F_NESTED) walk(p + 4, p + len, depth + 1);
      p += NLMSG_ALIGN(len);
    }
  };
  for (let off = 0; off + NLMSG_HDRLEN <= d.length;) {
    const len = dv.getUint32(off, HOST_LE);
    if (len < NLMSG_HDRLEN || off + len > d.length) break;
    out.push({ at: off, size: 4 });
    const type = dv.getUint16(off + 4, HOST_LE);
    if (type === NLMSG_ERROR) {
      if (len >= 36) out.push({ at: off + 20, size: 4 }); // the echoed request's nlmsg_len
      walk(off + 36, off + len, 0);
    } else if (type === NLMSG_DONE) walk(off + 20, off + len, 0);
    else walk(off + NLMSG_HDRLEN + 4, off + len, 0);
    off += NLMSG_ALIGN(len);
  }
  return out;
}

/** Applies 1..4 random mutations (half the time exactly one) to a copy of `input`; `donors` feed splices. */
export function mutate(rng: Rng, input: Uint8Array, donors: readonly Uint8Array[]): Uint8Array {
  let d = input.slice();
  const rounds = rng.int(2) ? 1 : 2 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    const n = d.length;
    switch (rng.int(11)) {
      case 0: // bit flips
        if (n) { for (let i = 1 + rng.int(4); i > 0; i--) d[rng.int(n)] ^= 1 << rng.int(8); }
        break;
      case 1: // a byte to an interesting or random value
        if (n) d[rng.int(n)] = rng.int(2) ? rng.pick(INTERESTING_8) : rng.int(256);
        break;
      case 2: // truncation
        d = d.slice(0, rng.int(n + 1));
        break;
      case 3: // a length field corrupted
      case 4: {
        const fields = lengthFields(d);
        if (!fields.length) break;
        const f = rng.pick(fields);
        const dv = new DataView(d.buffer);
        if (f.size === 2) {
          const v = dv.getUint16(f.at, HOST_LE);
          const nv = rng.int(2) ? rng.pick(INTERESTING_16) : (v + rng.int(17) - 8) & 0xffff;
          dv.setUint16(f.at, nv, HOST_LE);
        } else {
          const v = dv.getUint32(f.at, HOST_LE);
          const nv = rng.int(2) ? rng.pick(INTERESTING_32) : (v + rng.int(33) - 16) >>> 0;
          dv.setUint32(f.at, nv, HOST_LE);
        }
        break;
      }
      case 5: { // splice: overwrite with a chunk of another input
        const src = rng.pick(donors);
        if (!src.length || !n) break;
        const from = rng.int(src.length);
        const len = 1 + rng.int(Math.min(64, src.length - from));
        const at = rng.int(n);
        d.set(src.subarray(from, from + Math.min(len, n - at)), at);
        break;
      }
      case 6: { // splice: insert a chunk of another input
        const src = rng.pick(donors);
        const from = rng.int(src.length);
        const chunk = src.subarray(from, from + 1 + rng.int(64));
        const at = rng.int(n + 1);
        const nd = new Uint8Array(n + chunk.length);
        nd.set(d.subarray(0, at));
        nd.set(chunk, at);
        nd.set(d.subarray(at), at + chunk.length);
        d = nd;
        break;
      }
      case 7: { // delete a range
        if (!n) break;
        const at = rng.int(n);
        const len = 1 + rng.int(Math.min(32, n - at));
        const nd = new Uint8Array(n - len);
        nd.set(d.subarray(0, at));
        nd.set(d.subarray(at + len), at);
        d = nd;
        break;
      }
      case 9: // an attribute retyped, so its payload reaches another decoder branch
      case 10: {
        const attrs = lengthFields(d).filter((f) => f.size === 2);
        if (!attrs.length) break;
        const at = rng.pick(attrs).at + 2;
        const dv = new DataView(d.buffer);
        const flags = rng.int(4) ? dv.getUint16(at, HOST_LE) & 0xc000 : rng.int(4) << 14;
        dv.setUint16(at, flags | rng.int(rng.int(2) ? 32 : 0x4000), HOST_LE);
        break;
      }
      case 8: // an aligned 16- or 32-bit word to an interesting value (types, flags, errnos)
        if (n >= 4) {
          const at = rng.int(n >> 2) << 2;
          const dv = new DataView(d.buffer);
          if (rng.int(2)) dv.setUint16(at + 2 * rng.int(2), rng.pick(INTERESTING_16), HOST_LE);
          else dv.setUint32(at, rng.pick(INTERESTING_32), HOST_LE);
        }
        break;
    }
  }
  return d;
}

/**
 * Flow messages written by nfct's encoder, for the decoder branches a kernel dump never reaches
 * (NAT ranges, sequence adjustment, labels, helper, SYNPROXY, SCTP/DCCP state, master tuple,
 * unknown attributes). Each ends with a different attribute, so mutations near the end of a
 * message hit every kind of attribute.
 */
export function encodedFlows(): Uint8Array[] {
  const orig = { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 2000 };
  const flows: (Partial<Flow> & Pick<Flow, "proto">)[] = [
    {
      proto: "tcp",
      orig,
      timeout: 1,
      natSrc: { minIp: "10.9.0.1", maxIp: "10.9.0.9", minPort: 1, maxPort: 9 },
    },
    { proto: "tcp", orig, timeout: 1, natDst: { minIp: "10.9.0.1", maxIp: "10.9.0.2" } },
    {
      proto: "udp",
      orig: { src: "fd00::1", dst: "fd00::2", sport: 1, dport: 2 },
      timeout: 1,
      natDst: { minIp: "fd00::9" },
    },
    {
      proto: "tcp",
      orig,
      timeout: 1,
      seqAdjOrig: { correctionPos: 1, offsetBefore: 2, offsetAfter: 3 },
      seqAdjReply: { correctionPos: 4, offsetBefore: 5, offsetAfter: 6 },
    },
    { proto: "tcp", orig, timeout: 1, labels: [0, 31, 32, 127], labelsMask: [0, 127] },
    { proto: "tcp", orig, timeout: 1, helper: "ftp", helperInfo: new Uint8Array([1, 2, 3]) },
    {
      proto: "tcp",
      orig,
      timeout: 1,
      tcp: {
        state: "SYN_SENT",
        flagsOrig: { flags: 2, mask: 2 },
        flagsReply: { flags: 0, mask: 0 },
      },
      synproxy: { isn: 1, its: 2, tsoff: 3 },
    },
    { proto: "sctp", orig, timeout: 1, sctp: { state: "ESTABLISHED", vtagOrig: 1, vtagReply: 2 } },
    { proto: "dccp", orig, timeout: 1, dccp: { state: "OPEN", role: 1, handshakeSeq: 5n } },
    {
      proto: "udp",
      orig,
      timeout: 1,
      master: { proto: "tcp", src: "10.0.0.1", dst: "10.0.0.2", sport: 21, dport: 2100 },
    },
    {
      proto: "gre",
      orig: { src: "10.0.0.1", dst: "10.0.0.2", srcKey: 1, dstKey: 2 },
      timeout: 1,
      unknown: [{ type: 99, data: new Uint8Array([1, 2, 3, 4, 5]) }],
    },
  ];
  return flows.map((flow) => flowMessage(flow, { seq: SEQ }));
}
