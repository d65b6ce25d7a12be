/**
 * Conntrack status bits (`enum ip_conntrack_status`, linux/netfilter/nf_conntrack_common.h)
 * as named flags.
 * @module
 */

/** Status flag names by bit number. */
export const STATUS_BITS = [
  "EXPECTED", // IPS_EXPECTED_BIT 0
  "SEEN_REPLY", // IPS_SEEN_REPLY_BIT 1
  "ASSURED", // IPS_ASSURED_BIT 2
  "CONFIRMED", // IPS_CONFIRMED_BIT 3
  "SRC_NAT", // IPS_SRC_NAT_BIT 4
  "DST_NAT", // IPS_DST_NAT_BIT 5
  "SEQ_ADJUST", // IPS_SEQ_ADJUST_BIT 6
  "SRC_NAT_DONE", // IPS_SRC_NAT_DONE_BIT 7
  "DST_NAT_DONE", // IPS_DST_NAT_DONE_BIT 8
  "DYING", // IPS_DYING_BIT 9
  "FIXED_TIMEOUT", // IPS_FIXED_TIMEOUT_BIT 10
  "TEMPLATE", // IPS_TEMPLATE_BIT 11
  "UNTRACKED", // IPS_UNTRACKED_BIT 12
  "HELPER", // IPS_HELPER_BIT 13
  "OFFLOAD", // IPS_OFFLOAD_BIT 14
  "HW_OFFLOAD", // IPS_HW_OFFLOAD_BIT 15
] as const;

/** A named status flag. */
export type StatusFlag = typeof STATUS_BITS[number];

export const IPS_EXPECTED = 1 << 0;
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;
export const IPS_NAT_MASK = IPS_SRC_NAT | IPS_DST_NAT;
export const IPS_SEQ_ADJUST = 1 << 6;
export const IPS_SRC_NAT_DONE = 1 << 7;
export const IPS_DST_NAT_DONE = 1 << 8;
export const IPS_DYING = 1 << 9;
export const IPS_FIXED_TIMEOUT = 1 << 10;
export const IPS_TEMPLATE = 1 << 11;
export const IPS_UNTRACKED = 1 << 12;
export const IPS_HELPER = 1 << 13;
export const IPS_OFFLOAD = 1 << 14;
export const IPS_HW_OFFLOAD = 1 << 15;

const BIT_OF = new Map<string, number>(STATUS_BITS.map((n, i) => [n, i]));

/** The bitmask of a list of status flags. @throws {TypeError} on an unknown name. */
export function statusBits(flags: readonly StatusFlag[]): number {
  if (!Array.isArray(flags)) {
    throw new TypeError(`Invalid status: expected an array of flag names such as ["ASSURED"]`);
  }
  let v = 0;
  for (const f of flags) {
    const b = BIT_OF.get(f);
    if (b === undefined) {
      throw new TypeError(`Invalid status flag "${f}": expected one of ${STATUS_BITS.join(", ")}`);
    }
    v |= 1 << b;
  }
  return v >>> 0;
}

/**
 * {@link statusFlags}' last arrays, by a hash of the value (keys -1: none yet): a table holds few
 * distinct status values, and a dump decodes one per entry.
 */
const FLAGS_KEYS = new Int32Array(16).fill(-1);
const FLAGS_NAMES: StatusFlag[][] = new Array<StatusFlag[]>(16).fill([]);

/** The names of the bits set in `v` (bits above 15 are ignored: the kernel keeps none there). */
export function statusFlags(v: number): StatusFlag[] {
  const k = v & 0xffff, i = (k ^ (k >>> 4) ^ (k >>> 8)) & 15;
  if (FLAGS_KEYS[i] === k) return FLAGS_NAMES[i].slice(); // the caller's own array
  const names: StatusFlag[] = [];
  for (let b = 0; b < 16; b++) if (k & (1 << b)) names.push(STATUS_BITS[b]);
  FLAGS_KEYS[i] = k;
  FLAGS_NAMES[i] = names;
  return names.slice();
}
