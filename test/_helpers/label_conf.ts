/**
 * A connlabel.conf for CLI tests: label names for nfct (through `NFCT_CONNLABEL_CONF`) in a
 * temporary directory. (conntrack(8) reads only /etc/xtables/connlabel.conf: see
 * `conntrackWithLabelConf` in run.ts.)
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";

/** The label names the CLI tests use. */
export const LABEL_NAMES = "0 zero\n1 one\n5 five\n";

/** A temporary directory holding connlabel.conf. */
export interface LabelConf {
  /** The directory (a place for the test's other files too). */
  dir: string;
  /** The environment that points nfct at the file. */
  env: { NFCT_CONNLABEL_CONF: string };
  /** Removes the directory. */
  remove(): void;
}

/** Makes a directory `/tmp/<prefix>XXXXXX` with {@link LABEL_NAMES} in its connlabel.conf. */
export function labelConf(prefix: string): LabelConf {
  const dir = mkdtempSync(`/tmp/${prefix}`);
  writeFileSync(`${dir}/connlabel.conf`, LABEL_NAMES);
  return {
    dir,
    env: { NFCT_CONNLABEL_CONF: `${dir}/connlabel.conf` },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
