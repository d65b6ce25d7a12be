/**
 * {@link validateExpect}: checks an {@link Expectation} before anything is sent, against what
 * each `CTA_EXPECT_*` attribute holds and what the kernel accepts (`exp_nla_policy`).
 * @module
 */
import { NLA_MAX_PAYLOAD } from "../netlink/attribute.ts";
import type { Family } from "./address.ts";
import * as C from "./constants.ts";
import {
  EXPECT_FIELDS,
  type Expectation,
  expectFlagBits,
  type ExpectNat,
  type ExpectPurpose,
} from "./expect.ts";
import { familyNumber } from "./family.ts";
import { checkRawAttributes, HELPER_NAME_MAX } from "./flow_validate.ts";
import { checkKeys, checkName, checkU16, checkU32, isObject } from "./options.ts";
import { hasPorts, IPPROTO_GRE, protocolOf } from "./protocols.ts";
import { protoNumber, type Tuple, validateTuple } from "./tuple.ts";

/** The all-ones mask of `family`/`proto` (every field of the tuple must match). */
function exactMask(family: Family, proto: number): Tuple {
  const ones = family === "ipv4" ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const m: Tuple = { src: ones, dst: ones };
  if (protocolOf(proto)?.icmp) {
    m.type = 0xff;
    m.code = 0xff;
    m.id = 0xffff;
  } else if (proto === IPPROTO_GRE) {
    m.srcKey = 0xffff;
    m.dstKey = 0xffff;
  } else if (hasPorts(proto)) {
    m.sport = 0xffff;
    m.dport = 0xffff;
  }
  return m;
}

const EXPECT_KEYS: ReadonlySet<string> = new Set(EXPECT_FIELDS);
const NAT_KEYS: ReadonlySet<string> = new Set(
  Object.keys({ dir: 1, tuple: 1 } satisfies Record<keyof ExpectNat, 1>),
);
/** `CTA_EXPECT_*` types nfct encodes itself (CTA_EXPECT_MASTER 1 .. CTA_EXPECT_FN 11). */
const CTA_EXPECT_MODELLED_MAX = C.CTA_EXPECT_FN;

/**
 * Checks an expectation for `purpose` and returns a copy with defaults filled in (the exact
 * mask). Throws `TypeError` (not an object, an unknown key, `null`, a wrong type) or
 * `RangeError` (out of range; `helper` over 15 bytes or with a NUL, as
 * `exp_nla_policy` allows for CTA_EXPECT_HELP_NAME) before anything is sent. A key whose value
 * is `undefined` counts as absent.
 */
export function validateExpect(e: Partial<Expectation>, purpose: ExpectPurpose): Expectation {
  if (!isObject(e)) throw new TypeError("Invalid expectation: expected an object");
  checkKeys(e, EXPECT_KEYS, "expectation");
  if (e.proto === undefined) throw new TypeError("Invalid expectation: proto is missing");
  if (e.tuple === undefined) throw new TypeError("Invalid expectation: tuple is missing");
  const proto = protoNumber(e.proto);
  if (e.family !== undefined) familyNumber(e.family);
  const family = validateTuple(e.tuple, proto, e.family, "tuple");
  const out = { ...e, family, proto: e.proto } as Expectation;
  const master = e.master;
  if (master !== undefined) {
    if (!isObject(master)) {
      throw new TypeError("Invalid expectation master: expected a tuple object with proto");
    }
    if (master.proto === undefined) {
      throw new TypeError("Invalid expectation: master.proto is missing");
    }
    validateTuple(master, protoNumber(master.proto), family, "master", true);
  }
  if (e.mask !== undefined) validateTuple(e.mask, proto, family, "mask");
  if (e.nat !== undefined) {
    if (!isObject(e.nat)) throw new TypeError("Invalid expectation nat: expected { dir, tuple }");
    checkKeys(e.nat, NAT_KEYS, "expectation nat");
    if (e.nat.dir !== "original" && e.nat.dir !== "reply") {
      throw new TypeError(
        `Invalid expectation nat.dir "${String(e.nat.dir)}": expected "original" or "reply"`,
      );
    }
    if (e.nat.tuple === undefined) throw new TypeError("Invalid expectation nat: tuple is missing");
    validateTuple(
      e.nat.tuple,
      master?.proto !== undefined ? protoNumber(master.proto) : proto,
      family,
      "nat.tuple",
    );
  }
  if (purpose === "create") {
    if (!master) {
      throw new TypeError(
        "Invalid expectation: master (the master connection's original tuple and proto) is missing",
      );
    }
    out.mask = e.mask ?? exactMask(family, proto);
    if (out.timeout === undefined) {
      throw new TypeError("Invalid expectation: timeout is required to create one (seconds)");
    }
  }
  // exp_nla_policy: TIMEOUT, ID, CLASS NLA_U32; ZONE NLA_U16; FLAGS a be32 mask.
  if (e.timeout !== undefined) checkU32(e.timeout, "expectation timeout");
  if (e.id !== undefined) checkU32(e.id, "expectation id");
  if (e.zone !== undefined) checkU16(e.zone, "expectation zone");
  if (e.class !== undefined) checkU32(e.class, "expectation class");
  if (e.flags !== undefined) expectFlagBits(e.flags);
  if (e.helper !== undefined) checkName(e.helper, HELPER_NAME_MAX, "expectation helper");
  // CTA_EXPECT_FN is an NLA_NUL_STRING without a length limit: it must only fit an attribute.
  if (e.fn !== undefined) checkName(e.fn, NLA_MAX_PAYLOAD - 1, "expectation fn");
  if (e.unknown !== undefined) {
    checkRawAttributes(e.unknown, CTA_EXPECT_MODELLED_MAX, "expectation unknown");
  }
  return out;
}
