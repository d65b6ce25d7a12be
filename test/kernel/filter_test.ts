/**
 * Filters against the real kernel, in a throwaway network namespace: what the kernel selects
 * (with the userspace re-check, and alone where it can) equals what compileFilter() matches.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compileFilter, Conntrack } from "../../mod.ts";
import { mixed } from "../_helpers/client_flows.ts";
import { assertThrowawayNetns } from "../_helpers/netns.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };

test("a filter on the kernel side and in userspace give the same flows", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  ct.createMany(mixed(3000));
  const all = ct.list();
  const filters = [
    { proto: "tcp" as const },
    { proto: "tcp" as const, dport: 443 },
    { src: "10.3.0.7" },
    { reply: { src: "10.8.0.1" } },
    { src: "10.5.0.0/16" },
    { family: "ipv6" as const, proto: "tcp" as const },
    { zone: 2 },
    { status: ["ASSURED" as const] },
    { state: "ESTABLISHED" },
    { mark: { value: 2, mask: 2 } },
  ];
  for (const f of filters) {
    const viaKernel = ct.list(f).map((x) => x.id).sort();
    const cf = compileFilter(f);
    const inUserspace = all.filter((x) => cf.match(x)).map((x) => x.id).sort();
    assert.deepEqual(viaKernel, inUserspace, JSON.stringify(f));
    assert.ok(
      viaKernel.length > 0,
      `filter ${JSON.stringify(f)} matched nothing: not a useful check`,
    );
  }
  // What this kernel filters by itself (no userspace re-check): exact addresses, protocol,
  // TCP/UDP ports, mark/mask and status/mask are all applied in the kernel.
  const kernelExpressible = [
    { proto: "tcp" as const },
    { proto: "tcp" as const, dport: 443 },
    { family: "ipv4" as const, src: "10.3.0.7" },
    { family: "ipv4" as const, reply: { src: "10.8.0.1" } },
    { family: "ipv6" as const, proto: "tcp" as const },
    { status: ["ASSURED" as const] },
    { mark: { value: 2, mask: 2 } },
  ];
  for (const f of kernelExpressible) {
    const raw = Array.from(ct.dump(f, { kernelFilterOnly: true }), (x) => x.id).sort();
    const cf = compileFilter(f);
    assert.deepEqual(
      raw,
      all.filter((x) => cf.match(x)).map((x) => x.id).sort(),
      `kernel-only ${JSON.stringify(f)}`,
    );
    assert.ok(raw.length < all.length);
  }
  ct.flushAll();
});
