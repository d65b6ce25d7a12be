/**
 * A {@link Family} name and its `AF_*` number (the nfgenmsg `nfgen_family`, the l3 protocol of
 * timeout policies and helpers), both ways.
 * @module
 */
import type { Family } from "./address.ts";
import { AF_INET, AF_INET6 } from "./constants.ts";

/**
 * The `AF_*` number of a family: 2 (`AF_INET`) or 10 (`AF_INET6`).
 * @throws {TypeError} for anything but `"ipv4"` or `"ipv6"`.
 */
export function familyNumber(f: Family): number {
  if (f === "ipv4") return AF_INET;
  if (f === "ipv6") return AF_INET6;
  throw new TypeError(`Invalid family "${String(f)}": expected "ipv4" or "ipv6"`);
}

/** The family of an `AF_*` number; `undefined` for any other than `AF_INET` and `AF_INET6`. */
export function familyName(n: number): Family | undefined {
  return n === AF_INET ? "ipv4" : n === AF_INET6 ? "ipv6" : undefined;
}
