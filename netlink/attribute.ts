/**
 * Netlink attributes (TLVs): the walker that checks every length, and the message builder.
 *
 * ```
 * struct nlattr (4 bytes, host byte order), payload padded to NLA_ALIGNTO
 *  0        2        4
 *  +--------+--------+------------------+-----+
 *  | nla_len|nla_type| payload          | pad |
 *  +--------+--------+------------------+-----+
 *  nla_type bit 15: NLA_F_NESTED, bit 14: NLA_F_NET_BYTEORDER (masked off when read)
 * ```
 *
 * Headers are host-endian. Integer payloads are read and written big-endian ("network order"),
 * because that is what nfnetlink carries; `netlink/attribute/` is the one place that decides it:
 *
 * - `nla.ts`: the layout constants and the walker's step (`nlaLength`, `nlaType`, `NLA_ALIGN`,
 *   the payload readers), which the wire formatter loops over;
 * - `reader.ts`: {@link AttributeReader}, the cursor every decoder walks with (the same step);
 * - `builder.ts`: {@link MessageBuilder}.
 * @module
 */
export * from "./attribute/nla.ts";
export { AttributeReader } from "./attribute/reader.ts";
export { MessageBuilder } from "./attribute/builder.ts";
