/**
 * A deterministic mutation fuzzer for nfct's decoders and reply reader, seeded with real kernel
 * datagrams (test/fixtures/real_dump_*.hex). Used by test/unit/fuzz_test.ts (a short run) and
 * scripts/fuzz.ts (a long one).
 *
 * The contract it checks: malformed bytes are a `RangeError`, or decode to something. Reading
 * replies may also end in `NetlinkError` (the mutated bytes said the kernel refused, or the dump
 * was interrupted) or in {@link ScriptExhausted} (they no longer said the reply was over, so a
 * real socket would wait for more). Any other exception is a failure, and so is a socket left
 * unable to serve the next request.
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import { decodeCpuStats, decodeGlobalStats } from "../../conntrack/stats.ts";
import * as C from "../../conntrack/constants.ts";
import { encodeFlow, type Flow, FlowDecoder, validateFlow, writeNfgenmsg } from "../../conntrack/flow.ts";
import { MessageBuilder } from "../../netlink/attribute.ts";
import { NetlinkError } from "../../netlink/errors.ts";
import { NLA_F_NESTED } from "../../netlink/attribute.ts";
import {
  HOST_LE,
  NLMSG_ALIGN,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  readDone,
  readError,
} from "../../netlink/message.ts";
import { NetlinkSocket, type Transport } from "../../netlink/socket.ts";
import { datagram, doneMessage, errorMessage, loadRealDump, reseq, ScriptExhausted, splitMessages, toHex } from "./_scripted.ts";
import { Rng } from "../_helpers/rng.ts";

const INTERESTING_8 = [0, 1, 3, 4, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_16 = [0, 1, 3, 4, 5, 8, 15, 16, 19, 20, 0x7fff, 0x8000, 0xfffc, 0xffff];
const INTERESTING_32 = [0, 1, 15, 16, 19, 20, 35, 36, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

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
        if (n) for (let i = 1 + rng.int(4); i > 0; i--) d[rng.int(n)] ^= 1 << rng.int(8);
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
function encodedFlows(): Uint8Array[] {
  const orig = { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 2000 };
  const flows: (Partial<Flow> & Pick<Flow, "proto">)[] = [
    { proto: "tcp", orig, timeout: 1, natSrc: { minIp: "10.9.0.1", maxIp: "10.9.0.9", minPort: 1, maxPort: 9 } },
    { proto: "tcp", orig, timeout: 1, natDst: { minIp: "10.9.0.1", maxIp: "10.9.0.2" } },
    { proto: "udp", orig: { src: "fd00::1", dst: "fd00::2", sport: 1, dport: 2 }, timeout: 1, natDst: { minIp: "fd00::9" } },
    { proto: "tcp", orig, timeout: 1, seqAdjOrig: { correctionPos: 1, offsetBefore: 2, offsetAfter: 3 }, seqAdjReply: { correctionPos: 4, offsetBefore: 5, offsetAfter: 6 } },
    { proto: "tcp", orig, timeout: 1, labels: [0, 31, 32, 127], labelsMask: [0, 127] },
    { proto: "tcp", orig, timeout: 1, helper: "ftp", helperInfo: new Uint8Array([1, 2, 3]) },
    { proto: "tcp", orig, timeout: 1, tcp: { state: "SYN_SENT", flagsOrig: { flags: 2, mask: 2 }, flagsReply: { flags: 0, mask: 0 } }, synproxy: { isn: 1, its: 2, tsoff: 3 } },
    { proto: "sctp", orig, timeout: 1, sctp: { state: "ESTABLISHED", vtagOrig: 1, vtagReply: 2 } },
    { proto: "dccp", orig, timeout: 1, dccp: { state: "OPEN", role: 1, handshakeSeq: 5n } },
    { proto: "udp", orig, timeout: 1, master: { proto: "tcp", src: "10.0.0.1", dst: "10.0.0.2", sport: 21, dport: 2100 } },
    { proto: "gre", orig: { src: "10.0.0.1", dst: "10.0.0.2", srcKey: 1, dstKey: 2 }, timeout: 1, unknown: [{ type: 99, data: new Uint8Array([1, 2, 3, 4, 5]) }] },
  ];
  return flows.map((flow) => {
    const b = new MessageBuilder();
    const f = validateFlow(flow, "create");
    const at = b.begin((C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_NEW, 0, SEQ);
    writeNfgenmsg(b, f.family === "ipv6" ? C.AF_INET6 : C.AF_INET);
    encodeFlow(b, f, "create");
    b.end(at);
    return b.bytes().slice();
  });
}

/** One failing input: what was fed to which target, and what it threw. */
export interface FuzzFailure {
  iteration: number;
  target: string;
  /** The datagrams (or the single message) fed in. */
  input: Uint8Array[];
  error: unknown;
}

/** Per-target counts of a run. */
export interface TargetStats {
  runs: number;
  /** Inputs that decoded (or were read) without an exception. */
  ok: number;
  /** Inputs rejected with an allowed exception. */
  rejected: number;
}

/** The outcome of {@link Fuzzer.run}. */
export interface FuzzReport {
  inputs: number;
  failures: FuzzFailure[];
  targets: Record<string, TargetStats>;
}

/** Seq every replayed reply carries. */
const SEQ = 0x5eed;

/** A transport that replays the datagrams of one input, then reports that it would block. */
class ReplayTransport implements Transport {
  readonly portId = 0x1234;
  grams: Uint8Array[] = [];
  #i = 0;
  load(grams: Uint8Array[]): void {
    this.grams = grams;
    this.#i = 0;
  }
  send(): void {}
  recv(buf: Uint8Array, wait: boolean): number {
    const d = this.grams[this.#i++];
    if (!d && !wait) return -1;
    if (!d) throw new ScriptExhausted("replay: nothing more queued");
    buf.set(d.subarray(0, Math.min(d.length, buf.length)));
    return d.length;
  }
  receiveBufferSize(): number {
    return 1 << 20;
  }
  close(): void {}
}

/** Loads the real captures and fuzzes every target with a seeded PRNG. */
export class Fuzzer {
  readonly rng: Rng;
  #dec = new FlowDecoder();
  #t = new ReplayTransport();
  #sock = new NetlinkSocket(() => this.#t);
  // Seeds.
  #flowMsgs: Uint8Array[];
  #cpuMsgs: Uint8Array[];
  #globalMsgs: Uint8Array[];
  #errorMsgs: Uint8Array[];
  #doneMsgs: Uint8Array[];
  #flowDump: Uint8Array[];
  #cpuDump: Uint8Array[];
  #get: Uint8Array[];
  #batch: Uint8Array[];
  #donors: Uint8Array[];
  #stats: Record<string, TargetStats> = {};

  constructor(seed: number) {
    this.rng = new Rng(seed);
    const at = (name: string) => loadRealDump(name).map((d) => reseq(d, SEQ));
    const msgs = (grams: Uint8Array[]) => grams.flatMap((g) => splitMessages(g).map((m) => m.bytes));
    const typed = (grams: Uint8Array[], type: number) =>
      msgs(grams).filter((m) => new DataView(m.buffer).getUint16(4, HOST_LE) === type);
    this.#flowDump = at("flows");
    this.#cpuDump = at("stats_cpu");
    this.#get = at("get");
    this.#batch = at("batch");
    const globalStats = at("stats_global");
    const errors = [...at("error_eexist"), ...at("error_enoent"), ...at("error_extack")];
    this.#flowMsgs = [...typed(this.#flowDump, 0x100), ...typed(this.#get, 0x100), ...encodedFlows()];
    this.#cpuMsgs = typed(this.#cpuDump, 0x104);
    this.#globalMsgs = typed(globalStats, 0x105);
    // Real errors and ACKs, plus the shapes the capture could not provoke: a whole echoed
    // request (no NLM_F_CAPPED) with TLVs, and a DONE carrying an error and a message.
    const req = splitMessages(this.#flowMsgs[0])[0];
    this.#errorMsgs = [
      ...errors,
      ...msgs(this.#batch),
      ...typed(this.#get, NLMSG_ERROR),
      errorMessage(req, 22, { capped: false, message: "bad attribute", offset: 40, missingType: 3 }),
      errorMessage(req, 95, { message: "not supported" }),
    ];
    this.#doneMsgs = [
      ...typed(this.#flowDump, NLMSG_DONE),
      ...typed(this.#cpuDump, NLMSG_DONE),
      doneMessage(req, 12, { message: "dump failed", offset: 4 }),
    ];
    this.#donors = [...this.#flowMsgs, ...this.#cpuMsgs, ...this.#globalMsgs, ...this.#errorMsgs, ...this.#doneMsgs];
  }

  /** Per-target counts so far. */
  get targets(): Record<string, TargetStats> {
    return this.#stats;
  }

  #count(target: string, ok: boolean): void {
    const s = (this.#stats[target] ??= { runs: 0, ok: 0, rejected: 0 });
    s.runs++;
    if (ok) s.ok++;
    else s.rejected++;
  }

  /**
   * A message placed at a random offset of a buffer with random bytes around it (at least 32
   * after it, so a decoder that reads past the message's end reads random bytes, not zeros).
   */
  #embed(msg: Uint8Array): { dv: DataView; off: number } {
    const pre = this.rng.int(8), post = 32 + this.rng.int(8);
    const buf = new Uint8Array(pre + msg.length + post);
    for (let i = 0; i < pre; i++) buf[i] = this.rng.int(256);
    for (let i = buf.length - post; i < buf.length; i++) buf[i] = this.rng.int(256);
    buf.set(msg, pre);
    return { dv: new DataView(buf.buffer), off: pre };
  }

  /** A dump of 1..6 real flow messages in 1..3 datagrams, the last ending in NLMSG_DONE. */
  #miniDump(): Uint8Array[] {
    const rng = this.rng;
    const n = 1 + rng.int(6);
    const picked = Array.from({ length: n }, () => rng.pick(this.#flowMsgs));
    const cut = new Set<number>();
    for (let i = rng.int(3); i > 0; i--) cut.add(1 + rng.int(n));
    const grams: Uint8Array[] = [];
    let cur: Uint8Array[] = [];
    picked.forEach((m, i) => {
      if (cut.has(i) && cur.length) {
        grams.push(datagram(...cur));
        cur = [];
      }
      cur.push(m);
    });
    cur.push(rng.pick(this.#doneMsgs.slice(0, 2)));
    grams.push(datagram(...cur));
    return grams;
  }

  /** Runs one input against one target. Returns the failure, if it is one. */
  step(iteration: number): FuzzFailure | undefined {
    const rng = this.rng;
    const r = rng.int(100);
    let target: string;
    let input: Uint8Array[];
    let run: () => void;
    let allowed: (e: unknown) => boolean = (e) => e instanceof RangeError;
    if (r < 35) {
      target = "FlowDecoder.decode";
      const m = mutate(rng, rng.pick(this.#flowMsgs), this.#donors);
      input = [m];
      run = () => {
        const { dv, off } = this.#embed(m);
        const f = this.#dec.decode(dv, off, m.length);
        if (typeof f.orig?.src !== "string" || typeof f.reply?.src !== "string" || f.proto === undefined) {
          throw new Error("decoded a flow without its tuples");
        }
        { // the decoder reads only its message: other bytes around it change nothing
          const other = this.#embed(m);
          if (!isDeepStrictEqual(this.#dec.decode(other.dv, other.off, m.length), f)) {
            throw new Error("decoding depends on bytes outside the message");
          }
        }
      };
    } else if (r < 45) {
      const cpu = rng.int(2) === 0;
      target = cpu ? "decodeCpuStats" : "decodeGlobalStats";
      const m = mutate(rng, rng.pick(cpu ? this.#cpuMsgs : this.#globalMsgs), this.#donors);
      input = [m];
      run = () => {
        const { dv, off } = this.#embed(m);
        const s = cpu ? decodeCpuStats(dv, off, m.length) : decodeGlobalStats(dv, off, m.length);
        for (const v of Object.values(s)) if (!Number.isInteger(v)) throw new Error(`decoded a non-integer ${v}`);
      };
    } else if (r < 60) {
      const done = rng.int(4) === 0;
      target = done ? "readDone" : "readError";
      const m = mutate(rng, rng.pick(done ? this.#doneMsgs : this.#errorMsgs), this.#donors);
      input = [m];
      run = () => {
        const { dv, off } = this.#embed(m);
        const flags = m.length >= 8 ? new DataView(m.buffer).getUint16(6, HOST_LE) : rng.int(0x10000);
        const e = done ? readDone(dv, off, m.length, flags) : readError(dv, off, m.length, flags);
        if (!Number.isInteger(e.errno) || e.errno < 0 || Object.is(e.errno, -0)) throw new Error(`decoded errno ${e.errno}`);
        if (e.offset !== undefined && !Number.isInteger(e.offset)) throw new Error(`decoded offset ${e.offset}`);
      };
    } else if (r < 90) {
      target = "NetlinkSocket.replies";
      const kind = rng.int(10);
      const grams = kind < 6 ? this.#miniDump() : kind < 7 ? this.#flowDump : kind < 8 ? this.#cpuDump : this.#get;
      const dump = kind < 8;
      input = grams.slice();
      for (let i = 1 + rng.int(2); i > 0; i--) {
        const k = rng.int(input.length);
        input[k] = mutate(rng, input[k], this.#donors);
      }
      allowed = (e) => e instanceof RangeError || e instanceof NetlinkError || e instanceof ScriptExhausted;
      run = () => {
        this.#t.load(input);
        const cpu = kind === 7;
        for (const rep of this.#sock.replies(SEQ, "Cannot fuzz", dump)) {
          if (cpu) decodeCpuStats(rep.dv, rep.offset, rep.length);
          else this.#dec.decode(rep.dv, rep.offset, rep.length);
        }
      };
    } else {
      const grams = rng.int(2) ? this.#batch.slice() : [datagram(...this.#batch)];
      const k = rng.int(grams.length);
      grams[k] = mutate(rng, grams[k], this.#donors);
      input = grams;
      allowed = (e) => e instanceof RangeError || e instanceof ScriptExhausted;
      target = rng.int(2) ? "NetlinkSocket.drainBatch" : "NetlinkSocket.drainErrors";
      if (target === "NetlinkSocket.drainErrors") {
        run = () => {
          this.#t.load(input);
          let errors = 0;
          const n = this.#sock.drainErrors({ first: SEQ, count: 3, op: "Cannot fuzz", onOutcome: (o) => {
            errors++;
            if (!Number.isInteger(o.errno) || o.errno <= 0) throw new Error(`error outcome with errno ${o.errno}`);
          } });
          if (n !== errors) throw new Error(`drainErrors counted ${n} errors but reported ${errors}`);
        };
      } else run = () => {
        this.#t.load(input);
        let outcomes = 0;
        this.#sock.drainBatch({ first: SEQ, count: 3, op: "Cannot fuzz", onOutcome: (o) => {
          outcomes++;
          if (!Number.isInteger(o.errno) || o.errno < 0 || Object.is(o.errno, -0)) throw new Error(`outcome errno ${o.errno}`);
        } });
        if (outcomes < 3) throw new Error(`drainBatch returned after ${outcomes} of 3 outcomes`);
      };
    }
    try {
      run();
      this.#count(target, true);
    } catch (error) {
      if (!allowed(error)) {
        this.#count(target, false);
        return { iteration, target, input, error };
      }
      this.#count(target, false);
    }
    // The socket must still serve a request after whatever the input did to it.
    if (target.startsWith("NetlinkSocket") && (iteration & 63) === 0) {
      this.#t.load(this.#get);
      let n = 0;
      try {
        for (const rep of this.#sock.replies(SEQ, "Cannot fuzz", false)) n += this.#dec.decode(rep.dv, rep.offset, rep.length) ? 1 : 0;
      } catch (error) {
        return { iteration, target: `${target} (then a clean GET)`, input, error };
      }
      if (n !== 1) return { iteration, target: `${target} (then a clean GET)`, input, error: new Error(`clean GET gave ${n} flows`) };
    }
    return undefined;
  }

  /** Runs `count` inputs; stops early after `maxFailures` failures. */
  run(count: number, maxFailures = 10): FuzzReport {
    const failures: FuzzFailure[] = [];
    for (let i = 0; i < count && failures.length < maxFailures; i++) {
      const f = this.step(i);
      if (f) failures.push(f);
    }
    return { inputs: count, failures, targets: this.#stats };
  }
}

/** A failure as text: target, error, and the input as hex (one datagram per line). */
export function describeFailure(f: FuzzFailure): string {
  const err = f.error instanceof Error ? `${f.error.name}: ${f.error.message}\n${f.error.stack ?? ""}` : String(f.error);
  return `input #${f.iteration} → ${f.target} threw ${err}\n${f.input.map(toHex).join("\n")}`;
}
