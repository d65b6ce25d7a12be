/**
 * The kernel-side BPF event filter (conntrack/bpf.ts) checked against the userspace match with a
 * BPF interpreter: it may pass more than the match keeps, never less.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileEventFilter } from "../../../conntrack/bpf.ts";
import { compileFilter, type Filter } from "../../../conntrack/filter.ts";
import type { Flow } from "../../../conntrack/flow.ts";
import { decodeFlow } from "../../../conntrack/flow_decode.ts";
import { NLM_F_CREATE, NLM_F_EXCL } from "../../../netlink/message.ts";
import { runBpf } from "../../_helpers/bpf_vm.ts";
import { EVENTS } from "../../_helpers/event_fixtures.ts";
import { flowMessage } from "../../_helpers/flow_message.ts";
import { view } from "../../_helpers/golden.ts";
import { Rng } from "../../_helpers/rng.ts";

test("the kernel BPF filter never drops an event the userspace match keeps (2000 random flows x filters)", () => {
  const r = new Rng(7);
  const pick = <T>(a: readonly T[]): T => r.pick(a);
  const flows: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) {
    const v6 = r.chance(0.3);
    const proto = pick(["tcp", "udp", "icmp", "sctp"] as const);
    const icmp = proto === "icmp";
    const f: Partial<Flow> & Pick<Flow, "proto"> = {
      proto: icmp && v6 ? "icmpv6" : proto,
      timeout: 30,
      orig: v6
        ? {
          src: `fd00::${pick([1, 2, 3])}`,
          dst: `fd00:1::${pick([1, 2])}`,
          ...(icmp
            ? { type: 128, code: 0, id: 1 }
            : { sport: pick([1000, 2000]), dport: pick([53, 80, 443]) }),
        }
        : {
          src: `10.${pick([0, 1])}.${pick([0, 255])}.${pick([1, 2])}`,
          dst: `192.168.${pick([0, 1])}.1`,
          ...(icmp
            ? { type: 8, code: 0, id: 1 }
            : { sport: pick([1000, 2000]), dport: pick([53, 80, 443]) }),
        },
    };
    if (r.chance(0.5)) f.mark = pick([0, 1, 7, 0x100]);
    if (r.chance(0.3)) f.zone = pick([0, 1, 2]);
    if (r.chance(0.5)) {
      f.status = pick([["ASSURED"], ["SEEN_REPLY"], ["ASSURED", "SEEN_REPLY"]] as never);
    }
    flows.push(flowMessage(f, { flags: NLM_F_CREATE | NLM_F_EXCL }));
  }
  const filters: Filter[] = [
    { family: "ipv4" },
    { family: "ipv6" },
    { proto: "tcp" },
    { proto: "udp", dport: 53 },
    { src: "10.0.0.0/16" },
    { src: "10.1.255.2" },
    { dst: "192.168.1.1", proto: "tcp", sport: 1000 },
    { src: "fd00::/126" },
    { dst: "fd00:1::2" },
    { reply: { src: "192.168.0.0/24" } },
    { reply: { dport: 1000 }, proto: "udp" },
    { mark: 7 },
    { mark: 0 },
    { mark: { value: 0, mask: 0xff } },
    { zone: 1 },
    { zone: 0 },
    { status: ["ASSURED"] },
    { status: { value: [], mask: ["SEEN_REPLY"] } },
    { proto: "icmp" },
    { family: "ipv4", proto: "sctp", mark: 1, dport: 80 },
  ];
  for (const filter of filters) {
    const prog = compileEventFilter(filter);
    assert.ok(prog, `a program for ${JSON.stringify(filter)}`);
    const cf = compileFilter(filter);
    let kept = 0, dropped = 0;
    for (const bytes of flows) {
      const verdict = runBpf(prog, bytes);
      const match = cf.match(decodeFlow(view(bytes), 0, bytes.length));
      if (match) {
        assert.notEqual(verdict, 0, `BPF dropped a matching flow for ${JSON.stringify(filter)}`);
      }
      if (verdict === 0) dropped++;
      else kept++;
    }
    assert.ok(dropped > 0, `BPF dropped nothing for ${JSON.stringify(filter)} (kept ${kept})`);
  }
});

test("the kernel BPF filter passes expectation events and refuses nothing when the filter is empty", () => {
  assert.equal(compileEventFilter(undefined), undefined);
  assert.equal(compileEventFilter({}), undefined);
  assert.equal(compileEventFilter({ state: "ESTABLISHED" }), undefined); // userspace only
  assert.equal(compileEventFilter({ sport: 2000 }), undefined); // ports without a protocol: userspace only
  const prog = compileEventFilter({ proto: "udp" })!;
  assert.notEqual(runBpf(prog, EVENTS[1]), 0); // expectNew
  assert.equal(runBpf(prog, EVENTS[0]), 0); // a TCP flow
});
