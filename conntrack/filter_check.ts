/**
 * Checking one {@link Filter}: every key and value either refused (TypeError, RangeError) or put
 * in the form that the kernel request (filter_kernel.ts) and the userspace matcher
 * (filter_match.ts) read. A key that is present must constrain.
 * @module
 */
import type { Family } from "./address.ts";
import type { Filter } from "./filter.ts";
import {
  compileLabelFilter,
  compileMark,
  compileNatFilter,
  compileStatus,
  isObject,
  u16,
  u32,
} from "./filter_extra.ts";
import {
  checkFilterKeys as checkKeys,
  type CompiledTuple,
  compileTuple,
  hasGreKeys,
  hasIcmp,
  TUPLE_KEYS,
  tupleEmpty,
} from "./filter_tuple.ts";
import type { Flow } from "./flow.ts";
import { ALL_STATES, hasPorts, IPPROTO_GRE, protocolOf } from "./protocols.ts";
import { type Proto, protoNumber } from "./tuple.ts";

/** One filter, checked: each condition that is set, in the form the request and matcher read. */
export interface CheckedFilter {
  readonly family?: Family;
  /** The protocol number. */
  readonly proto?: number;
  readonly orig: CompiledTuple;
  readonly reply: CompiledTuple;
  readonly id?: number;
  readonly timeout?: { min: number; max: number };
  readonly mark?: { value: number; mask: number };
  /** Status bits, `(status & mask) === value`. */
  readonly status?: { value: number; mask: number };
  readonly zone?: number;
  readonly state?: string;
  readonly origZone?: number;
  readonly nat?: (f: Flow) => boolean;
  readonly labels?: (f: Flow) => boolean;
  /** The `not` key as given: a whole filter again, compiled by filter.ts. */
  readonly not?: unknown;
}

const KEYS = new Set([
  "family",
  "proto",
  "src",
  "dst",
  "sport",
  "dport",
  "zone",
  "reply",
  "mark",
  "status",
  "state",
  "origZone",
  "srcNat",
  "dstNat",
  "anyNat",
  "labels",
  "not",
  "icmpType",
  "icmpCode",
  "icmpId",
  "srcKey",
  "dstKey",
  "id",
  "timeout",
]);

/**
 * Checks one filter (`undefined`: no condition).
 * @throws {TypeError} on unknown keys, missing values, wrong types, bad addresses or a family
 * mismatch; {@link RangeError} on out-of-range numbers.
 */
export function checkFilter(filter?: Filter): CheckedFilter {
  if (filter === undefined) filter = {};
  if (!isObject(filter)) {
    throw new TypeError(
      `Invalid filter: expected an object, got ${
        filter === null ? "null" : Array.isArray(filter) ? "an array" : typeof filter
      }`,
    );
  }
  const fo = filter as Record<string, unknown>;
  checkKeys(fo, KEYS, "");
  const fam: { f?: Family } = {};
  if (fo.family !== undefined) {
    if (fo.family !== "ipv4" && fo.family !== "ipv6") {
      throw new TypeError(
        `Invalid filter family "${String(fo.family)}": expected "ipv4" or "ipv6"`,
      );
    }
    fam.f = fo.family;
  }
  if (fo.proto !== undefined && typeof fo.proto !== "string" && typeof fo.proto !== "number") {
    throw new TypeError(
      `Invalid filter proto: expected a name or a number, got ${typeof fo.proto}`,
    );
  }
  const proto = fo.proto === undefined ? undefined : protoNumber(fo.proto as Proto);
  const orig = compileTuple(fo, "", fam);
  delete orig.zone; // the top-level zone is the entry's zone (CTA_ZONE), not the tuple's
  let reply: CompiledTuple = {};
  if (fo.reply !== undefined) {
    if (!isObject(fo.reply)) {
      throw new TypeError(
        `Invalid filter reply: expected an object, got ${
          Array.isArray(fo.reply) ? "an array" : typeof fo.reply
        }`,
      );
    }
    checkKeys(fo.reply, TUPLE_KEYS, "reply.");
    if (Object.keys(fo.reply).length === 0) {
      throw new TypeError(
        'Invalid filter: "reply" is empty (leave it out to not filter on the reply tuple)',
      );
    }
    reply = compileTuple(fo.reply, "reply.", fam);
  }
  if (
    (orig.sport ?? orig.dport ?? reply.sport ?? reply.dport) !== undefined && proto !== undefined &&
    !hasPorts(proto)
  ) {
    throw new TypeError(`Invalid filter: protocol ${String(fo.proto)} has no ports`);
  }
  if (
    (hasIcmp(orig) || hasIcmp(reply)) && proto !== undefined && protocolOf(proto)?.icmp !== true
  ) {
    throw new TypeError(
      `Invalid filter: protocol ${String(fo.proto)} has no ICMP type, code or id`,
    );
  }
  if ((hasGreKeys(orig) || hasGreKeys(reply)) && proto !== undefined && proto !== IPPROTO_GRE) {
    throw new TypeError(`Invalid filter: protocol ${String(fo.proto)} has no GRE keys`);
  }
  const id = fo.id === undefined ? undefined : u32(fo.id, "id");
  const timeout = fo.timeout === undefined ? undefined : compileTimeout(fo.timeout);
  const mark = fo.mark === undefined ? undefined : compileMark(fo.mark);
  const status = fo.status === undefined ? undefined : compileStatus(fo.status);
  const zone = fo.zone === undefined ? undefined : u16(fo.zone, "zone");
  const state = fo.state;
  if (state !== undefined) {
    if (typeof state !== "string" || !ALL_STATES.has(state)) {
      throw new TypeError(
        `Invalid filter state "${
          String(state)
        }": expected a TCP, SCTP or DCCP state such as ESTABLISHED`,
      );
    }
  }
  const origZone = fo.origZone === undefined ? undefined : u16(fo.origZone, "origZone");
  const nat = compileNatFilter(fo.srcNat, fo.dstNat, fo.anyNat);
  const labels = fo.labels === undefined ? undefined : compileLabelFilter(fo.labels);
  return {
    family: fam.f,
    proto,
    orig,
    reply,
    id,
    timeout,
    mark,
    status,
    zone,
    state: state as string | undefined,
    origZone,
    nat,
    labels,
    not: fo.not,
  };
}

/** True when the checked filter has no condition at all. */
export function checkedEmpty(c: CheckedFilter): boolean {
  return c.family === undefined && c.proto === undefined && tupleEmpty(c.orig) &&
    tupleEmpty(c.reply) && c.mark === undefined && c.status === undefined &&
    c.zone === undefined && c.state === undefined && c.not === undefined &&
    c.origZone === undefined && c.nat === undefined && c.labels === undefined &&
    c.id === undefined && c.timeout === undefined;
}

/** `timeout`: seconds, or `{ min, max }` with at least one bound, min <= max. */
function compileTimeout(v: unknown): { min: number; max: number } {
  if (typeof v === "number") {
    const t = u32(v, "timeout");
    return { min: t, max: t };
  }
  if (!isObject(v)) {
    throw new TypeError(
      `Invalid filter timeout: expected seconds or { min, max }, got ${typeof v}`,
    );
  }
  checkKeys(v, TIMEOUT_KEYS, "timeout.");
  if (v.min === undefined && v.max === undefined) {
    throw new TypeError('Invalid filter: "timeout" is empty (give min, max or both)');
  }
  const min = v.min === undefined ? 0 : u32(v.min, "timeout.min");
  const max = v.max === undefined ? 0xffffffff : u32(v.max, "timeout.max");
  if (min > max) throw new RangeError(`Invalid filter timeout: min ${min} is above max ${max}`);
  return { min, max };
}
const TIMEOUT_KEYS: ReadonlySet<string> = new Set(["min", "max"]);
