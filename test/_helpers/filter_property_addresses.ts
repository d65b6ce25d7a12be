/**
 * Address text for the random filters of the filter property test: other spellings of an
 * address, and addresses with random netmasks (not contiguous, often).
 * @module
 */
import { addrValue, type Fam } from "./filter_property_reference.ts";
import type { Rng } from "./rng.ts";

const WIDTH = { ipv4: 32, ipv6: 128 } as const;

/** `v` as address text: dotted quad, or eight hex groups (the longest zero run as `::` if `short`). */
function formatAddr(fam: Fam, v: bigint, short = true): string {
  if (fam === "ipv4") return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
  const g = Array.from(
    { length: 8 },
    (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
  );
  if (!short) return g.join(":");
  let best = -1, len = 1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && g[j] === "0") j++;
    if (j - i > len) [best, len] = [i, j - i];
  }
  return best === -1
    ? g.join(":")
    : `${g.slice(0, best).join(":")}::${g.slice(best + len).join(":")}`;
}

/** Another spelling of an IPv6 address now and then: upper case, or all eight groups written out. */
export function respell(rng: Rng, a: string): string {
  const v = addrValue(a);
  if (!v || v.family === "ipv4" || rng.chance(0.7)) return a;
  return rng.chance(0.5) ? a.toUpperCase() : formatAddr("ipv6", v.v, false);
}

/** A random netmask of `fam`: any bits (not contiguous, often), a prefix, none or all. */
function randomMask(rng: Rng, fam: Fam): bigint {
  const w = WIDTH[fam], all = (1n << BigInt(w)) - 1n;
  const r = rng.int(10);
  if (r === 0) return 0n;
  if (r === 1) return all;
  if (r <= 3) return all ^ (all >> BigInt(rng.int(w + 1)));
  const unit = fam === "ipv4" ? 8 : 16, top = (1n << BigInt(unit)) - 1n;
  const parts = fam === "ipv4" ? [top, top, 0n, 0xf0n, 0x0fn] : [top, top, 0n, 0xff00n, 0x00ffn];
  let m = 0n;
  for (let i = 0; i < w / unit; i++) {
    m = (m << BigInt(unit)) | (rng.chance(0.2) ? BigInt(rng.u32()) & top : rng.pick(parts));
  }
  return m;
}

/** `a/netmask`, with bits outside the mask changed at times (they must not matter). */
export function withNetmask(rng: Rng, a: string): string {
  const v = addrValue(a)!;
  const m = randomMask(rng, v.family);
  const all = (1n << BigInt(WIDTH[v.family])) - 1n;
  let noise = 0n;
  if (rng.chance(0.5)) { for (let i = 0; i < 4; i++) noise = (noise << 32n) | BigInt(rng.u32()); }
  noise &= ~m & all;
  return `${formatAddr(v.family, v.v ^ noise)}/${formatAddr(v.family, m, rng.chance(0.7))}`;
}
