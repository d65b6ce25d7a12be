/**
 * The cttimeout codec: checks a {@link TimeoutPolicy} before it is sent, writes its
 * `CTA_TIMEOUT_*` attributes, and reads a policy (or a tracker's defaults) from a reply.
 * @module
 */
import type { MessageBuilder } from "../netlink/attribute.ts";
import { AttributeReader } from "../netlink/attribute.ts";
import { NLMSG_HDRLEN } from "../netlink/message.ts";
import type { Family } from "./address.ts";
import { familyName, familyNumber } from "./family.ts";
import type { RawAttribute } from "./flow.ts";
import { rawAttribute } from "./flow_decode.ts";
import { checkKeys, checkName, isObject } from "./options.ts";
import {
  CTA_TIMEOUT_DATA,
  CTA_TIMEOUT_L3PROTO,
  CTA_TIMEOUT_L4PROTO,
  CTA_TIMEOUT_NAME,
  CTA_TIMEOUT_USE,
  CTNL_TIMEOUT_NAME_MAX,
  TIMEOUT_MAX_SECONDS,
  TIMEOUT_PROTO_NUMBERS,
  TIMEOUT_STATES,
  type TimeoutPolicy,
  type TimeoutProto,
} from "./timeout.ts";

const PROTO_BY_NUMBER = new Map<number, TimeoutProto>(
  Object.entries(TIMEOUT_PROTO_NUMBERS).map(([k, v]) => [v, k as TimeoutProto]),
);

const KNOWN_POLICY_KEYS: ReadonlySet<string> = new Set([
  "name",
  "family",
  "proto",
  "timeouts",
  "use",
  "unknown",
  "otherStates",
]);

/** What `v` is, for a message: `null`, `an array`, `an object`, `string inet`. */
function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}

/**
 * A plain object (`what` names it in the error).
 * @throws {TypeError} for anything else.
 */
export function checkObject(v: unknown, what: string): asserts v is Record<string, unknown> {
  if (!isObject(v)) throw new TypeError(`Invalid ${what}: expected an object, got ${kind(v)}`);
}

/**
 * The `AF_*` number of a policy's family.
 * @throws {TypeError} for anything but `"ipv4"` or `"ipv6"`.
 */
export function checkFamily(v: unknown, what: string): number {
  if (v === "ipv4" || v === "ipv6") return familyNumber(v);
  throw new TypeError(`Invalid ${what} family: expected "ipv4" or "ipv6", got ${kind(v)}`);
}

/**
 * A protocol with a policy of its own (a key of {@link TIMEOUT_STATES}).
 * @throws {TypeError} for anything else.
 */
export function checkProto(v: unknown, what: string): TimeoutProto {
  if (typeof v === "string" && Object.hasOwn(TIMEOUT_STATES, v)) return v as TimeoutProto;
  throw new TypeError(
    `Invalid ${what} proto: expected one of ${Object.keys(TIMEOUT_STATES).join(", ")}, got ${
      kind(v)
    }`,
  );
}

/**
 * Checks a policy name: a string of 1..31 bytes without NUL (`CTNL_TIMEOUT_NAME_MAX`).
 * @throws {TypeError} for a non-string; {@link RangeError} for an empty or too long name, or a
 * NUL in it.
 */
export function checkTimeoutName(v: unknown, what = "timeout policy name"): string {
  checkName(v, CTNL_TIMEOUT_NAME_MAX - 1, what);
  if (v === "") throw new RangeError(`Invalid ${what}: it is empty`);
  return v as string;
}

/**
 * Checks the per-state timeouts of `proto`; returns `[attribute, seconds]` pairs in kernel
 * order. With `needOne`, at least one state must be given.
 * @throws {TypeError} for a wrong shape or an unknown state; {@link RangeError} out of range.
 */
export function checkTimeouts(
  proto: TimeoutProto,
  v: unknown,
  what: string,
  needOne: boolean,
): [number, number][] {
  if (!isObject(v)) {
    throw new TypeError(
      `Invalid ${what} timeouts: expected an object of state: seconds, got ${kind(v)}`,
    );
  }
  const states = TIMEOUT_STATES[proto] as readonly (readonly [string, string])[];
  const keys = new Set(states.map((s) => s[0]));
  for (const k of Object.keys(v)) {
    if (!keys.has(k)) {
      throw new TypeError(
        `Invalid ${what} timeouts: ${proto} has no state "${k}" (states: ${[...keys].join(", ")})`,
      );
    }
  }
  const out: [number, number][] = [];
  states.forEach(([k], i) => {
    const s = v[k];
    if (s === undefined) return;
    if (typeof s !== "number" || !Number.isInteger(s)) {
      throw new TypeError(
        `Invalid ${what} timeouts: ${k} must be an integer number of seconds, got ${kind(s)}`,
      );
    }
    if (s < 0 || s > TIMEOUT_MAX_SECONDS) {
      throw new RangeError(
        `Invalid ${what} timeouts: ${k} is ${s}, allowed 0..${TIMEOUT_MAX_SECONDS} seconds`,
      );
    }
    out.push([i + 1, s]);
  });
  if (needOne && out.length === 0) {
    throw new TypeError(
      `Invalid ${what} timeouts: give at least one state (the kernel refuses a policy without CTA_TIMEOUT_DATA)`,
    );
  }
  return out;
}

/**
 * Checks a policy as `Timeouts.add` would send it: known fields only, a valid name, family
 * and protocol, integer timeouts 0..{@link TIMEOUT_MAX_SECONDS} for states the protocol has,
 * at least one of them.
 * @throws {TypeError} for a wrong shape; {@link RangeError} for a value out of range.
 */
export function validateTimeoutPolicy(value: unknown): TimeoutPolicy {
  checkObject(value, "timeout policy");
  checkKeys(value, KNOWN_POLICY_KEYS, "timeout policy");
  checkTimeoutName(value.name);
  checkFamily(value.family, "timeout policy");
  const proto = checkProto(value.proto, "timeout policy");
  checkTimeouts(proto, value.timeouts, "timeout policy", true);
  return value as unknown as TimeoutPolicy;
}

/**
 * Writes a policy's attributes (name first when given; without one, a tracker's defaults).
 * The policy must have been checked ({@link validateTimeoutPolicy}).
 * @throws {TypeError}/{@link RangeError} on a bad family or timeouts.
 */
export function encodeTimeoutPolicy(
  b: MessageBuilder,
  p: { name?: string; family: Family; proto: TimeoutProto; timeouts?: object },
): void {
  if (p.name !== undefined) b.string(CTA_TIMEOUT_NAME, p.name);
  b.u16(CTA_TIMEOUT_L3PROTO, checkFamily(p.family, "timeout policy"));
  b.u8(CTA_TIMEOUT_L4PROTO, TIMEOUT_PROTO_NUMBERS[p.proto]);
  if (p.timeouts !== undefined) {
    const pairs = checkTimeouts(p.proto, p.timeouts, "timeout policy", false);
    if (pairs.length > 0) {
      const n = b.nest(CTA_TIMEOUT_DATA);
      for (const [attr, s] of pairs) b.u32(attr, s);
      b.endNest(n);
    }
  }
}

/**
 * Decodes one cttimeout message (a policy, or a tracker's defaults: then without `name`).
 * A protocol without a tracker of its own is reported as `"generic"` with its number in
 * `l4proto`; timeouts of states this library does not know land in `otherStates`,
 * attributes it does not know in `unknown`.
 * @throws {RangeError} if the bytes are malformed or lack `CTA_TIMEOUT_L4PROTO`.
 */
export function decodeTimeoutPolicy(
  dv: DataView,
  offset: number,
  length: number,
): TimeoutPolicy & { l4proto: number } {
  if (length < NLMSG_HDRLEN + 4) {
    throw new RangeError(`Cannot read timeout policy: ${length} bytes is too short`);
  }
  const r = new AttributeReader().reset(
    dv,
    offset + NLMSG_HDRLEN + 4,
    offset + length,
    "timeout policy",
  );
  let name = "";
  let l3 = 0;
  let l4 = -1;
  let use: number | undefined;
  const unknown: RawAttribute[] = [];
  let dataPos = -1;
  let dataLen = 0;
  let otherStates: Record<number, number> | undefined;
  while (r.next()) {
    switch (r.type) {
      case CTA_TIMEOUT_NAME:
        name = r.string();
        break;
      case CTA_TIMEOUT_L3PROTO:
        l3 = r.u16();
        break;
      case CTA_TIMEOUT_L4PROTO:
        l4 = r.u8();
        break;
      case CTA_TIMEOUT_DATA:
        dataPos = r.pos;
        dataLen = r.len;
        break;
      case CTA_TIMEOUT_USE:
        use = r.u32();
        break;
      default:
        unknown.push(rawAttribute(r));
    }
  }
  if (l4 < 0) throw new RangeError("Cannot read timeout policy: no CTA_TIMEOUT_L4PROTO");
  const proto = PROTO_BY_NUMBER.get(l4) ?? "generic";
  const family: Family = familyName(l3) ?? "ipv4";
  const states = TIMEOUT_STATES[proto] as readonly (readonly [string, string])[];
  const timeouts: Record<string, number> = {};
  if (dataPos >= 0) {
    const d = new AttributeReader().reset(dv, dataPos, dataPos + dataLen, "timeout policy data");
    while (d.next()) {
      const st = states[d.type - 1];
      if (st) timeouts[st[0]] = d.u32();
      else if (d.len === 4) (otherStates ??= {})[d.type] = d.u32();
    }
  }
  const out = { name, family, proto, timeouts, l4proto: l4 } as TimeoutPolicy & {
    l4proto: number;
  };
  if (use !== undefined) out.use = use;
  if (unknown.length) out.unknown = unknown;
  if (otherStates) out.otherStates = otherStates;
  return out;
}
