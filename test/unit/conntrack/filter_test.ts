/**
 * compileFilter() (conntrack/filter.ts): any-of lists and `not`. What it refuses:
 * filter_check_test.ts; what it sends the kernel: filter_kernel_test.ts; how one filter matches:
 * filter_match_test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as C from "../../../conntrack/constants.ts";
import { compileFilter, type Filter } from "../../../conntrack/filter.ts";
import { flow, sent } from "../../_helpers/filter_cases.ts";

test("an any-of list matches a flow any of its filters matches, in one dump with no kernel filter", () => {
  const cf = compileFilter([{ reply: { src: "10.88.0.5" } }, { reply: { dst: "10.88.0.5" } }, {
    proto: "udp",
    dport: 8080,
  }]);
  assert.deepEqual(cf.families, [0]);
  assert.deepEqual(sent([{ proto: "udp" }, { proto: "tcp" }], 0).top, []);
  assert.equal(
    cf.match(flow({ reply: { src: "10.88.0.5", dst: "10.0.0.1", sport: 53, dport: 1000 } })),
    true,
  );
  assert.equal(
    cf.match(flow({ orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 8080 } })),
    true,
  );
  assert.equal(cf.match(flow()), false);
  assert.deepEqual(compileFilter([{ family: "ipv6" }, { family: "ipv6", proto: "udp" }]).families, [
    C.AF_INET6,
  ]);
  assert.equal(compileFilter([{ proto: "udp" }]).anyOf, undefined, "a list of one is that filter");
});

test("not: flows that do not match the inner filter (or none of a list), besides the other conditions", () => {
  const cf = compileFilter({ proto: "udp", not: { reply: { src: "10.0.0.0/8" } } });
  assert.equal(cf.match(flow()), false, "reply source 10.0.0.2 is in 10/8");
  assert.equal(
    cf.match(flow({ reply: { src: "192.0.2.1", dst: "10.0.0.1", sport: 53, dport: 1000 } })),
    true,
  );
  assert.equal(
    cf.match(
      flow({ proto: "tcp", reply: { src: "192.0.2.1", dst: "10.0.0.1", sport: 53, dport: 1000 } }),
    ),
    false,
  );
  assert.equal(cf.kernel.exact, false, "a negation is never flushed in the kernel");
  const none = compileFilter({ not: [{ dport: 53 }, { dport: 80 }] });
  assert.equal(none.match(flow()), false);
  assert.equal(
    none.match(flow({ orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 443 } })),
    true,
  );
  for (
    const bad of [{ not: {} }, { not: undefined }, { not: null }, { not: [] }, {
      not: { srcc: "1.2.3.4" },
    }]
  ) {
    assert.throws(() => compileFilter(bad as Filter), TypeError, JSON.stringify(bad));
  }
});
