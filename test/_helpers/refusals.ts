/**
 * Hostile API input, for the tests that check it is refused before anything is sent
 * (test/unit/conntrack/*_refusals_test.ts): every client runs on a scripted transport that
 * counts the netlink messages it was given, and {@link refused} asserts a TypeError or RangeError
 * with the count still 0 (a refusal after a GET_STATS, a dump or a first batch would be too late).
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Conntrack } from "../../conntrack/client.ts";
import { NLM_F_ACK, NLM_F_DUMP } from "../../netlink/message.ts";
import {
  ackMessage,
  doneMessage,
  scriptedFactory,
  type ScriptedTransport,
  type SentMessage,
} from "./scripted.ts";

/** A client on scripted transports that acknowledge everything; `sent()` counts messages. */
export function scripted() {
  const answer = (t: ScriptedTransport, msgs: SentMessage[]) => {
    for (const m of msgs) {
      if ((m.header.flags & NLM_F_DUMP) === NLM_F_DUMP) t.push(doneMessage(m));
      else if (m.header.flags & NLM_F_ACK) t.push(ackMessage(m));
    }
  };
  const f = scriptedFactory((t) => t.onSend = answer);
  const sent = () => f.opened.reduce((n, t) => n + t.sentMessages().length, 0);
  return { f, sent, open: () => Conntrack.open({ transport: f.factory }) };
}

/** A call of a client method, as a test makes it. */
export type Call = (ct: Conntrack) => unknown;

/** Runs `call` to completion (draining a returned iterator, closing a returned stream). */
export function run(ct: Conntrack, call: Call): void {
  const r = call(ct) as {
    next?: () => unknown;
    close?: () => void;
    [Symbol.asyncIterator]?: unknown;
  } | undefined;
  if (r && typeof r === "object" && Symbol.asyncIterator in r) {
    r.close?.();
    return;
  }
  if (
    r && typeof r === "object" && typeof (r as Iterable<unknown>)[Symbol.iterator] === "function" &&
    !Array.isArray(r)
  ) {
    for (const _ of r as Iterable<unknown>);
  }
}

/** Asserts that `call` throws TypeError or RangeError and that nothing was sent. */
export function refused(name: string, call: Call): void {
  test(`refused before sending: ${name}`, () => {
    const s = scripted();
    const ct = s.open();
    try {
      assert.throws(() => run(ct, call), (e: unknown) => {
        assert.ok(e instanceof TypeError || e instanceof RangeError, `${name}: threw ${String(e)}`);
        return true;
      });
      assert.equal(s.sent(), 0, `${name}: ${s.sent()} netlink messages were sent`);
    } finally {
      ct.close();
    }
  });
}

/** A method that must exist (the lead's branch adds some): its absence is a failure, not a pass. */
export function method(ct: Conntrack, name: string): (...a: unknown[]) => unknown {
  const m = (ct as unknown as Record<string, unknown>)[name];
  if (typeof m !== "function") throw new Error(`Conntrack.${name} does not exist`);
  return (m as (...a: unknown[]) => unknown).bind(ct);
}

/** A TCP tuple, and good flows and keys built on it (the tests patch them bad). */
export const ORIG = { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 80 };
export const KEY = { proto: "tcp", orig: ORIG };
export const CREATE = { proto: "tcp", orig: ORIG, timeout: 30 };
export const SCTP = { proto: "sctp", orig: ORIG };
export const DCCP = { proto: "dccp", orig: ORIG };
/** The attribute injection of issue 10: a helper name carrying netlink attributes. */
export const INJECTION = "\0\0\0\0" + "\x08\x00\x08\x00\x01\x02\x03\x04" +
  "\x04\x00\x7f\x00".repeat(16381);

/** Wrong integers for a field of `bits` bits. */
export function badInts(bits: 8 | 16 | 32): unknown[] {
  return [-1, 2 ** bits, 1.5, NaN, Infinity, "1", 1n, null, true, {}, [1]];
}

/** `n` distinct UDP keys. */
export const keys = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => ({
      proto: "udp" as const,
      orig: { src: "10.1.0.1", dst: "10.1.0.2", sport: 10000 + i, dport: 53 },
    }),
  );

/** A good expectation, its tuple and its key. */
export const EXP_TUPLE = { src: "10.0.0.1", dst: "10.0.0.2", sport: 0, dport: 2000 };
export const EXP_KEY = { proto: "tcp", tuple: EXP_TUPLE };
export const EXP = {
  proto: "tcp",
  tuple: EXP_TUPLE,
  master: { proto: "tcp", ...ORIG, dport: 21 },
  timeout: 30,
};
