/**
 * Listings of nfct and conntrack(8) compared as equals: the numbers that tick between two dumps
 * (timeouts, delta-time), `use=` and ids masked, lines sorted.
 * @module
 */

/** A flow or expectation line with the numbers that tick between two dumps masked. */
export function mask(line: string): string {
  return line
    .replace(/^(\d+) proto=/, "T proto=")
    .replace(/^((?:ipv[46] +\d+ )?\S+ +\d+ )\d+ /, "$1T ")
    .replace(/^(-[ADU] )-t \d+ /, "$1-t T ")
    .replace(/ delta-time=\d+ /, " delta-time=D ")
    .replace(/<timeout>\d+<\/timeout>/, "<timeout>T</timeout>")
    .replace(/<deltatime>\d+<\/deltatime>/, "<deltatime>D</deltatime>")
    .replace(/ use=\d+/, " use=U")
    .replace(/ id=\d+$/, " id=I")
    .replace(/<id>\d+<\/id>/, "<id>I</id>");
}

/** The non-empty lines of `s`, {@link mask}ed and sorted. */
export const sorted = (s: string): string[] =>
  s.split("\n").filter((l) => l !== "").map(mask).sort();
