/**
 * Traffic rates of flows from their accounting counters (`net.netfilter.nf_conntrack_acct=1`):
 * what each flow's byte and packet counters grew by between two dumps, over the time between
 * them. This is what `nfct top` ranks. No I/O here: the caller takes the dumps and the times.
 *
 * @example Busiest flows over one second
 * ```ts
 * import { Conntrack, RateMeter, rankRates } from "@nfct/nfct";
 * using ct = Conntrack.open();
 * const meter = new RateMeter();
 * meter.sample(ct.dump(), performance.now());
 * await new Promise((r) => setTimeout(r, 1000));
 * const { rates } = meter.sample(ct.dump(), performance.now());
 * for (const r of rankRates(rates, "bytesPerSecond", 10)) console.log(r.bytesPerSecond, r.flow.orig);
 * ```
 * @module
 */
import type { Flow } from "./flow.ts";

/** One flow's traffic: its totals at the latest dump and its rates since the dump before. */
export interface FlowRate {
  /** The flow as the latest dump returned it. */
  flow: Flow;
  /**
   * Whether the flow carries counters: only flows created while accounting was on do
   * (`counters` on {@link Flow}); the figures below are 0 for the others.
   */
  counted: boolean;
  /** Bytes in both directions since the flow began. */
  bytes: number;
  /** Packets in both directions since the flow began. */
  packets: number;
  /** Bytes per second in both directions since the previous dump (0 on the first). */
  bytesPerSecond: number;
  /** Packets per second in both directions since the previous dump (0 on the first). */
  packetsPerSecond: number;
}

/** What flows can be ranked by: {@link FlowRate} fields, largest first. */
export const RATE_ORDERS = ["bytesPerSecond", "packetsPerSecond", "bytes", "packets"] as const;
/** One of {@link RATE_ORDERS}. */
export type RateOrder = typeof RATE_ORDERS[number];

/** The rates of every flow of one dump. */
export interface RateSample {
  /** Seconds since the previous dump; 0 for the first (then every rate is 0). */
  seconds: number;
  /** One entry per flow of the dump, in dump order (counted or not). */
  rates: FlowRate[];
}

/**
 * A flow's identity across dumps: its id (`CTA_ID`) and original tuple, so that an id the
 * kernel hands out again to another connection is not taken for the old one.
 */
export function flowIdentity(f: Flow): string {
  const o = f.orig;
  return `${f.id ?? ""}|${f.family}|${f.proto}|${o.src}|${o.dst}|${o.sport ?? o.type ?? ""}|` +
    `${o.dport ?? o.code ?? ""}|${o.id ?? ""}|${f.zone ?? 0}`;
}

/** What a meter keeps of a flow until the next sample. */
interface Seen {
  flow: Flow;
  bytes: number;
  packets: number;
}

/** Whether two flows have the same original tuple and zone (what {@link flowIdentity} holds besides the id). */
function sameTuple(a: Flow, b: Flow): boolean {
  const x = a.orig, y = b.orig;
  return a.proto === b.proto && a.family === b.family && x.src === y.src && x.dst === y.dst &&
    x.sport === y.sport && x.dport === y.dport && x.type === y.type && x.code === y.code &&
    x.id === y.id && (a.zone ?? 0) === (b.zone ?? 0);
}

/**
 * Turns successive dumps into rates. Keeps each flow of the last dump and its totals until the
 * next sample.
 */
export class RateMeter {
  #previous = new Map<number | string, Seen>();
  #time: number | undefined;

  /**
   * Feeds the flows of one dump, taken at `timeMs` (milliseconds on any monotonic clock, e.g.
   * `performance.now()`), and returns every flow with its rates since the previous call. A flow
   * not seen before started after that dump, so all its traffic counts; a counter that went
   * down (zeroed with `conntrack -L -z`) counts from zero.
   * @throws {RangeError} when `timeMs` is before the previous sample's time.
   */
  sample(flows: Iterable<Flow>, timeMs: number): RateSample {
    if (this.#time !== undefined && timeMs < this.#time) {
      throw new RangeError(
        `Cannot measure rates: sample time ${timeMs} ms is before the previous one (${this.#time} ms)`,
      );
    }
    const seconds = this.#time === undefined ? 0 : (timeMs - this.#time) / 1000;
    const next = new Map<number | string, Seen>();
    const rates: FlowRate[] = [];
    for (const flow of flows) {
      const c = flow.counters;
      if (!c) {
        rates.push({
          flow,
          counted: false,
          bytes: 0,
          packets: 0,
          bytesPerSecond: 0,
          packetsPerSecond: 0,
        });
        continue;
      }
      const bytes = c.orig.bytes + c.reply.bytes;
      const packets = c.orig.packets + c.reply.packets;
      // By id (a number: cheap to hash), checked against the tuple; by identity without an id.
      const key = flow.id ?? flowIdentity(flow);
      const seen = this.#previous.get(key);
      const was = seen && sameTuple(seen.flow, flow) ? seen : undefined;
      next.set(key, { flow, bytes, packets });
      const grew = (now: number, then: number | undefined) =>
        seconds > 0 ? (then !== undefined && then <= now ? now - then : now) / seconds : 0;
      rates.push({
        flow,
        counted: true,
        bytes,
        packets,
        bytesPerSecond: grew(bytes, was?.bytes),
        packetsPerSecond: grew(packets, was?.packets),
      });
    }
    this.#previous = next;
    this.#time = timeMs;
    return { seconds, rates };
  }
}

/** The other figure that breaks a tie, so that equal rates still come out in a stable order. */
const TIE: Record<RateOrder, RateOrder> = {
  bytesPerSecond: "bytes",
  packetsPerSecond: "packets",
  bytes: "bytesPerSecond",
  packets: "packetsPerSecond",
};

/**
 * The counted flows of `rates`, largest `order` first (ties: by total for a rate, by rate for a
 * total, then in dump order), at most `limit` of them. Flows without counters are left out.
 * @throws {TypeError} on an unknown `order`.
 */
export function rankRates(
  rates: readonly FlowRate[],
  order: RateOrder,
  limit: number = Infinity,
): FlowRate[] {
  if (!(RATE_ORDERS as readonly string[]).includes(order)) {
    throw new TypeError(`Cannot rank flows: unknown order ${JSON.stringify(order)}`);
  }
  const tie = TIE[order];
  return rates.filter((r) => r.counted)
    .sort((a, b) => b[order] - a[order] || b[tie] - a[tie])
    .slice(0, Math.max(0, limit));
}
