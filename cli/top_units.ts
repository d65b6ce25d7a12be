/**
 * Sizes and counts as `nfct top` prints them: bytes in SI (1 kB = 1000 B, the default) or IEC
 * (1 KiB = 1024 B) units, always with the unit; counts with SI prefixes (k = 1000).
 * @module
 */

const SI = ["B", "kB", "MB", "GB", "TB", "PB"];
const IEC = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** How the header states the units: `SI (1 kB = 1000 B)` or `IEC (1 KiB = 1024 B)`. */
export function unitsNote(iec: boolean): string {
  return iec ? "IEC (1 KiB = 1024 B)" : "SI (1 kB = 1000 B)";
}

/** Scales `n` by `base` while it has 4 or more digits; returns the value and the step count. */
function scale(n: number, base: number, steps: number): [number, number] {
  let i = 0;
  while (n >= base && i < steps) {
    n /= base;
    i++;
  }
  // 999.96 kB would print as 1000.0 kB (and 999.6 B as 1000 B): one step more.
  const shown = i === 0 ? Math.round(n) : Number(n.toFixed(1));
  if (i < steps && shown >= base) [n, i] = [n / base, i + 1];
  return [n, i];
}

/** `n` bytes with a unit: `512 B`, `1.5 kB` (SI) or `1.5 KiB` (IEC); one decimal when scaled. */
export function formatBytes(n: number, iec = false): string {
  const [v, i] = scale(n, iec ? 1024 : 1000, SI.length - 1);
  const names = iec ? IEC : SI;
  return i === 0 ? `${Math.round(v)} ${names[0]}` : `${v.toFixed(1)} ${names[i]}`;
}

/** A byte rate: {@link formatBytes} per second, `1.5 MB/s`. */
export function formatRate(bytesPerSecond: number, iec = false): string {
  return `${formatBytes(bytesPerSecond, iec)}/s`;
}

/**
 * A count or a count per second: whole below 1000 (one decimal below 10 when it is not whole,
 * so a rate of 0.5 stays visible), then `12.3k`, `4.5M`, `6.7G` (SI prefixes).
 */
export function formatCount(n: number): string {
  const [v, i] = scale(n, 1000, 3);
  if (i > 0) return `${v.toFixed(1)}${["", "k", "M", "G"][i]}`;
  return v < 10 && !Number.isInteger(v) ? v.toFixed(1) : String(Math.round(v));
}
