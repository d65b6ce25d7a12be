/**
 * Netlink attributes written by hand for the walker's tests.
 * @module
 */
import { NLA_ALIGN } from "../../netlink/attribute.ts";
import { HOST_LE } from "../../netlink/message.ts";

/**
 * One attribute as the host writes it: `nla_len` (default: header + payload; pass another to
 * make it lie) and `nla_type` host-endian, then the payload padded to 4 bytes.
 */
export function attr(type: number, payload: number[], len = 4 + payload.length): number[] {
  const h = new DataView(new ArrayBuffer(4));
  h.setUint16(0, len, HOST_LE);
  h.setUint16(2, type, HOST_LE);
  const pad = new Array(NLA_ALIGN(4 + payload.length) - 4 - payload.length).fill(0);
  return [...new Uint8Array(h.buffer), ...payload, ...pad];
}
