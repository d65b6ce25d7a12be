/**
 * Connection label names: reading the map as libnetfilter_conntrack does
 * (`/etc/xtables/connlabel.conf`, or the file `NFCT_CONNLABEL_CONF` names) and turning `-l`,
 * `--label-add`, `--label-del` lists into bits.
 * @module
 */
import { host, type LabelMap, parseConnlabelConf } from "../mod.ts";
import { otherError, paramError } from "./errors.ts";
import type { OptName } from "./matrix.ts";
import { PROG } from "./version.ts";
import type { OutputName } from "./values.ts";

/**
 * Reads the label map; a missing or unreadable file is an empty map, after a warning line
 * passed to `warn`.
 */
export function loadLabelMap(warn: (line: string) => void): LabelMap {
  const path = host.env("NFCT_CONNLABEL_CONF") ?? "/etc/xtables/connlabel.conf";
  try {
    return parseConnlabelConf(host.readTextFile(path));
  } catch (e) {
    const why = (e as { code?: string }).code ?? String(e);
    warn(`${PROG}: cannot read label names from ${path}: ${why}\n`);
    return new Map();
  }
}

/**
 * Whether conntrack loads its label map for this command line (`labelmap_init()`: `-l`,
 * `--label-add`, `--label-del`, `-o labels`). Whenever it has, every printed entry that has
 * labels ends in `labels=...`, whether or not `-o labels` was asked for.
 */
export function loadsLabelMap(
  given: ReadonlySet<OptName>,
  output: ReadonlySet<OutputName>,
): boolean {
  return given.has("label") || given.has("label-add") || given.has("label-del") ||
    output.has("labels");
}

/**
 * The bits of label `lists` (each a comma-separated list of names) in `map`: exit 2 "unknown
 * label" for a name the map lacks, exit 1 for a bit the kernel does not keep (over 127).
 */
export function labelBits(lists: readonly string[], map: LabelMap): number[] {
  const byName = new Map([...map].map(([bit, name]) => [name, bit]));
  const bits: number[] = [];
  for (const list of lists) {
    for (const n of list.split(",")) {
      const bit = byName.get(n);
      if (bit === undefined) throw paramError(`unknown label '${n}'`);
      if (bit > 127) {
        throw otherError(`label '${n}' is bit ${bit}: the kernel keeps 128 label bits`);
      }
      bits.push(bit);
    }
  }
  return bits;
}
