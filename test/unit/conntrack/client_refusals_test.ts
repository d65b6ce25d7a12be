/**
 * The controls of the *_refusals_test.ts files: the limits themselves are accepted, and the
 * scripted transport does count what is sent (test/_helpers/refusals.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type Call,
  CREATE,
  DCCP,
  EXP,
  KEY,
  keys,
  ORIG,
  run,
  scripted,
  SCTP,
} from "../../_helpers/refusals.ts";

// --- Controls: the limits themselves are accepted, and the transport does count

const ACCEPTED: [string, Call, number][] = [
  ["create at every limit", (ct) =>
    ct.create({
      ...CREATE,
      mark: 2 ** 32 - 1,
      zone: 65535,
      labels: [0, 127],
      tcp: {
        state: "SYN_SENT2",
        wscaleOrig: 14,
        wscaleReply: 0,
        flagsOrig: { flags: 255, mask: 255 },
        flagsReply: { flags: 0, mask: 0 },
      },
      helper: "x".repeat(15),
      helperInfo: new Uint8Array(32),
      seqAdjOrig: { correctionPos: 2 ** 32 - 1, offsetBefore: 0, offsetAfter: 0 },
      synproxy: { isn: 2 ** 32 - 1, its: 0, tsoff: 0 },
      unknown: [{ type: 0x3fff, data: new Uint8Array(65531) }, {
        type: 100 | 0x8000,
        data: new Uint8Array(0),
      }],
      natSrc: { minIp: "10.0.0.9", minPort: 1, maxPort: 65535 },
    } as never), 1],
  [
    "update of an SCTP flow with u32 vtags",
    (ct) =>
      ct.update(
        { ...SCTP, sctp: { state: "ESTABLISHED", vtagOrig: 2 ** 32 - 1, vtagReply: 0 } } as never,
      ),
    1,
  ],
  [
    "update of a DCCP flow at its limits",
    (ct) =>
      ct.update(
        { ...DCCP, dccp: { state: "TIMEWAIT", role: 1, handshakeSeq: 2n ** 64n - 1n } } as never,
      ),
    1,
  ],
  [
    "update with undefined optional fields beside a change",
    (ct) => ct.update({ ...KEY, mark: 1, zone: undefined, id: undefined } as never),
    1,
  ],
  ["delete of a key with zone and id", (ct) => ct.delete({ ...KEY, zone: 1, id: 7 } as never), 1],
  ["get of a dumped-looking flow as its key", (ct) =>
    ct.get({
      ...KEY,
      family: "ipv4",
      reply: { src: ORIG.dst, dst: ORIG.src, sport: 80, dport: 1000 },
      tcp: { state: "STATE_12" },
      counters: { orig: { packets: 1, bytes: 2 }, reply: { packets: 0, bytes: 0 } },
      timestamp: { start: 1n },
      use: 1,
      secctx: "x",
    } as never), 1],
  [
    "delete by a dumped master tuple (it carries its proto)",
    (ct) => ct.delete({ proto: "tcp", orig: { ...ORIG, proto: "tcp" } } as never),
    1,
  ],
  ["addLabels", (ct) => ct.addLabels(KEY as never, [0, 127]), 1],
  ["deleteMany of 3 keys", (ct) => ct.deleteMany(keys(3)), 3],
  [
    "list()",
    (ct) => ct.list(undefined, { readAhead: false, zero: false, kernelFilterOnly: true }),
    1,
  ],
  ["listExpect({ helper })", (ct) => ct.listExpect({ helper: "x".repeat(15) }), 1],
  [
    "createExpect",
    (ct) =>
      ct.createExpect({ ...EXP, helper: "ftp", flags: ["PERMANENT", "BIT_31" as never] } as never),
    1,
  ],
  // A dump of the expectations (empty here), then one delete per listed one.
  ["flushExpect(helper)", (ct) => ct.flushExpect("ftp"), 1],
];
for (const [name, call, n] of ACCEPTED) {
  test(`accepted and sent: ${name}`, () => {
    const s = scripted();
    const ct = s.open();
    run(ct, call);
    assert.equal(s.sent(), n);
    ct.close();
  });
}
