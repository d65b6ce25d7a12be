/**
 * IP addresses as strings ↔ bytes, and CIDR prefixes. Formatting matches glibc's inet_ntop,
 * so text equals what conntrack(8) prints.
 * @module
 */

/** Address family of a flow. */
export type Family = "ipv4" | "ipv6";

/** Parses an IPv4 address into 4 bytes, or returns undefined. A hand-written loop: it is on the encode path. */
function parseV4(s: string, out: Uint8Array = new Uint8Array(4)): Uint8Array | undefined {
  const n = s.length;
  if (n < 7 || n > 15) return undefined;
  let part = 0, digits = 0, v = 0, lead = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46; // a '.' past the end closes the last part
    if (c >= 48 && c <= 57) {
      if (digits === 0) lead = c;
      else if (lead === 48) return undefined; // no octal-looking "01"
      v = v * 10 + (c - 48);
      if (++digits > 3 || v > 255) return undefined;
    } else if (c === 46) {
      if (digits === 0 || part > 3) return undefined;
      out[part++] = v;
      v = 0;
      digits = 0;
    } else return undefined;
  }
  return part === 4 ? out : undefined;
}

/** Parses an IPv6 address (RFC 4291 text forms, with an optional embedded IPv4 tail). */
function parseV6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const dbl = s.indexOf("::");
  if (dbl !== -1 && s.indexOf("::", dbl + 1) !== -1) return undefined;
  const words: number[] = [];
  const parseSide = (side: string, allowV4Tail: boolean): number[] | undefined => {
    if (side === "") return [];
    const parts = side.split(":");
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (allowV4Tail && i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  if (dbl === -1) {
    const w = parseSide(s, true);
    if (!w || w.length !== 8) return undefined;
    words.push(...w);
  } else {
    const head = parseSide(s.slice(0, dbl), false);
    const tail = parseSide(s.slice(dbl + 2), true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    words.push(...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >> 8;
    out[2 * i + 1] = words[i] & 0xff;
  }
  return out;
}

/**
 * Parses an address string into `out` (16 bytes or more) without allocating for IPv4; returns
 * the address length (4 or 16), or 0 if it is not an address (of `family`, when given).
 */
export function parseAddressInto(s: string, out: Uint8Array, family?: Family): number {
  if (typeof s !== "string") return 0;
  if (family !== "ipv6" && parseV4(s, out)) return 4;
  if (family === "ipv4") return 0;
  const v6 = parseV6(s);
  if (!v6) return 0;
  out.set(v6);
  return 16;
}

/** The family of an address string, or undefined if it is neither IPv4 nor IPv6. */
export function addressFamily(s: string): Family | undefined {
  if (parseV4(s)) return "ipv4";
  if (parseV6(s)) return "ipv6";
  return undefined;
}

/**
 * Parses an address string into bytes (4 for IPv4, 16 for IPv6).
 * @throws {TypeError} if it is not an address, or not of `family` when given.
 */
export function parseAddress(s: string, family?: Family, what = "address"): Uint8Array {
  if (typeof s !== "string") {
    throw new TypeError(`Invalid ${what}: expected an IP address string, got ${typeof s}`);
  }
  const b = family === "ipv6"
    ? parseV6(s)
    : family === "ipv4"
    ? parseV4(s)
    : parseV4(s) ?? parseV6(s);
  if (!b) {
    throw new TypeError(
      `Invalid ${what} "${s}": not an ${
        family === "ipv6" ? "IPv6" : family === "ipv4" ? "IPv4" : "IPv4 or IPv6"
      } address`,
    );
  }
  return b;
}

/**
 * The texts {@link formatIPv4} made last, by the low 3 bits of the address (its key, the 4
 * bytes as an int32; 0 is "0.0.0.0" from the start). A dump formats each address about twice
 * (a reply tuple mirrors its original) and servers' addresses many times: a hit costs a load
 * and a compare, a miss a string of up to 7 parts.
 */
const V4_KEYS = new Int32Array(8);
const V4_TEXTS: string[] = new Array<string>(8).fill("0.0.0.0");

/** Formats 4 bytes at `off` as dotted-quad IPv4. */
export function formatIPv4(b: Uint8Array, off = 0): string {
  const b0 = b[off], b1 = b[off + 1], b2 = b[off + 2], b3 = b[off + 3];
  // Never kept: bytes outside `b`, or no index (NaN, fractional), whose text is not of its key.
  if (off < 0 || off + 4 > b.length || (off | 0) !== off) return `${b0}.${b1}.${b2}.${b3}`;
  const k = (b0 << 24) | (b1 << 16) | (b2 << 8) | b3, i = b3 & 7;
  if (V4_KEYS[i] === k) return V4_TEXTS[i];
  const s = `${b0}.${b1}.${b2}.${b3}`;
  V4_KEYS[i] = k;
  V4_TEXTS[i] = s;
  return s;
}

/**
 * The texts {@link formatIPv6} made last, by the low 3 bits of the address: keys are the 16
 * bytes as 4 int32 words per slot (all 0 is "::" from the start). As for {@link formatIPv4}, a
 * dump formats each address about twice.
 */
const V6_KEYS = new Int32Array(8 * 4);
const V6_TEXTS: string[] = new Array<string>(8).fill("::");

/** Formats 16 bytes at `off` as IPv6 text, exactly as glibc's `inet_ntop(AF_INET6)` does. */
export function formatIPv6(b: Uint8Array, off = 0): string {
  if (off < 0 || off + 16 > b.length) return ipv6Text(b, off); // never kept
  const k0 = (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
  const k1 = (b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7];
  const k2 = (b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11];
  const k3 = (b[off + 12] << 24) | (b[off + 13] << 16) | (b[off + 14] << 8) | b[off + 15];
  const i = k3 & 7, at = i * 4;
  if (
    V6_KEYS[at] === k0 && V6_KEYS[at + 1] === k1 && V6_KEYS[at + 2] === k2 &&
    V6_KEYS[at + 3] === k3
  ) return V6_TEXTS[i];
  const s = ipv6Text(b, off);
  V6_KEYS[at] = k0;
  V6_KEYS[at + 1] = k1;
  V6_KEYS[at + 2] = k2;
  V6_KEYS[at + 3] = k3;
  V6_TEXTS[i] = s;
  return s;
}

/** The 16-bit words of the address {@link ipv6Text} is writing (formatting is synchronous). */
const WORDS = new Array<number>(8).fill(0);

/** {@link formatIPv6}, made. */
function ipv6Text(b: Uint8Array, off: number): string {
  const w = WORDS;
  for (let i = 0; i < 8; i++) w[i] = (b[off + 2 * i] << 8) | b[off + 2 * i + 1];
  // Longest run of zero words (length ≥ 2), first one on ties.
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) best = -1;
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (best !== -1 && i >= best && i < best + bestLen) {
      if (i === best) s += ":";
      continue;
    }
    if (i !== 0) s += ":";
    // Embedded IPv4: ::a.b.c.d (compatible) and ::ffff:a.b.c.d (mapped).
    if (i === 6 && best === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      s += formatIPv4(b, off + 12);
      break;
    }
    s += w[i].toString(16);
  }
  if (best !== -1 && best + bestLen === 8) s += ":";
  return s;
}

/** Formats address bytes (4 or 16) as text. */
export function formatAddress(
  b: Uint8Array,
  off: number = 0,
  len: number = b.length - off,
): string {
  return len === 4 ? formatIPv4(b, off) : formatIPv6(b, off);
}

/**
 * A parsed address condition: address bytes and the mask of the bits that must be equal. A CIDR
 * prefix (`10.0.0.0/8`) has a contiguous mask and `bits` its length; an address with a netmask
 * (`10.1.0.3/255.255.0.255`, conntrack's `--mask-src`) may have any mask, and `bits` is then -1.
 */
export interface Prefix {
  /** The address family. */
  family: Family;
  /** The address bytes (4 or 16). */
  bytes: Uint8Array;
  /** The prefix length, or -1 for a mask that is not contiguous. */
  bits: number;
  /** The bits that must match, as many bytes as `bytes`. */
  mask: Uint8Array;
}

function maskOfLength(len: number, bits: number): Uint8Array {
  const m = new Uint8Array(len);
  for (let i = 0; i < len && bits > 0; i++, bits -= 8) {
    m[i] = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
  }
  return m;
}

/** The length of a contiguous mask (ones, then zeros), else -1. */
function maskLength(m: Uint8Array): number {
  let bits = 0;
  let i = 0;
  for (; i < m.length && m[i] === 0xff; i++) bits += 8;
  if (i < m.length) {
    const x = m[i++];
    let ones = 0;
    while (ones < 8 && (x & (0x80 >> ones)) !== 0) ones++;
    if (((0xff << (8 - ones)) & 0xff) !== x) return -1;
    bits += ones;
  }
  for (; i < m.length; i++) if (m[i] !== 0) return -1;
  return bits;
}

/**
 * Parses `"10.0.0.0/8"`, `"fd00::/64"`, an address with a netmask (`"10.1.0.3/255.255.0.255"`,
 * `"fd00::1/ffff:ffff::ffff"`, the mask of the same family), or a plain address (all bits).
 * @throws {TypeError} on a bad address or mask, {@link RangeError} on a bad prefix length.
 */
export function parsePrefix(s: string, what = "address"): Prefix {
  if (typeof s !== "string") {
    throw new TypeError(`Invalid ${what}: expected an address or CIDR string, got ${typeof s}`);
  }
  const slash = s.indexOf("/");
  const addr = slash === -1 ? s : s.slice(0, slash);
  const bytes = parseAddress(addr, undefined, what);
  const family: Family = bytes.length === 4 ? "ipv4" : "ipv6";
  const max = bytes.length * 8;
  if (slash === -1) return { family, bytes, bits: max, mask: maskOfLength(bytes.length, max) };
  const t = s.slice(slash + 1);
  if (/^\d{1,3}$/.test(t) && Number(t) <= max) {
    const bits = Number(t);
    return { family, bytes, bits, mask: maskOfLength(bytes.length, bits) };
  }
  if (!t.includes(".") && !t.includes(":")) {
    throw new RangeError(`Invalid ${what} "${s}": prefix length must be 0..${max}`);
  }
  const mask = parseAddress(t, family, `${what} netmask`);
  return { family, bytes, bits: maskLength(mask), mask };
}
/** True when address bytes `b` (at `off`) fall inside `p`: equal in every bit of its mask. */
export function prefixContains(p: Prefix, b: Uint8Array, off = 0, len = b.length - off): boolean {
  if (len !== p.bytes.length) return false;
  const m = p.mask;
  for (let i = 0; i < len; i++) if (((b[off + i] ^ p.bytes[i]) & m[i]) !== 0) return false;
  return true;
}

/**
 * An address and an optional port as one endpoint: `10.0.0.1:53`, `[2001:db8::1]:53` (IPv6 in
 * brackets, RFC 3986), or the bare address when there is no port (ICMP, GRE, …).
 */
export function formatEndpoint(addr: string, port?: number): string {
  if (port === undefined) return addr;
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}
