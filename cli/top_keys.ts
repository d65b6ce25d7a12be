/**
 * `nfct top`'s keys: the bytes read from a raw-mode terminal, as actions. No I/O.
 * @module
 */
import type { RateOrder } from "../mod.ts";

/** The keys that change the sort order. */
export const SORT_KEYS: Readonly<Record<string, RateOrder>> = {
  b: "bytesPerSecond",
  p: "packetsPerSecond",
  t: "bytes",
  P: "packets",
};

/** What a key asks for. */
export type TopAction =
  | { type: "sort"; order: RateOrder }
  | { type: "quit" }
  | { type: "redraw" };

const CTRL_C = 3, CTRL_D = 4, CTRL_L = 12, ESC = 27;

/**
 * The actions of one read from the terminal, in order: `b`/`p`/`t`/`P` sort, `q`/`Q`/Ctrl-C/
 * Ctrl-D quit, Ctrl-L redraws. Escape sequences (arrow keys, `ESC [ A`; function keys) and
 * other keys do nothing.
 */
export function keyActions(bytes: Uint8Array): TopAction[] {
  const out: TopAction[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === ESC) {
      // CSI (`ESC [` … a final byte 0x40..0x7e) or SS3 (`ESC O` + one byte); a lone ESC is nothing.
      if (bytes[i + 1] === 0x5b) {
        i += 2;
        while (i < bytes.length && !(bytes[i] >= 0x40 && bytes[i] <= 0x7e)) i++;
      } else if (bytes[i + 1] === 0x4f) i += 2;
      continue;
    }
    if (b === CTRL_C || b === CTRL_D || b === 0x71 || b === 0x51) out.push({ type: "quit" });
    else if (b === CTRL_L) out.push({ type: "redraw" });
    else {
      const order = SORT_KEYS[String.fromCharCode(b)];
      if (order) out.push({ type: "sort", order });
    }
  }
  return out;
}
