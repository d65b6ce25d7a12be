/**
 * A {@link Filter} as a classic BPF socket filter for event sockets (`SO_ATTACH_FILTER`), as
 * libnetfilter_conntrack does: the kernel then drops events nobody asked for before they are
 * queued, so they cost no receive buffer and no wake-up.
 *
 * The program walks the event's attributes with the netlink BPF extensions
 * (`SKF_AD_NLATTR`: find attribute X from offset A; `SKF_AD_NLATTR_NEST`: find X inside the
 * nested attribute at A). It only ever rejects an event that the userspace match would reject
 * too, and accepts whenever it cannot tell (an attribute it looks for is missing, or a condition
 * it does not express: CIDR on a zone, TCP state, tuple zones); every event is matched in
 * userspace afterwards, so the results are the same with or without it. Events of other
 * subsystems (expectations) always pass.
 *
 * ```
 * struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }   (host byte order, 8 bytes)
 * ```
 * @module
 */
import { HOST_LE, NLMSG_HDRLEN } from "../netlink/message.ts";
import { type Family, parsePrefix } from "./address.ts";
import * as C from "./constants.ts";
import { compileFilter, type Filter, type Filters, type TupleFilter } from "./filter.ts";
import { statusBits } from "./status.ts";
import { hasPorts } from "./protocols.ts";
import { protoNumber } from "./tuple.ts";

// linux/filter.h (classic BPF)
const BPF_LD = 0x00,
  BPF_LDX = 0x01,
  BPF_ST = 0x02,
  BPF_ALU = 0x04,
  BPF_JMP = 0x05,
  BPF_RET = 0x06,
  BPF_MISC = 0x07;
const BPF_W = 0x00, BPF_H = 0x08, BPF_B = 0x10;
const BPF_IMM = 0x00, BPF_ABS = 0x20, BPF_IND = 0x40, BPF_MEM = 0x60;
const BPF_AND = 0x50, BPF_JEQ = 0x10, BPF_K = 0x00, BPF_TAX = 0x00;
const SKF_AD_OFF = -0x1000;
const SKF_AD_NLATTR = 12;
const SKF_AD_NLATTR_NEST = 16;
/** Return values: keep the whole message, or drop it. */
const ACCEPT = 0xffffffff, REJECT = 0;
/** Offset of the first attribute: nlmsghdr + nfgenmsg. */
const ATTRS = NLMSG_HDRLEN + 4;

interface Ins {
  code: number;
  jt: number | string;
  jf: number | string;
  k: number;
}

/** A tiny assembler: forward jumps to labels, resolved (and range-checked) at the end. */
class Asm {
  ins: Ins[] = [];
  #labels = new Map<string, number>();
  #n = 0;

  op(code: number, k = 0, jt: number | string = 0, jf: number | string = 0): void {
    this.ins.push({ code, jt, jf, k: k >>> 0 });
  }
  label(): string {
    return `L${this.#n++}`;
  }
  here(l: string): void {
    this.#labels.set(l, this.ins.length);
  }
  /** `if (A == k) goto jt else goto jf`. */
  jeq(k: number, jt: number | string, jf: number | string): void {
    this.op(BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf);
  }
  ret(v: number): void {
    this.op(BPF_RET | BPF_K, v);
  }
  /** A = offset of top-level attribute `type`, 0 when absent. */
  findTop(type: number): void {
    this.op(BPF_LD | BPF_IMM, ATTRS);
    this.op(BPF_LDX | BPF_IMM, type);
    this.op(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_NLATTR);
  }
  /** A = offset of attribute `type` nested in the attribute at M[slot], 0 when absent. */
  findIn(slot: number, type: number): void {
    this.op(BPF_LD | BPF_MEM, slot);
    this.op(BPF_LDX | BPF_IMM, type);
    this.op(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_NLATTR_NEST);
  }
  /** When A is 0 (attribute absent): accept, the userspace match decides. */
  acceptIfAbsent(): void {
    this.jeq(0, 0, 1);
    this.ret(ACCEPT);
  }
  store(slot: number): void {
    this.op(BPF_ST, slot);
  }
  /** X = A; A = payload of the attribute at X, `size` (BPF_W/H/B) at byte `at` of the payload. */
  loadPayload(size: number, at = 0): void {
    this.op(BPF_MISC | BPF_TAX);
    this.op(BPF_LD | size | BPF_IND, 4 + at);
  }
  and(mask: number): void {
    this.op(BPF_ALU | BPF_AND | BPF_K, mask);
  }
  /** Continue if A == k, else drop the message. */
  requireEq(k: number): void {
    this.jeq(k, 1, 0);
    this.ret(REJECT);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.ins.length * 8);
    const dv = new DataView(out.buffer);
    this.ins.forEach((x, i) => {
      const rel = (j: number | string) => {
        if (typeof j === "number") return j;
        const at = this.#labels.get(j);
        if (at === undefined) throw new Error(`BPF: label ${j} was never placed`);
        const d = at - i - 1;
        if (d < 0 || d > 255) throw new RangeError(`BPF: jump of ${d} from ${i} does not fit`);
        return d;
      };
      dv.setUint16(i * 8, x.code, HOST_LE);
      dv.setUint8(i * 8 + 2, rel(x.jt));
      dv.setUint8(i * 8 + 3, rel(x.jf));
      dv.setUint32(i * 8 + 4, x.k, HOST_LE);
    });
    return out;
  }
}

const M_TUPLE = 0, M_IP = 1, M_PROTO = 2;

/** A u32 compared under a mask; an absent attribute counts as 0 (as the userspace match does). */
function maskedU32(a: Asm, type: number, value: number, mask: number, size = BPF_W): void {
  const ok = a.label(), fail = a.label();
  a.findTop(type);
  a.jeq(0, ((0 & mask) >>> 0) === value ? ok : fail, 0);
  a.loadPayload(size);
  if (mask !== 0xffffffff) a.and(mask);
  a.jeq(value, ok, fail);
  a.here(fail);
  a.ret(REJECT);
  a.here(ok);
}

/** Checks one tuple's address prefixes and (when `proto` has ports) ports. */
function tupleChecks(
  a: Asm,
  attr: number,
  t: TupleFilter,
  family: Family | undefined,
  proto: number | undefined,
): void {
  const addrs: [number, string][] = [];
  // (Addresses imply the family, so it is known whenever there are any.)
  if (family && t.src !== undefined) {
    addrs.push([family === "ipv4" ? C.CTA_IP_V4_SRC : C.CTA_IP_V6_SRC, t.src]);
  }
  if (family && t.dst !== undefined) {
    addrs.push([family === "ipv4" ? C.CTA_IP_V4_DST : C.CTA_IP_V6_DST, t.dst]);
  }
  const ports: [number, number][] = [];
  if (proto !== undefined && hasPorts(proto)) {
    if (t.sport !== undefined) ports.push([C.CTA_PROTO_SRC_PORT, t.sport]);
    if (t.dport !== undefined) ports.push([C.CTA_PROTO_DST_PORT, t.dport]);
  }
  if (addrs.length === 0 && ports.length === 0) return;
  a.findTop(attr);
  a.acceptIfAbsent();
  a.store(M_TUPLE);
  if (addrs.length) {
    a.findIn(M_TUPLE, C.CTA_TUPLE_IP);
    a.acceptIfAbsent();
    a.store(M_IP);
    for (const [type, s] of addrs) {
      const p = parsePrefix(s);
      a.findIn(M_IP, type);
      a.acceptIfAbsent();
      a.op(BPF_MISC | BPF_TAX);
      const be32 = (b: Uint8Array, w: number) =>
        ((b[4 * w] << 24) | (b[4 * w + 1] << 16) | (b[4 * w + 2] << 8) | b[4 * w + 3]) >>> 0;
      for (let w = 0; w < p.bytes.length / 4; w++) {
        const mask = be32(p.mask, w);
        if (mask === 0) continue;
        const word = be32(p.bytes, w);
        a.op(BPF_LD | BPF_W | BPF_IND, 4 + 4 * w);
        if (mask !== 0xffffffff) a.and(mask);
        a.requireEq((word & mask) >>> 0);
      }
    }
  }
  if (ports.length) {
    a.findIn(M_TUPLE, C.CTA_TUPLE_PROTO);
    a.acceptIfAbsent();
    a.store(M_PROTO);
    for (const [type, port] of ports) {
      a.findIn(M_PROTO, type);
      a.acceptIfAbsent();
      a.loadPayload(BPF_H);
      a.requireEq(port);
    }
  }
}

/**
 * Compiles the kernel-expressible part of `filter` into a socket filter program for conntrack
 * event sockets; undefined when there is nothing for the kernel to check.
 * @throws like {@link compileFilter} on an invalid filter.
 */
export function compileEventFilter(filters: Filters | undefined): Uint8Array | undefined {
  const cf = compileFilter(filters); // validates
  // An any-of list is matched in userspace only.
  if (!filters || cf.empty || Array.isArray(filters)) return undefined;
  const filter = filters as Filter;
  const a = new Asm();
  // Not a ctnetlink message (an expectation event): accept. nlmsg_type is host-endian.
  a.op(BPF_LD | BPF_B | BPF_ABS, HOST_LE ? 5 : 4);
  a.jeq(C.NFNL_SUBSYS_CTNETLINK, 1, 0);
  a.ret(ACCEPT);
  const start = a.ins.length;
  // The family: given, or implied by the addresses.
  let family = filter.family;
  for (const s of [filter.src, filter.dst, filter.reply?.src, filter.reply?.dst]) {
    if (s !== undefined) family ??= parsePrefix(s).family;
  }
  if (family) {
    a.op(BPF_LD | BPF_B | BPF_ABS, NLMSG_HDRLEN); // nfgen_family
    a.requireEq(family === "ipv4" ? C.AF_INET : C.AF_INET6);
  }
  const proto = filter.proto === undefined ? undefined : protoNumber(filter.proto);
  if (proto !== undefined) {
    a.findTop(C.CTA_TUPLE_ORIG);
    a.acceptIfAbsent();
    a.store(M_TUPLE);
    a.findIn(M_TUPLE, C.CTA_TUPLE_PROTO);
    a.acceptIfAbsent();
    a.store(M_PROTO);
    a.findIn(M_PROTO, C.CTA_PROTO_NUM);
    a.acceptIfAbsent();
    a.loadPayload(BPF_B);
    a.requireEq(proto);
  }
  tupleChecks(a, C.CTA_TUPLE_ORIG, filter, family, proto);
  if (filter.reply) tupleChecks(a, C.CTA_TUPLE_REPLY, filter.reply, family, proto);
  if (filter.mark !== undefined) {
    const m = typeof filter.mark === "number"
      ? { value: filter.mark, mask: 0xffffffff }
      : filter.mark;
    maskedU32(a, C.CTA_MARK, m.value >>> 0, m.mask >>> 0);
  }
  if (filter.status !== undefined) {
    const s = Array.isArray(filter.status)
      ? { value: statusBits(filter.status), mask: statusBits(filter.status) }
      : { value: statusBits(filter.status.value), mask: statusBits(filter.status.mask) };
    maskedU32(a, C.CTA_STATUS, (s.value & s.mask) >>> 0, s.mask >>> 0);
  }
  if (filter.zone !== undefined) maskedU32(a, C.CTA_ZONE, filter.zone, 0xffffffff, BPF_H);
  if (a.ins.length === start) return undefined; // nothing the kernel can check (e.g. only state)
  a.ret(ACCEPT);
  return a.bytes();
}
