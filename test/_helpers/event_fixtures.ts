/**
 * The kernel's own event datagrams (test/fixtures/events.hex, captured from a real kernel with an
 * FTP connection and its expectation) and what they hold.
 * @module
 */
import type { Expectation } from "../../conntrack/expect.ts";
import { fixtureUrl, readHexLines } from "./hex.ts";

/** The five datagrams in order: new, expectNew, update, destroy, expectDestroy. */
export const EVENTS: Uint8Array[] = readHexLines(fixtureUrl("events.hex"));

/** The netlink port id the kernel stamped on the flow and expectNew events. */
export const EVENTS_PORT_ID = 0xb471fb59;

/** The expectation the expectNew event (`EVENTS[1]`) carries. */
export const FTP_EXPECTATION: Expectation = {
  family: "ipv4",
  proto: "tcp",
  tuple: { src: "10.9.0.2", dst: "10.9.0.1", sport: 0, dport: 50000 },
  mask: { src: "255.255.255.255", dst: "255.255.255.255", sport: 0, dport: 65535 },
  master: { src: "10.9.0.1", dst: "10.9.0.2", sport: 40000, dport: 21, proto: "tcp" },
  timeout: 300,
  id: 851651971,
  flags: [],
  class: 0,
  helper: "ftp",
};
