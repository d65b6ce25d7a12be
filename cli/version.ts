/**
 * The command's name and version, and the prefix of every message it prints on standard error.
 * @module
 */

/** nfct's version (package.json's). */
export const VERSION = "0.1.0";
/** The program name messages use. */
export const PROG = "nfct";
/** What conntrack's `conntrack v1.4.7 (conntrack-tools): ` is for nfct. */
export const PREFIX = `${PROG} v${VERSION} (conntrack-tools compatible): `;
