/**
 * Differential testing of nfct against conntrack(8) 1.4.7: a varied table built by the real
 * conntrack (`-R` of `-I` lines: tcp/udp/icmp v4, tcp/udp v6 with uppercase and embedded-IPv4
 * addresses, icmpv6, sctp, gre, dccp, NAT entries whose reply tuple is not the inverted
 * original, zones incl. orig/reply zones, marks, statuses, labels), random legal command lines
 * for every command, and a comparison of what both programs do with them on the same table:
 * exit code, stdout (sorted, volatile numbers blanked), the stderr lines that start with the
 * program's name, and for commands that change the table, the table left behind (each side
 * starts from a freshly built table).
 *
 * Both programs run in one private mount namespace in which `/etc/xtables/connlabel.conf` is
 * supplied by an overlay (the host's /etc is never changed), so both read the same label names.
 * Label storage is switched on by an nft `ct label set` rule. The expect table needs masters
 * with the FTP helper, which conntrack(8) cannot attach (no option for it), so masters and
 * expectations are made through the library.
 *
 * Used by test/kernel/differential_test.ts (fixed seeds) and scripts/differential.ts (any
 * number of seeds, shrinking).
 * @module
 */
export { Rng } from "./rng.ts";
export * from "./differential/sandbox.ts";
export * from "./differential/cases.ts";
export * from "./differential/compare.ts";
