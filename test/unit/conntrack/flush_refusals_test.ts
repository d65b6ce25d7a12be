/**
 * The flush contract (flush.ts): a filter is required and checked, options are checked, and
 * bad filters of dumps are refused too, all before anything is sent (test/_helpers/refusals.ts).
 */
import { type Call, method, refused } from "../../_helpers/refusals.ts";

// --- Flush (the lead's contract: filter required and checked; options checked)

const FLUSH_CONTRACT: [string, Call][] = [
  ["flush()", (ct) => (ct.flush as (...a: unknown[]) => unknown)()],
  ["flush(undefined)", (ct) => ct.flush(undefined as never)],
  ["flush(null)", (ct) => ct.flush(null as never)],
  ["flush({})", (ct) => ct.flush({})],
  ["flush({ reply: {} })", (ct) => ct.flush({ reply: {} })],
  ["flush({ src: undefined })", (ct) => ct.flush({ src: undefined })],
  [
    'flush({ family: "ipv4", reply: { src: undefined } })',
    (ct) => ct.flush({ family: "ipv4", reply: { src: undefined } }),
  ],
  ["flush({ reply: null })", (ct) => ct.flush({ reply: null } as never)],
  ["flush({ mrak: 7 })", (ct) => ct.flush({ mrak: 7 } as never)],
  ["flush(5)", (ct) => ct.flush(5 as never)],
  [
    'flush({ proto: "udp" }, { onDeleted: 5 })',
    (ct) => ct.flush({ proto: "udp" }, { onDeleted: 5 } as never),
  ],
  [
    'flush({ proto: "udp" }, { where: "x" })',
    (ct) => ct.flush({ proto: "udp" }, { where: "x" } as never),
  ],
  [
    'flush({ proto: "udp" }, { via: "fast" })',
    (ct) => ct.flush({ proto: "udp" }, { via: "fast" } as never),
  ],
  [
    'flush({ proto: "udp" }, { bogus: 1 })',
    (ct) => ct.flush({ proto: "udp" }, { bogus: 1 } as never),
  ],
  ['flush({ proto: "udp" }, 5)', (ct) => ct.flush({ proto: "udp" }, 5 as never)],
  ['flush({ proto: "udp" }, null)', (ct) => ct.flush({ proto: "udp" }, null as never)],
  ['flushAll({ via: "fast" })', (ct) => method(ct, "flushAll")({ via: "fast" })],
  ["flushAll(5)", (ct) => method(ct, "flushAll")(5)],
  ["flushAll({ bogus: 1 })", (ct) => method(ct, "flushAll")({ bogus: 1 })],
];
for (const [name, call] of FLUSH_CONTRACT) refused(name, call);

// --- Filters of dumps (the lead's filter.ts decides the details; these must hold)

for (
  const f of [5, "udp", { mrak: 7 }, { src: null }, { proto: "bogus" }, { dport: 70000 }, {
    dport: -1,
  }, { reply: 5 }]
) {
  refused(`list(${JSON.stringify(f)})`, (ct) => ct.list(f as never));
  refused(`dump(${JSON.stringify(f)})`, (ct) => ct.dump(f as never));
}
