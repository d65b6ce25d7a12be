/**
 * A classic BPF interpreter for the instructions nfct's event filters use, with the netlink
 * extensions `SKF_AD_NLATTR` / `SKF_AD_NLATTR_NEST` as the kernel implements them
 * (net/core/filter.c bpf_skb_get_nlattr{,_nest}; lib/nlattr.c nla_find). Tests run programs
 * on real message bytes without a socket.
 * @module
 */
import { HOST_LE } from "../../netlink/message.ts";

const SKF_AD_OFF = 0xfffff000;

function nlaFind(dv: DataView, start: number, len: number, type: number): number {
  let p = start, rem = len;
  while (rem >= 4) {
    const l = dv.getUint16(p, HOST_LE);
    if (l < 4 || l > rem) return 0;
    if ((dv.getUint16(p + 2, HOST_LE) & 0x3fff) === type) return p;
    const adv = (l + 3) & ~3;
    p += adv;
    rem -= adv;
  }
  return 0;
}

/** Runs `program` on the message `msg`; returns the filter's verdict (0 = drop). */
export function runBpf(program: Uint8Array, msg: Uint8Array): number {
  const pv = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const len = msg.length;
  const M = new Uint32Array(16);
  let A = 0, X = 0;
  for (let pc = 0; pc < program.length / 8;) {
    const code = pv.getUint16(pc * 8, HOST_LE),
      jt = pv.getUint8(pc * 8 + 2),
      jf = pv.getUint8(pc * 8 + 3);
    const k = pv.getUint32(pc * 8 + 4, HOST_LE);
    pc++;
    const load = (off: number, size: number): number | undefined => {
      if (off < 0 || off + size > len) return undefined;
      return size === 4
        ? dv.getUint32(off, false)
        : size === 2
        ? dv.getUint16(off, false)
        : dv.getUint8(off);
    };
    switch (code) {
      case 0x00:
        A = k;
        break; // ld #k
      case 0x01:
        X = k;
        break; // ldx #k
      case 0x60:
        A = M[k];
        break; // ld M[k]
      case 0x02:
        M[k] = A;
        break; // st M[k]
      case 0x07:
        X = A;
        break; // tax
      case 0x54:
        A = (A & k) >>> 0;
        break; // and #k
      case 0x20: { // ld [k] (word, absolute) or ancillary
        if (k === SKF_AD_OFF + 12) {
          A = len < 4 || A > len - 4 ? 0 : nlaFind(dv, A, len - A, X);
        } else if (k === SKF_AD_OFF + 16) {
          if (A > len - 4) A = 0;
          else {
            const l = dv.getUint16(A, HOST_LE);
            A = l > len - A ? 0 : nlaFind(dv, A + 4, l - 4, X);
          }
        } else {
          const v = load(k, 4);
          if (v === undefined) return 0;
          A = v;
        }
        break;
      }
      case 0x30:
      case 0x28: { // ldb [k], ldh [k]
        const v = load(k, code === 0x30 ? 1 : 2);
        if (v === undefined) return 0;
        A = v;
        break;
      }
      case 0x40:
      case 0x48:
      case 0x50: { // ld/ldh/ldb [x + k]
        const v = load(X + k, code === 0x40 ? 4 : code === 0x48 ? 2 : 1);
        if (v === undefined) return 0;
        A = v;
        break;
      }
      case 0x15:
        pc += A === k ? jt : jf;
        break; // jeq #k
      case 0x06:
        return k; // ret #k
      default:
        throw new Error(`BPF VM: opcode 0x${code.toString(16)} not supported`);
    }
  }
  throw new Error("BPF VM: fell off the end of the program");
}
