/**
 * Kernel-flush proofs remembered for the rest of a boot. A kernel-side `flush(filter)` is used
 * only after a flush of the same shape deleted exactly the right sentinels on a scratch table
 * (flush.ts); that proof costs a walk of the kernel's conntrack hash (shared by every
 * namespace: about as long as the flush itself on a big table). What it proves depends only on
 * the running kernel, so the shapes proven are written to `/run/nfct/flush-proofs` (tmpfs:
 * gone at reboot) and later processes skip the proof.
 *
 * Trusted only when it cannot have been written by anyone but root: the folder and the file
 * belong to uid 0 and are writable by nobody else (a user namespace sees root's files as
 * another uid, so it never trusts them), and the file names this boot (`boot_id`), this kernel
 * release and this proof's version. Only successful proofs are kept. Any doubt: prove again.
 * `NFCT_FLUSH_PROOFS=0` turns it off; `NFCT_STATE_DIR` moves the folder (same rules).
 * @module
 */
import { env, readTextFile } from "../ffi/host.ts";
import { fileOwner, makeDir, writeFileAtomic } from "../ffi/files.ts";
import { kernelRelease } from "../ffi/syscalls.ts";

/** Bumped whenever the sentinels or the proof change what a proven shape means. */
const PROOF_VERSION = 1;
const FILE = "flush-proofs";

/** The header line this boot's file must start with, or undefined when it cannot be known. */
function header(): string | undefined {
  try {
    const boot = readTextFile("/proc/sys/kernel/random/boot_id").trim();
    return `nfct-flush-proofs v${PROOF_VERSION} boot=${boot} kernel=${kernelRelease()}`;
  } catch {
    return undefined;
  }
}

const dirOf = (): string | undefined =>
  env("NFCT_FLUSH_PROOFS") === "0" ? undefined : env("NFCT_STATE_DIR") ?? "/run/nfct";

/** Root's, and writable by root alone. */
const rootsOnly = (o: { uid: number; perm: number } | undefined): boolean =>
  o !== undefined && o.uid === 0 && (o.perm & 0o022) === 0;

/** The shapes proven earlier in this boot (empty when there is no trusted record). */
export function loadProofs(): Set<string> {
  const dir = dirOf();
  const head = header();
  if (dir === undefined || head === undefined) return new Set();
  const d = fileOwner(dir);
  const path = `${dir}/${FILE}`;
  const f = fileOwner(path);
  if (!d?.dir || !rootsOnly(d) || !f || f.dir || !rootsOnly(f)) return new Set();
  let text: string;
  try {
    text = readTextFile(path);
  } catch {
    return new Set();
  }
  const lines = text.split("\n");
  if (lines[0] !== head) return new Set();
  return new Set(lines.slice(1).filter((l) => l !== ""));
}

/**
 * Adds `shape` to this boot's record, when this process may keep one (root, and the folder is
 * root's alone). Never throws: a record that cannot be written only means proving again.
 */
export function rememberProof(shape: string): void {
  const dir = dirOf();
  const head = header();
  if (dir === undefined || head === undefined || shape.includes("\n")) return;
  try {
    makeDir(dir, 0o755);
    if (!rootsOnly(fileOwner(dir))) return;
    const shapes = loadProofs();
    if (shapes.has(shape)) return;
    shapes.add(shape);
    writeFileAtomic(`${dir}/${FILE}`, [head, ...shapes, ""].join("\n"));
  } catch {
    // Not root, a read-only /run, a Deno without write permission: nothing is remembered.
  }
}
