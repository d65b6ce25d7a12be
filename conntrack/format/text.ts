/**
 * Where the line builder writes: {@link TextOut}, taken by {@link LineText} (UTF-8 straight into
 * a byte buffer, numbers and IPv4 addresses digit by digit: a long listing builds no string per
 * field and encodes nothing a second time) and by {@link StringText} (a string, for the APIs that
 * return one: concatenation is the fastest way to a string).
 * @module
 */

import { formatIPv4 } from "../address.ts";

const utf8Out = new TextEncoder();

/** What the line builder writes text with. */
export interface TextOut {
  /** Appends `s`. */
  str(s: string): void;
  /** Appends `v` as `String(v)` writes it. */
  num(v: number | bigint): void;
  /** Appends the dotted quad of the 4 bytes at `off` of `a`. */
  ipv4(a: Uint8Array, off: number): void;
}

/** A {@link TextOut} that builds a string, in `s`. */
export class StringText implements TextOut {
  /** The text written. */
  s = "";
  str(s: string): void {
    this.s += s;
  }
  num(v: number | bigint): void {
    this.s += v;
  }
  ipv4(a: Uint8Array, off: number): void {
    this.s += formatIPv4(a, off);
  }
}

/** A growable buffer of UTF-8 text that lines are appended to. */
export class LineText implements TextOut {
  /** The buffer; `bytes.subarray(0, length)` is the text written. */
  bytes: Uint8Array;
  /** Bytes written. */
  length = 0;

  constructor(size = 1024) {
    this.bytes = new Uint8Array(size);
  }

  /** Makes room for `n` more bytes. */
  room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const b = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    b.set(this.bytes.subarray(0, this.length));
    this.bytes = b;
  }

  /** Appends one byte (an ASCII character code). */
  byte(c: number): void {
    if (this.length === this.bytes.length) this.room(1);
    this.bytes[this.length++] = c;
  }

  /** Appends `s` as UTF-8. */
  str(s: string): void {
    const n = s.length;
    this.room(n);
    const b = this.bytes;
    let at = this.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.length = at;
        this.#utf8(s.slice(i));
        return;
      }
      b[at++] = c;
    }
    this.length = at;
  }

  /** The rest of a string that is not all ASCII. */
  #utf8(s: string): void {
    this.room(s.length * 3);
    this.length += utf8Out.encodeInto(s, this.bytes.subarray(this.length)).written;
  }

  /** Appends `v` as `String(v)` writes it: digit by digit for an integer in 0..2^31-1. */
  num(v: number | bigint): void {
    if (typeof v === "number" && v >= 0 && v < 0x80000000 && (v | 0) === v) this.#int(v);
    else this.str(String(v));
  }

  /** The digits of `v`, an integer in 0..2^31-1. */
  #int(v: number): void {
    let digits = 1;
    for (let x = v; x >= 10; x = (x / 10) | 0) digits++;
    this.room(digits);
    const b = this.bytes;
    let at = this.length + digits;
    this.length = at;
    while (v >= 10) {
      const q = (v / 10) | 0;
      b[--at] = 48 + v - q * 10;
      v = q;
    }
    b[--at] = 48 + v;
  }

  /** Appends the dotted quad of the 4 bytes at `off` of `a` (written out: 8 per line). */
  ipv4(a: Uint8Array, off: number): void {
    this.room(15);
    const b = this.bytes;
    let at = this.length;
    for (let k = 0; k < 4; k++) {
      const v = a[off + k];
      if (k) b[at++] = 46; // "."
      if (v >= 100) {
        const h = (v / 100) | 0, t = ((v / 10) | 0) - h * 10;
        b[at++] = 48 + h;
        b[at++] = 48 + t;
      } else if (v >= 10) b[at++] = 48 + ((v / 10) | 0);
      b[at++] = 48 + (v % 10);
    }
    this.length = at;
  }
}

/** A {@link StringText} for one string at a time (formatting is synchronous). */
const scratch = new StringText();

/** What `write` writes, as a string. */
export function textOf<A, B>(write: (out: TextOut, a: A, b: B) => void, a: A, b: B): string {
  scratch.s = "";
  write(scratch, a, b);
  return scratch.s;
}
