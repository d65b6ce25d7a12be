/**
 * `/etc/protocols`, as `getprotobyname(3)` reads it.
 * @module
 */
import { host } from "../mod.ts";

/** Every protocol name and alias → its number (the first line naming it wins); empty without the file. */
export function readEtcProtocols(): Map<string, number> {
  const m = new Map<string, number>();
  let text = "";
  try {
    text = host.readTextFile("/etc/protocols");
  } catch { /* no /etc/protocols */ }
  for (const line of text.split("\n")) {
    const f = line.replace(/#.*/, "").trim().split(/\s+/);
    if (f.length < 2 || !/^\d+$/.test(f[1])) continue;
    for (const n of [f[0], ...f.slice(2)]) if (!m.has(n)) m.set(n, Number(f[1]));
  }
  return m;
}
