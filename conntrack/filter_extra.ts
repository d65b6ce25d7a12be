/**
 * Filter values beyond the tuple: mark and status (`{ value, mask }`), and the conditions only
 * userspace can check: NAT (conntrack's `--src-nat`, `--dst-nat`, `--any-nat [ip[:port]]`) and
 * connlabels (`-l`), compiled for `compileFilter` (filter.ts).
 * @module
 */
import { env, readTextFile } from "../ffi/host.ts";
import { formatAddress, parseAddress } from "./address.ts";
import { parseConnlabelConf } from "./format.ts";
import type { Flow } from "./flow.ts";
import { statusBits, type StatusFlag } from "./status.ts";

/**
 * A NAT condition: `true` (the entry is NATed that way), or the address and/or port it is
 * NATed to (`--src-nat 10.0.0.1:80`): for source NAT the reply destination, for destination
 * NAT the reply source.
 */
export type NatFilter = true | { addr?: string; port?: number };

/** Labels an entry must carry: every one of `all`, at least one of `any`; bits 0..127 or connlabel.conf names. */
export interface LabelFilter {
  /** Labels that must all be set. */
  all?: readonly (number | string)[];
  /** Labels of which at least one must be set. */
  any?: readonly (number | string)[];
}

/** A plain object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** An integer 0..255, or TypeError/RangeError naming `what`. */
export function u8(v: unknown, what: string): number {
  if (typeof v !== "number") {
    throw new TypeError(`Invalid filter ${what}: expected an integer 0..255, got ${typeof v}`);
  }
  if (!Number.isInteger(v) || v < 0 || v > 0xff) {
    throw new RangeError(`Invalid filter ${what} ${v}: must be an integer 0..255`);
  }
  return v;
}

/** An integer 0..65535, or TypeError/RangeError naming `what`. */
export function u16(v: unknown, what: string): number {
  if (typeof v !== "number") {
    throw new TypeError(`Invalid filter ${what}: expected an integer 0..65535, got ${typeof v}`);
  }
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
    throw new RangeError(`Invalid filter ${what} ${v}: must be an integer 0..65535`);
  }
  return v;
}

/** An integer 0..2^32-1, or TypeError/RangeError naming `what`. */
export function u32(v: unknown, what: string): number {
  if (typeof v !== "number") {
    throw new TypeError(
      `Invalid filter ${what}: expected an integer 0..4294967295, got ${typeof v}`,
    );
  }
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`Invalid filter ${what} ${v}: must be an integer 0..4294967295`);
  }
  return v >>> 0;
}

/** `{ value, mask }` or a plain value (mask all ones) of a mark. */
export function compileMark(m: unknown): { value: number; mask: number } {
  if (typeof m === "number") return { value: u32(m, "mark"), mask: 0xffffffff };
  if (!isObject(m)) {
    throw new TypeError(
      `Invalid filter mark: expected a number or { value, mask }, got ${typeof m}`,
    );
  }
  for (const k of Object.keys(m)) {
    if (k !== "value" && k !== "mask") {
      throw new TypeError(`Invalid filter: unknown key "mark.${k}"`);
    }
  }
  const value = u32(m.value, "mark.value");
  const mask = u32(m.mask, "mark.mask");
  if (mask === 0) {
    throw new RangeError("Invalid filter mark: mask 0 matches every flow (leave mark out instead)");
  }
  return { value, mask };
}

/** Flags that must be set, or `{ value, mask }`: `(status & mask) === value`. */
export function compileStatus(st: unknown): { value: number; mask: number } {
  if (Array.isArray(st)) {
    const v = statusBits(st as StatusFlag[]);
    if (v === 0) {
      throw new TypeError(
        "Invalid filter status: an empty list matches every flow (leave status out instead)",
      );
    }
    return { value: v, mask: v };
  }
  if (!isObject(st)) {
    throw new TypeError(
      `Invalid filter status: expected an array of flags or { value, mask }, got ${typeof st}`,
    );
  }
  for (const k of Object.keys(st)) {
    if (k !== "value" && k !== "mask") {
      throw new TypeError(`Invalid filter: unknown key "status.${k}"`);
    }
  }
  const mask = statusBits(st.mask as StatusFlag[]);
  const value = statusBits(st.value as StatusFlag[]);
  if (mask === 0) {
    throw new TypeError(
      "Invalid filter status: an empty mask matches every flow (leave status out instead)",
    );
  }
  if ((value & ~mask) !== 0) {
    throw new TypeError("Invalid filter status: value has flags that are not in mask");
  }
  return { value, mask };
}

/** A present key must constrain: `{ addr: undefined, port: 80 }` must not drop the address. */
function refuseUnset(v: unknown, what: string): void {
  if (v === undefined || v === null) {
    throw new TypeError(
      `Invalid filter: "${what}" is ${v} (leave the key out to not filter on it)`,
    );
  }
}

interface Nat {
  addr?: string;
  port?: number;
}

function compileNat(v: unknown, what: string): Nat {
  if (v === true) return {};
  if (!isObject(v)) throw new TypeError(`Invalid filter ${what}: expected true or { addr, port }`);
  for (const k of Object.keys(v)) {
    if (k !== "addr" && k !== "port") {
      throw new TypeError(`Invalid filter: unknown key "${what}.${k}"`);
    }
    refuseUnset(v[k], `${what}.${k}`);
  }
  const out: Nat = {};
  if (v.addr !== undefined) {
    if (typeof v.addr !== "string") {
      throw new TypeError(`Invalid filter ${what}.addr: expected an address string`);
    }
    // Compared as the decoder prints addresses: canonical text.
    out.addr = formatAddress(parseAddress(v.addr, undefined, `filter ${what}.addr`));
  }
  if (v.port !== undefined) {
    if (typeof v.port !== "number") {
      throw new TypeError(`Invalid filter ${what}.port: expected an integer 0..65535`);
    }
    if (!Number.isInteger(v.port) || v.port < 0 || v.port > 0xffff) {
      throw new RangeError(`Invalid filter ${what}.port ${v.port}: must be 0..65535`);
    }
    out.port = v.port;
  }
  if (v.addr === undefined && v.port === undefined) {
    throw new TypeError(`Invalid filter ${what}: an empty object (use true for "any NAT")`);
  }
  return out;
}

const isSnat = (f: Flow) => f.status?.includes("SRC_NAT_DONE") === true;
const isDnat = (f: Flow) => f.status?.includes("DST_NAT_DONE") === true;

/** conntrack.c `filter_nat()`: is `f` NATed that way (to that address and/or port)? */
function natCheck(n: Nat, snat: boolean, f: Flow): boolean {
  const done = snat ? isSnat(f) : isDnat(f);
  const natted = done && (snat ? f.reply.dst !== f.orig.src : f.reply.src !== f.orig.dst);
  const patted = done && (snat ? f.reply.dport !== f.orig.sport : f.reply.sport !== f.orig.dport);
  let has = false;
  if (n.addr !== undefined) has = natted && (snat ? f.reply.dst : f.reply.src) === n.addr;
  if (n.port !== undefined) {
    const ok = patted && (snat ? f.reply.dport : f.reply.sport) === n.port;
    if (n.addr !== undefined && has && !ok) has = false;
    if (n.addr === undefined && ok) has = true;
  }
  if (n.addr === undefined && n.port === undefined && (natted || patted)) has = true;
  return has;
}

/** The NAT predicate of a filter's `srcNat`/`dstNat`/`anyNat` keys, or undefined without them. */
export function compileNatFilter(
  src: unknown,
  dst: unknown,
  any: unknown,
): ((f: Flow) => boolean) | undefined {
  const s = src === undefined ? undefined : compileNat(src, "srcNat");
  const d = dst === undefined ? undefined : compileNat(dst, "dstNat");
  const a = any === undefined ? undefined : compileNat(any, "anyNat");
  const preds: ((f: Flow) => boolean)[] = [];
  if (s) preds.push((f) => natCheck(s, true, f));
  if (d) preds.push((f) => natCheck(d, false, f));
  if (a) preds.push((f) => natCheck(a, true, f) || natCheck(a, false, f));
  return preds.length ? (f) => preds.every((p) => p(f)) : undefined;
}

let systemLabels: Map<string, number> | undefined;

/** Label names of `/etc/xtables/connlabel.conf` (or the file in `NFCT_CONNLABEL_CONF`), read once. */
function labelByName(name: string, what: string): number {
  if (!systemLabels) {
    const path = env("NFCT_CONNLABEL_CONF") ?? "/etc/xtables/connlabel.conf";
    let text: string;
    try {
      text = readTextFile(path);
    } catch {
      throw new TypeError(
        `Invalid filter ${what}: label "${name}" needs ${path}, which cannot be read; give bit numbers instead`,
      );
    }
    systemLabels = new Map([...parseConnlabelConf(text)].map(([bit, n]) => [n, bit]));
  }
  const bit = systemLabels.get(name);
  if (bit === undefined) throw new TypeError(`Invalid filter ${what}: unknown label "${name}"`);
  return bit;
}

function labelBits(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length === 0) {
    throw new TypeError(
      `Invalid filter ${what}: expected a non-empty array of label bits or names`,
    );
  }
  return v.map((x) => {
    if (typeof x === "string") return labelByName(x, what);
    if (typeof x !== "number") {
      throw new TypeError(
        `Invalid filter ${what}: expected label bits (0..127) or names, got ${typeof x}`,
      );
    }
    if (!Number.isInteger(x) || x < 0 || x > 127) {
      throw new RangeError(`Invalid filter ${what}: label bit ${x} is not 0..127`);
    }
    return x;
  });
}

/** The label predicate of a filter's `labels` key. */
export function compileLabelFilter(v: unknown): (f: Flow) => boolean {
  if (!isObject(v)) throw new TypeError("Invalid filter labels: expected { all, any }");
  for (const k of Object.keys(v)) {
    if (k !== "all" && k !== "any") {
      throw new TypeError(`Invalid filter: unknown key "labels.${k}"`);
    }
    refuseUnset(v[k], `labels.${k}`);
  }
  if (v.all === undefined && v.any === undefined) {
    throw new TypeError('Invalid filter labels: give "all" or "any"');
  }
  const all = v.all === undefined ? undefined : labelBits(v.all, "labels.all");
  const any = v.any === undefined ? undefined : labelBits(v.any, "labels.any");
  return (f) => {
    const has = f.labels ?? [];
    if (all && !all.every((b) => has.includes(b))) return false;
    if (any && !any.some((b) => has.includes(b))) return false;
    return true;
  };
}
