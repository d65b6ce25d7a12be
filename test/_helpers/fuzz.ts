/**
 * A deterministic mutation fuzzer for nfct's decoders and reply reader, seeded with real kernel
 * datagrams (test/fixtures/real_dump_*.hex). Used by test/unit/conntrack/fuzz_test.ts (a short run) and
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
import { FlowDecoder } from "../../conntrack/flow_decode.ts";
import { NetlinkError } from "../../netlink/errors.ts";
import { HOST_LE, NLMSG_DONE, NLMSG_ERROR, readDone, readError } from "../../netlink/message.ts";
import { NetlinkSocket } from "../../netlink/socket.ts";
import type { Transport } from "../../netlink/transport.ts";
import { toHex } from "./hex.ts";
import {
  datagram,
  doneMessage,
  errorMessage,
  loadRealDump,
  reseq,
  ScriptExhausted,
  splitMessages,
} from "./scripted.ts";
import { Rng } from "./rng.ts";
import { encodedFlows, mutate, SEQ } from "./fuzz_inputs.ts";

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
    const msgs = (grams: Uint8Array[]) =>
      grams.flatMap((g) => splitMessages(g).map((m) => m.bytes));
    const typed = (grams: Uint8Array[], type: number) =>
      msgs(grams).filter((m) => new DataView(m.buffer).getUint16(4, HOST_LE) === type);
    this.#flowDump = at("flows");
    this.#cpuDump = at("stats_cpu");
    this.#get = at("get");
    this.#batch = at("batch");
    const globalStats = at("stats_global");
    const errors = [...at("error_eexist"), ...at("error_enoent"), ...at("error_extack")];
    this.#flowMsgs = [
      ...typed(this.#flowDump, 0x100),
      ...typed(this.#get, 0x100),
      ...encodedFlows(),
    ];
    this.#cpuMsgs = typed(this.#cpuDump, 0x104);
    this.#globalMsgs = typed(globalStats, 0x105);
    // Real errors and ACKs, plus the shapes the capture could not provoke: a whole echoed
    // request (no NLM_F_CAPPED) with TLVs, and a DONE carrying an error and a message.
    const req = splitMessages(this.#flowMsgs[0])[0];
    this.#errorMsgs = [
      ...errors,
      ...msgs(this.#batch),
      ...typed(this.#get, NLMSG_ERROR),
      errorMessage(req, 22, {
        capped: false,
        message: "bad attribute",
        offset: 40,
        missingType: 3,
      }),
      errorMessage(req, 95, { message: "not supported" }),
    ];
    this.#doneMsgs = [
      ...typed(this.#flowDump, NLMSG_DONE),
      ...typed(this.#cpuDump, NLMSG_DONE),
      doneMessage(req, 12, { message: "dump failed", offset: 4 }),
    ];
    this.#donors = [
      ...this.#flowMsgs,
      ...this.#cpuMsgs,
      ...this.#globalMsgs,
      ...this.#errorMsgs,
      ...this.#doneMsgs,
    ];
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
        if (
          typeof f.orig?.src !== "string" || typeof f.reply?.src !== "string" ||
          f.proto === undefined
        ) {
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
        for (const v of Object.values(s)) {
          if (!Number.isInteger(v)) throw new Error(`decoded a non-integer ${v}`);
        }
      };
    } else if (r < 60) {
      const done = rng.int(4) === 0;
      target = done ? "readDone" : "readError";
      const m = mutate(rng, rng.pick(done ? this.#doneMsgs : this.#errorMsgs), this.#donors);
      input = [m];
      run = () => {
        const { dv, off } = this.#embed(m);
        const flags = m.length >= 8
          ? new DataView(m.buffer).getUint16(6, HOST_LE)
          : rng.int(0x10000);
        const e = done ? readDone(dv, off, m.length, flags) : readError(dv, off, m.length, flags);
        if (!Number.isInteger(e.errno) || e.errno < 0 || Object.is(e.errno, -0)) {
          throw new Error(`decoded errno ${e.errno}`);
        }
        if (e.offset !== undefined && !Number.isInteger(e.offset)) {
          throw new Error(`decoded offset ${e.offset}`);
        }
      };
    } else if (r < 90) {
      target = "NetlinkSocket.replies";
      const kind = rng.int(10);
      const grams = kind < 6
        ? this.#miniDump()
        : kind < 7
        ? this.#flowDump
        : kind < 8
        ? this.#cpuDump
        : this.#get;
      const dump = kind < 8;
      input = grams.slice();
      for (let i = 1 + rng.int(2); i > 0; i--) {
        const k = rng.int(input.length);
        input[k] = mutate(rng, input[k], this.#donors);
      }
      allowed = (e) =>
        e instanceof RangeError || e instanceof NetlinkError || e instanceof ScriptExhausted;
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
          const n = this.#sock.drainErrors({
            first: SEQ,
            count: 3,
            op: "Cannot fuzz",
            onOutcome: (o) => {
              errors++;
              if (!Number.isInteger(o.errno) || o.errno <= 0) {
                throw new Error(`error outcome with errno ${o.errno}`);
              }
            },
          });
          if (n !== errors) {
            throw new Error(`drainErrors counted ${n} errors but reported ${errors}`);
          }
        };
      } else {run = () => {
          this.#t.load(input);
          let outcomes = 0;
          this.#sock.drainBatch({
            first: SEQ,
            count: 3,
            op: "Cannot fuzz",
            onOutcome: (o) => {
              outcomes++;
              if (!Number.isInteger(o.errno) || o.errno < 0 || Object.is(o.errno, -0)) {
                throw new Error(`outcome errno ${o.errno}`);
              }
            },
          });
          if (outcomes < 3) throw new Error(`drainBatch returned after ${outcomes} of 3 outcomes`);
        };}
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
        for (const rep of this.#sock.replies(SEQ, "Cannot fuzz", false)) {
          n += this.#dec.decode(rep.dv, rep.offset, rep.length) ? 1 : 0;
        }
      } catch (error) {
        return { iteration, target: `${target} (then a clean GET)`, input, error };
      }
      if (n !== 1) {
        return {
          iteration,
          target: `${target} (then a clean GET)`,
          input,
          error: new Error(`clean GET gave ${n} flows`),
        };
      }
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
  const err = f.error instanceof Error
    ? `${f.error.name}: ${f.error.message}\n${f.error.stack ?? ""}`
    : String(f.error);
  return `input #${f.iteration} → ${f.target} threw ${err}\n${
    f.input.map((b) => toHex(b)).join("\n")
  }`;
}
