/**
 * Reading conntrack events in kernel tests: flows to make events with, and a reader with a
 * deadline.
 * @module
 */
import type { ConntrackEvent, EventStream, Flow } from "../../mod.ts";

/** UDP flow `i` from 10.`net8`.x.y to 10.99.0.1:53, 300 s. */
export function udpFlow(i: number, net8 = 20): Flow {
  return {
    family: "ipv4",
    proto: "udp",
    timeout: 300,
    orig: {
      src: `10.${net8}.${(i >> 8) & 255}.${i & 255}`,
      dst: "10.99.0.1",
      sport: 1000 + (i % 50000),
      dport: 53,
    },
  } as Flow;
}

/** Reads events until `done` says so; fails after `ms`. Leaves the stream open. */
export async function readUntil(
  stream: EventStream,
  done: (ev: ConntrackEvent, all: ConntrackEvent[]) => boolean,
  ms = 10000,
): Promise<ConntrackEvent[]> {
  const all: ConntrackEvent[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((
      r,
    ) => (timer = setTimeout(() => r("timeout"), Math.max(0, deadline - Date.now()))));
    const r = await Promise.race([stream.next(), timeout]);
    clearTimeout(timer);
    if (r === "timeout") throw new Error(`timed out after ${ms} ms with ${all.length} events`);
    if (r.done) throw new Error(`the stream ended after ${all.length} events`);
    all.push(r.value);
    if (done(r.value, all)) return all;
  }
}

/** Whether the event is about a flow (not an overrun or a resync marker). */
export const isFlow = (ev: ConntrackEvent): ev is Extract<ConntrackEvent, { flow: Flow }> =>
  "flow" in ev;
