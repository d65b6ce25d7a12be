/**
 * {@link encodeExpect}: a validated {@link Expectation} into `CTA_EXPECT_*` attributes.
 * @module
 */
import type { MessageBuilder } from "../netlink/attribute.ts";
import * as C from "./constants.ts";
import { type Expectation, expectFlagBits, type ExpectPurpose } from "./expect.ts";
import { encodeTuple, protoNumber } from "./tuple.ts";

/**
 * Writes the attributes of an expectation checked by `validateExpect` for the same `purpose`
 * (after the nfgenmsg): for `"create"` all it sets, for `"key"` only what identifies it (the
 * tuple, zone and id).
 * @throws {RangeError} from the builder when the message outgrows what netlink carries.
 */
export function encodeExpect(b: MessageBuilder, e: Expectation, purpose: ExpectPurpose): void {
  const proto = protoNumber(e.proto);
  encodeTuple(b, C.CTA_EXPECT_TUPLE, e.tuple, proto);
  if (e.zone !== undefined) b.u16(C.CTA_EXPECT_ZONE, e.zone);
  if (purpose === "key") {
    if (e.id !== undefined) b.u32(C.CTA_EXPECT_ID, e.id);
    return;
  }
  const mproto = protoNumber(e.master.proto);
  encodeTuple(b, C.CTA_EXPECT_MASK, e.mask, proto);
  encodeTuple(b, C.CTA_EXPECT_MASTER, e.master, mproto);
  if (e.timeout !== undefined) b.u32(C.CTA_EXPECT_TIMEOUT, e.timeout);
  if (e.helper !== undefined) b.string(C.CTA_EXPECT_HELP_NAME, e.helper);
  if (e.flags !== undefined) b.u32(C.CTA_EXPECT_FLAGS, expectFlagBits(e.flags));
  if (e.class !== undefined) b.u32(C.CTA_EXPECT_CLASS, e.class);
  if (e.nat) {
    const n = b.nest(C.CTA_EXPECT_NAT);
    b.u32(C.CTA_EXPECT_NAT_DIR, e.nat.dir === "reply" ? 1 : 0);
    encodeTuple(b, C.CTA_EXPECT_NAT_TUPLE, e.nat.tuple, mproto);
    b.endNest(n);
  }
  if (e.fn !== undefined) b.string(C.CTA_EXPECT_FN, e.fn);
  for (const u of e.unknown ?? []) b.data(u.type, u.data);
}
