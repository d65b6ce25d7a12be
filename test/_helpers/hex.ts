/**
 * Hex text and bytes, for test fixtures (test/fixtures/*.hex) and failure messages.
 * @module
 */
import { readFileSync } from "node:fs";

/** The bytes as lower-case hex, two digits each, joined by `separator` (none by default). */
export function toHex(bytes: ArrayLike<number>, separator = ""): string {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join(separator);
}

/** Bytes from hex text (whitespace ignored). Throws `RangeError` on anything but pairs of hex digits. */
export function fromHex(text: string): Uint8Array {
  const hex = text.replace(/\s+/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) {
    throw new RangeError(`Cannot read hex: not pairs of hex digits: ${hex.slice(0, 40)}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * The datagrams of a fixture written one per line in hex, `#` lines being comments and blank
 * lines skipped (test/fixtures/events.hex, test/fixtures/real_dump_*.hex).
 */
export function readHexLines(url: URL): Uint8Array[] {
  return readFileSync(url, "utf8").split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map(fromHex);
}

/** The URL of `test/fixtures/<name>`. */
export function fixtureUrl(name: string): URL {
  return new URL(`../fixtures/${name}`, import.meta.url);
}
