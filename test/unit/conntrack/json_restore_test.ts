/**
 * restorable() and TCP: a dump reports each direction's flags with mask 0, and a create applies
 * only masked bits (and takes the window scales only with the window-scale flag in both
 * directions), so the flags are restored through a mask of their own bits.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Flow, restorable } from "../../../mod.ts";

test("restorable sets a dumped entry's TCP flags through a mask of their own bits", () => {
  const dumped: Flow = {
    family: "ipv6",
    proto: "tcp",
    orig: { src: "::1", dst: "::1", sport: 40000, dport: 80 },
    reply: { src: "::1", dst: "::1", sport: 80, dport: 40000 },
    tcp: {
      state: "ESTABLISHED",
      wscaleOrig: 10,
      wscaleReply: 7,
      flagsOrig: { flags: 0x23, mask: 0 },
      flagsReply: { flags: 0x27, mask: 0x08 },
    },
  };
  assert.deepEqual(restorable(dumped).tcp, {
    state: "ESTABLISHED",
    wscaleOrig: 10,
    wscaleReply: 7,
    flagsOrig: { flags: 0x23, mask: 0x23 },
    flagsReply: { flags: 0x27, mask: 0x2f },
  });
  assert.deepEqual(dumped.tcp!.flagsOrig, { flags: 0x23, mask: 0 }, "the flow is left as it was");
  assert.deepEqual(restorable({ ...dumped, tcp: { state: "CLOSE" } }).tcp, { state: "CLOSE" });
});
