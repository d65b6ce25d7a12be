/**
 * {@link ExpectDecoder}: ctnetlink expectation messages (`IPCTNL_MSG_EXP_NEW`/`_DELETE`
 * replies and events) into {@link Expectation}s.
 * @module
 */
import { AttributeReader } from "../netlink/attribute.ts";
import { NLMSG_HDRLEN } from "../netlink/message.ts";
import type { Family } from "./address.ts";
import * as C from "./constants.ts";
import { type Expectation, expectFlags, type ExpectNat } from "./expect.ts";
import { familyName } from "./family.ts";
import { rawAttribute } from "./flow_decode.ts";
import { decodeTuple, type MasterTuple, protoName } from "./tuple.ts";

const NAT_DIRS = ["original", "reply"] as const;

/** Decodes expectation messages; holds scratch readers (one decoder serves a whole dump). */
export class ExpectDecoder {
  #r = new AttributeReader();
  #a = new AttributeReader();
  #b = new AttributeReader();
  #c = new AttributeReader();
  #to = { proto: 0, family: undefined as Family | undefined };

  /**
   * Decodes the expectation message at `offset` (its `nlmsghdr`) of `length` bytes.
   * @throws {RangeError} if the bytes are malformed or a tuple is missing.
   */
  decode(dv: DataView, offset: number, length: number): Expectation {
    if (length < NLMSG_HDRLEN + 4) {
      throw new RangeError(`Cannot read expectation: ${length} bytes is too short for nfgenmsg`);
    }
    const u8 = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
    const r = this.#r.reset(dv, offset + NLMSG_HDRLEN + 4, offset + length, "expectation");
    const a = this.#a, b = this.#b, c = this.#c, to = this.#to;
    to.family = undefined;
    const e = { family: familyName(dv.getUint8(offset + NLMSG_HDRLEN)) } as Expectation;
    let proto = -1;
    while (r.next()) {
      switch (r.type) {
        case C.CTA_EXPECT_MASTER: {
          to.proto = 0;
          const t = decodeTuple(r, a, b, u8, to) as MasterTuple;
          t.proto = protoName(to.proto);
          e.master = t;
          break;
        }
        case C.CTA_EXPECT_TUPLE:
          to.proto = 0;
          e.tuple = decodeTuple(r, a, b, u8, to);
          proto = to.proto;
          break;
        case C.CTA_EXPECT_MASK:
          to.proto = proto < 0 ? 0 : proto;
          e.mask = decodeTuple(r, a, b, u8, to);
          if (proto < 0) proto = to.proto;
          break;
        case C.CTA_EXPECT_TIMEOUT:
          e.timeout = r.u32();
          break;
        case C.CTA_EXPECT_ID:
          e.id = r.u32();
          break;
        case C.CTA_EXPECT_HELP_NAME:
          e.helper = r.string();
          break;
        case C.CTA_EXPECT_ZONE:
          e.zone = r.u16();
          break;
        case C.CTA_EXPECT_FLAGS:
          e.flags = expectFlags(r.u32());
          break;
        case C.CTA_EXPECT_CLASS:
          e.class = r.u32();
          break;
        case C.CTA_EXPECT_FN:
          e.fn = r.string();
          break;
        case C.CTA_EXPECT_NAT: {
          const nat = { dir: "original", tuple: undefined } as unknown as ExpectNat;
          a.enter(r, "CTA_EXPECT_NAT");
          while (a.next()) {
            if (a.type === C.CTA_EXPECT_NAT_DIR) {
              const d = a.u32();
              nat.dir = NAT_DIRS[d] ?? (d as unknown as ExpectNat["dir"]);
            } else if (a.type === C.CTA_EXPECT_NAT_TUPLE) {
              const p = to.proto;
              nat.tuple = decodeTuple(a, b, c, u8, to);
              to.proto = p;
            }
          }
          if (!nat.tuple) {
            throw new RangeError(
              "Cannot read expectation: CTA_EXPECT_NAT lacks CTA_EXPECT_NAT_TUPLE",
            );
          }
          e.nat = nat;
          break;
        }
        default:
          (e.unknown ??= []).push(rawAttribute(r));
      }
    }
    if (!e.tuple || !e.mask || !e.master) {
      throw new RangeError(
        "Cannot read expectation: it lacks CTA_EXPECT_TUPLE, CTA_EXPECT_MASK or CTA_EXPECT_MASTER",
      );
    }
    e.proto = protoName(proto);
    if (!e.family) e.family = to.family ?? "ipv4";
    return e;
  }
}

const defaultDecoder = new ExpectDecoder();

/**
 * Decodes one expectation message with a shared decoder (see {@link ExpectDecoder.decode}).
 * @throws {RangeError} if the bytes are malformed or a tuple is missing.
 */
export function decodeExpect(dv: DataView, offset: number, length: number): Expectation {
  return defaultDecoder.decode(dv, offset, length);
}
