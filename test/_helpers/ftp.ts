/**
 * FTP masters and the expectations of their data connections, for the tests of expectations
 * (the kernel's built-in FTP helper attaches to a master created with `helper: "ftp"`).
 * @module
 */
import type { Conntrack, Expectation, MasterTuple } from "../../mod.ts";

/** An exact IPv4 / IPv6 address mask. */
export const ONES4 = "255.255.255.255", ONES6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";

/** What createExpect takes. */
export type NewExpectation = Partial<Expectation> & Pick<Expectation, "proto" | "tuple" | "master">;

/** Master `i`: TCP 10.40.0.i:40000+i -> 10.40.1.1:21, or with `six` fd00::i -> fd00::100. */
export function ftpMaster(i: number, six = false): MasterTuple {
  return {
    proto: "tcp",
    src: six ? `fd00::${i}` : `10.40.0.${i}`,
    dst: six ? "fd00::100" : "10.40.1.1",
    sport: 40000 + i,
    dport: 21,
  };
}

/** Creates the flow of master `m`: ESTABLISHED, ASSURED, with `helper` attached; 600 s. */
export function createFtpMaster(ct: Conntrack, m: MasterTuple, helper = "ftp"): void {
  ct.create({
    proto: "tcp",
    orig: { src: m.src, dst: m.dst, sport: m.sport, dport: m.dport },
    timeout: 600,
    tcp: { state: "ESTABLISHED" },
    status: ["ASSURED", "SEEN_REPLY"],
    helper,
  });
}

/**
 * The expectation of a data connection of master `m`: from its server to its client's port
 * `dport` (any source port), exact addresses, 300 s; `extra` overrides.
 */
export function ftpExpectation(
  m: MasterTuple,
  dport: number,
  extra: Partial<Expectation> = {},
): NewExpectation {
  const ones = m.src.includes(":") ? ONES6 : ONES4;
  return {
    master: m,
    proto: "tcp",
    tuple: { src: m.dst, dst: m.src, sport: 0, dport },
    mask: { src: ones, dst: ones, sport: 0, dport: 0xffff },
    timeout: 300,
    ...extra,
  };
}
