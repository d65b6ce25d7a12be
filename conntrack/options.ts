/**
 * Argument checks shared by the client's methods and the codecs: option objects, integer
 * widths, kernel string limits. Each throws before anything is sent: `TypeError` for a wrong
 * shape (not an object, an unknown key, `null`, a wrong type), `RangeError` for a value out of
 * range. Messages name what was being checked and the key, e.g.
 * `Invalid dump options: unknown key "readahead"`.
 *
 * In option objects a key whose value is `undefined` counts as absent (the default applies), as
 * TypeScript's optional properties allow; `null` is never a valid value.
 * @module
 */
import type { Netns } from "../netlink/netns.ts";

/** Checks one value; `what` names it in the error (e.g. `dump options.readAhead`). */
export type Check = (value: unknown, what: string) => void;

const fmt = (v: unknown): string =>
  typeof v === "string" ? JSON.stringify(v) : typeof v === "bigint" ? `${v}n` : String(v);
const kind = (v: unknown): string => v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;

/** True for a plain object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Refuses keys of `o` outside `allowed` and keys whose value is `null`; with `undefinedOk`
 * false, also keys present with the value `undefined`.
 * @throws {TypeError} naming the first offending key.
 */
export function checkKeys(
  o: Record<string, unknown>,
  allowed: ReadonlySet<string>,
  what: string,
  undefinedOk = true,
): void {
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) {
      throw new TypeError(
        `Invalid ${what}: unknown key "${k}" (expected ${[...allowed].join(", ")})`,
      );
    }
    const v = o[k];
    if (v === null) throw new TypeError(`Invalid ${what}.${k}: null (leave the key out instead)`);
    if (v === undefined && !undefinedOk) {
      throw new TypeError(`Invalid ${what}.${k}: undefined (leave the key out instead)`);
    }
  }
}

/**
 * Checks an options object against one {@link Check} per key and returns it (`{}` for
 * `undefined`). Keys with the value `undefined` are skipped (the default applies).
 * @throws {TypeError} for a non-object, an unknown key or `null`; whatever a check throws.
 */
export function checkOptions<T extends object>(
  o: unknown,
  checks: Readonly<Record<string, Check>>,
  what: string,
): T {
  if (o === undefined) return {} as T;
  if (!isObject(o)) throw new TypeError(`Invalid ${what}: expected an object, got ${kind(o)}`);
  checkKeys(o, new Set(Object.keys(checks)), what);
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v !== undefined) checks[k](v, `${what}.${k}`);
  }
  return o as T;
}

/** `true` or `false`. */
export const isBoolean: Check = (v, what) => {
  if (typeof v !== "boolean") {
    throw new TypeError(`Invalid ${what}: expected true or false, got ${fmt(v)}`);
  }
};

/** A function. */
const isFunction: Check = (v, what) => {
  if (typeof v !== "function") {
    throw new TypeError(`Invalid ${what}: expected a function, got ${kind(v)}`);
  }
};

/** One of `values` (compared with `===`). */
function oneOf(...values: readonly unknown[]): Check {
  return (v, what) => {
    if (!values.includes(v)) {
      throw new TypeError(`Invalid ${what} ${fmt(v)}: expected ${values.map(fmt).join(", ")}`);
    }
  };
}

/**
 * An integer in `min..max`.
 * @throws {TypeError} for a non-number; {@link RangeError} for NaN, a fraction or out of range.
 */
export function checkInt(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== "number") {
    throw new TypeError(
      `Invalid ${what}: expected an integer ${min}..${max}, got ${kind(v)} ${fmt(v)}`,
    );
  }
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`Invalid ${what} ${v}: must be an integer ${min}..${max}`);
  }
  return v;
}

export const checkU8 = (v: unknown, what: string): number => checkInt(v, 0, 0xff, what);
export const checkU16 = (v: unknown, what: string): number => checkInt(v, 0, 0xffff, what);
export const checkU32 = (v: unknown, what: string): number => checkInt(v, 0, 0xffffffff, what);

/**
 * A bigint in `0..2^64-1` (a u64 attribute).
 * @throws {TypeError} for anything but a bigint; {@link RangeError} out of range.
 */
export function checkU64(v: unknown, what: string): bigint {
  if (typeof v !== "bigint") {
    throw new TypeError(
      `Invalid ${what}: expected a bigint 0n..2n**64n-1n, got ${kind(v)} ${fmt(v)}`,
    );
  }
  if (v < 0n || v > 0xffffffffffffffffn) {
    throw new RangeError(`Invalid ${what} ${v}n: must be 0..2^64-1`);
  }
  return v;
}

const utf8 = new TextEncoder();

/**
 * A string sent as a NUL-terminated attribute: no NUL byte in it (the kernel would read it cut
 * short) and at most `maxBytes` bytes of UTF-8 (the kernel's limit without the NUL).
 * @throws {TypeError} for a non-string; {@link RangeError} for a NUL or a name too long.
 */
export function checkName(v: unknown, maxBytes: number, what: string): string {
  if (typeof v !== "string") {
    throw new TypeError(`Invalid ${what}: expected a string, got ${kind(v)}`);
  }
  if (v.includes("\0")) throw new RangeError(`Invalid ${what}: it holds a NUL byte`);
  const n = utf8.encode(v).length;
  if (n > maxBytes) {
    throw new RangeError(`Invalid ${what}: ${n} bytes, at most ${maxBytes} allowed`);
  }
  return v;
}

/**
 * A `Uint8Array` of at most `maxBytes` bytes.
 * @throws {TypeError} for anything else; {@link RangeError} when it is longer.
 */
export function checkBytes(v: unknown, maxBytes: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) {
    throw new TypeError(`Invalid ${what}: expected a Uint8Array, got ${kind(v)}`);
  }
  if (v.length > maxBytes) {
    throw new RangeError(`Invalid ${what}: ${v.length} bytes, at most ${maxBytes} allowed`);
  }
  return v;
}

/** An array (of anything; check the items yourself). */
export function checkArray(v: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`Invalid ${what}: expected an array, got ${kind(v)}`);
  return v;
}

/** Something `for...of` can walk. */
function checkIterable(v: unknown, what: string): Iterable<unknown> {
  if (
    v === null || v === undefined ||
    typeof (v as Iterable<unknown>)[Symbol.iterator] !== "function" || typeof v === "string"
  ) {
    throw new TypeError(`Invalid ${what}: expected an array or another iterable, got ${kind(v)}`);
  }
  return v as Iterable<unknown>;
}

// --- Options of the client's methods -----------------------------------------------------------

/**
 * Largest receive buffer to ask for: `setsockopt()` takes an `int` (the kernel then doubles it,
 * capped at `INT_MAX`). 0 keeps the kernel's default (`net.core.rmem_default`).
 */
const RECEIVE_BUFFER_MAX = 0x7fffffff;

/** A receive buffer size in bytes: an integer 0..2^31-1 (0: the kernel's default). */
export const isReceiveBufferSize: Check = (v, what) =>
  void checkInt(v, 0, RECEIVE_BUFFER_MAX, what);

/** A {@link Netns}: the shape only (a path or pid is opened later, which may still fail). */
export const isNetns: Check = (v, what) => {
  if (typeof v === "string" || typeof v === "number") return; // NetnsHandle.open checks the value
  if (!isObject(v)) {
    throw new TypeError(`Invalid ${what}: expected a path, a pid or { fd }, got ${kind(v)}`);
  }
  checkKeys(v, new Set(["fd"]), what, false);
  checkInt(v.fd, 0, 0x7fffffff, `${what}.fd`);
};

/** Options of `Conntrack.open`. */
export function checkOpenOptions(
  o: unknown,
): { receiveBufferSize?: number; transport?: unknown; netns?: Netns } {
  return checkOptions(o, {
    receiveBufferSize: isReceiveBufferSize,
    transport: isFunction,
    netns: isNetns,
  }, "open options");
}

/** Options of `Conntrack.dump`, `list`, `lines`. */
export function checkDumpOptions(
  o: unknown,
): { kernelFilterOnly?: boolean; zero?: boolean; readAhead?: boolean | "auto" } {
  return checkOptions(o, {
    kernelFilterOnly: isBoolean,
    zero: isBoolean,
    readAhead: oneOf(true, false, "auto"),
  }, "dump options");
}

/** The format argument of `Conntrack.lines`. */
export function checkLineFormat(o: unknown): { extended?: boolean; id?: boolean } {
  return checkOptions(o, { extended: isBoolean, id: isBoolean }, "line format");
}

/**
 * Options of `Conntrack.flush`: `via`, `where`, `onDeleted`. Call it before anything is sent
 * (a flush that dumped and deleted before noticing `onDeleted: 5` would have done its harm).
 */
export function checkFlushOptions(
  o: unknown,
): { via?: "auto" | "kernel" | "dump"; where?: unknown; onDeleted?: unknown } {
  return checkOptions(o, {
    via: oneOf("auto", "kernel", "dump"),
    where: isFunction,
    onDeleted: isFunction,
  }, "flush options");
}

/** An `AbortSignal`. */
export const isAbortSignal: Check = (v, what) => {
  if (typeof AbortSignal === "undefined" || !(v instanceof AbortSignal)) {
    throw new TypeError(`Invalid ${what}: expected an AbortSignal, got ${kind(v)}`);
  }
};

// --- Batch calls (createMany, deleteMany) -----------------------------------------------------

/** How far a batch call got: items written into requests, requests that succeeded. */
export interface BatchProgress {
  /** Items taken from the iterable and sent (or about to be, with their batch). */
  sent: number;
  /** Requests the kernel carried out, once the batch was stopped. */
  ok: number;
  /** True when a bad item or a failing iterator stopped the call (not a failed send). */
  stopped: boolean;
}

/**
 * The error of a batch call (`createMany`, `deleteMany`, `restore`) stopped by a bad item, or by
 * an iterator that threw: the original error, with what had been done before it.
 *
 * An array is checked whole before anything is sent: a bad item throws (`TypeError` or
 * `RangeError`, naming its index) and nothing is sent (`sent: 0`). Any other iterable is
 * consumed as it goes (constant memory): a bad item there, or an iterator that throws, stops
 * the call after the items before it were sent. The error then carries `sent` (the bad item's
 * index) and `result` (the outcome of those), and a `TypeError`/`RangeError` says so in its
 * message.
 */
export interface BatchStopped<R = unknown> extends Error {
  /**
   * How many items were sent before the call stopped: the index of the bad item. 0 when an
   * array was refused (arrays are checked whole before anything is sent).
   */
  sent: number;
  /** The outcome of the items that were sent (`CreateResult` or `DeleteResult`). */
  result: R;
}

/**
 * Adds `sent` and `result` to `e` (when it is an object) and, for a TypeError/RangeError, says
 * in the message what was sent. Returns `e`.
 */
export function batchStopped<R>(e: unknown, sent: number, result: R): unknown {
  if (typeof e !== "object" || e === null) return e;
  Object.assign(e, { sent, result });
  if (e instanceof TypeError || e instanceof RangeError) {
    e.message += sent === 0
      ? ` (item 0: nothing was sent)`
      : ` (item ${sent}: the ${sent} item${
        sent === 1 ? "" : "s"
      } before it were sent; see error.sent and error.result)`;
  }
  return e;
}

/**
 * The input of a batch call: an iterable (TypeError otherwise); an array is checked whole with
 * `check`, so that a bad item is refused before anything is sent. The error then names the
 * item's index and carries `sent: 0` (see {@link BatchStopped}).
 */
export function checkBatchInput(
  items: unknown,
  check: (item: unknown) => void,
  method: string,
): void {
  checkIterable(items, `${method} input`);
  if (!Array.isArray(items)) return;
  for (let i = 0; i < items.length; i++) {
    try {
      check(items[i]);
    } catch (e) {
      if (e instanceof TypeError || e instanceof RangeError) {
        e.message += ` (item ${i} of ${items.length}: nothing was sent)`;
        Object.assign(e, { sent: 0, result: undefined });
      }
      throw e;
    }
  }
}
