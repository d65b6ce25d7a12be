/**
 * Connlabel names: {@link parseConnlabelConf} reads `/etc/xtables/connlabel.conf` into a
 * {@link LabelMap}, which `-o labels` prints a flow's label bits with.
 * @module
 */

/** Names of connlabel bits, as `/etc/xtables/connlabel.conf` gives them (see {@link parseConnlabelConf}). */
export type LabelMap = ReadonlyMap<number, string>;

/**
 * Parses `connlabel.conf` text (`/etc/xtables/connlabel.conf`: `bit name` per line) the way
 * libnetfilter_conntrack does: `#` comments, bit numbers in C notation below 1024, names of
 * letters, digits, spaces and dashes; the first line for a bit or a name wins.
 *
 * @example
 * ```ts
 * import { parseConnlabelConf } from "@nfct/nfct";
 * const labels = parseConnlabelConf("# bit name\n0 blocked\n0x3 allowed\n");
 * console.log(labels.get(3)); // "allowed"
 * ```
 */
export function parseConnlabelConf(text: string): Map<number, string> {
  const map = new Map<number, string>();
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    // strtoul(s, &end, 0): optional leading whitespace, then 0x…, 0…, or decimal.
    const m = /^[ \t\f\r\v]*(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(line);
    if (!m) continue;
    const tok = m[1];
    const bit = /^0[xX]/.test(tok)
      ? parseInt(tok.slice(2), 16)
      : tok.length > 1 && tok[0] === "0"
      ? parseInt(tok, 8)
      : Number(tok);
    if (bit >= 1024 || map.has(bit)) continue;
    const name = line.slice(m[0].length).replace(/^[ \f\r\t\v]+/, "").replace(/[ \f\r\t\v]+$/, "");
    if (!name || !/^[a-zA-Z0-9 -]+$/.test(name) || names.has(name)) continue;
    map.set(bit, name);
    names.add(name);
  }
  return map;
}

/** The names `map` gives the set bits `labels`, by bit number; bits without a name are left out. */
export function labelNames(labels: readonly number[], map: LabelMap): string[] {
  const out: string[] = [];
  for (const bit of [...labels].sort((a, b) => a - b)) {
    const name = map.get(bit);
    if (name) out.push(name);
  }
  return out;
}
