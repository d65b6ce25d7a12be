/**
 * The one nfnetlink request builder (conntrack/nfnl.ts): header bytes, and one request sent
 * and answered through a scripted transport (dump to NLMSG_DONE, ACK, kernel error).
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as C from "../../../conntrack/constants.ts";
import {
  beginRequest,
  nfnlMsgType,
  nfnlRequest,
  openNfnlSocket,
  writeNfgenmsg,
} from "../../../conntrack/nfnl.ts";
import { MessageBuilder } from "../../../netlink/attribute.ts";
import { NetlinkError } from "../../../netlink/errors.ts";
import { HOST_LE, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from "../../../netlink/message.ts";
import { NetlinkSocket } from "../../../netlink/socket.ts";
import {
  ackMessage,
  dataMessage,
  doneMessage,
  errorMessage,
  ScriptedTransport,
  type SentMessage,
} from "../../_helpers/scripted.ts";

/** A u16 and a u32 in host order, as the nlmsghdr holds them. */
function u16(v: number): number[] {
  return HOST_LE ? [v & 0xff, v >> 8] : [v >> 8, v & 0xff];
}
function u32(v: number): number[] {
  const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  return HOST_LE ? b : b.reverse();
}

test("nfnlMsgType puts the subsystem in the high byte: IPCTNL_MSG_CT_GET is 0x101", () => {
  assert.equal(nfnlMsgType(C.NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET), 0x101);
  assert.equal(nfnlMsgType(C.NFNL_SUBSYS_CTNETLINK_EXP, C.IPCTNL_MSG_EXP_DELETE), 0x202);
});

test("beginRequest writes nlmsghdr (NLM_F_REQUEST added) and nfgenmsg; end() fills in the length", () => {
  const b = new MessageBuilder();
  const at = beginRequest(b, { type: 0x101, flags: NLM_F_DUMP, seq: 7, family: C.AF_INET });
  b.u32(C.CTA_MARK, 1);
  b.end(at);
  assert.deepEqual([...b.bytes()], [
    ...u32(28), // nlmsg_len: 16 + 4 + 8
    ...u16(0x101), // nlmsg_type: IPCTNL_MSG_CT_GET of NFNL_SUBSYS_CTNETLINK
    ...u16(NLM_F_REQUEST | NLM_F_DUMP), // nlmsg_flags
    ...u32(7), // nlmsg_seq
    ...u32(0), // nlmsg_pid: the kernel fills it in
    C.AF_INET, // nfgen_family
    C.NFNETLINK_V0, // version
    0x00, // res_id (be16)
    0x00,
    ...u16(8), // CTA_MARK: nla_len
    ...u16(C.CTA_MARK), // nla_type
    0x00, // be32 1
    0x00,
    0x00,
    0x01,
  ]);
});

test("beginRequest defaults to AF_UNSPEC and version 0, and writes the version it is given", () => {
  const b = new MessageBuilder();
  b.end(beginRequest(b, { type: 0x102, flags: NLM_F_ACK, seq: 1 }));
  assert.deepEqual([...b.bytes().subarray(16)], [C.AF_UNSPEC, 0, 0, 0]);
  b.reset();
  b.end(beginRequest(b, { type: 0x102, flags: NLM_F_ACK, seq: 1, family: C.AF_INET6, version: 1 }));
  assert.deepEqual([...b.bytes().subarray(16)], [C.AF_INET6, 1, 0, 0]);
});

test("writeNfgenmsg writes res_id big-endian", () => {
  const b = new MessageBuilder();
  writeNfgenmsg(b, C.AF_INET, 0, 0x1234);
  assert.deepEqual([...b.bytes()], [C.AF_INET, 0, 0x12, 0x34]);
});

/** A socket on a scripted transport that answers each request with `answer(request)`. */
function scripted(answer: (req: SentMessage) => Uint8Array[]): {
  sock: NetlinkSocket;
  t: ScriptedTransport;
} {
  const t = new ScriptedTransport({
    onSend: (t, msgs) => t.push(...msgs.flatMap(answer)),
  });
  return { sock: new NetlinkSocket(() => t), t };
}

test("nfnlRequest of a dump returns each data reply decoded, up to NLMSG_DONE", () => {
  const { sock, t } = scripted((req) => [
    dataMessage(req, req.header.type, new Uint8Array([C.AF_INET, 0, 0, 1])),
    dataMessage(req, req.header.type, new Uint8Array([C.AF_INET, 0, 0, 2])),
    doneMessage(req),
  ]);
  const b = new MessageBuilder();
  const out = nfnlRequest(sock, b, {
    type: 0x104, // IPCTNL_MSG_CT_GET_STATS_CPU
    flags: NLM_F_DUMP,
    op: "Cannot read per-CPU statistics",
    each: (dv, off) => dv.getUint16(off + 18, false), // the nfgenmsg res_id
  });
  assert.deepEqual(out, [1, 2]);
  const req = t.lastRequest();
  assert.equal(req.header.type, 0x104);
  assert.equal(req.header.flags, NLM_F_REQUEST | NLM_F_DUMP);
  assert.deepEqual([...req.bytes.subarray(16, 20)], [C.AF_UNSPEC, 0, 0, 0]);
  sock.close();
});

test("nfnlRequest writes the body after the nfgenmsg and returns [] for a bare ACK", () => {
  const { sock, t } = scripted((req) => [ackMessage(req)]);
  const b = new MessageBuilder();
  const out = nfnlRequest(sock, b, {
    type: 0x800, // IPCTNL_MSG_TIMEOUT_NEW of NFNL_SUBSYS_CTNETLINK_TIMEOUT
    flags: NLM_F_ACK,
    family: C.AF_INET,
    op: "Cannot add timeout policy",
    body: (b) => b.string(1, "t1"),
  });
  assert.deepEqual(out, []);
  const req = t.lastRequest();
  assert.equal(req.header.len, 16 + 4 + 8);
  assert.deepEqual([...req.bytes.subarray(16)], [
    C.AF_INET,
    0,
    0,
    0,
    ...u16(7),
    ...u16(1),
    0x74,
    0x31,
    0,
    0,
  ]);
  sock.close();
});

test("nfnlRequest throws the kernel's error as NetlinkError naming the operation", () => {
  const { sock } = scripted((req) => [errorMessage(req, 2)]);
  const b = new MessageBuilder();
  assert.throws(
    () => nfnlRequest(sock, b, { type: 0x801, flags: NLM_F_ACK, op: "Cannot get timeout policy" }),
    (e: unknown) =>
      e instanceof NetlinkError && e.errno === 2 &&
      e.message.startsWith("Cannot get timeout policy"),
  );
  sock.close();
});

test("openNfnlSocket refuses unknown keys, null, and netns together with transport", () => {
  const t = () => new ScriptedTransport();
  assert.throws(() => openNfnlSocket({ netns: "/run/netns/x", transport: t }, "o"), TypeError);
  assert.throws(() => openNfnlSocket({ nets: 1 } as never, "o"), /unknown key "nets"/);
  assert.throws(() => openNfnlSocket(null as never, "o"), TypeError);
  const sock = openNfnlSocket({ transport: t }, "o");
  assert.equal(sock.closed, false);
  sock.close();
});
