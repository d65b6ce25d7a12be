/**
 * Events from every namespace at once (`allNetns`, `NETLINK_LISTEN_ALL_NSID`), against the real
 * kernel: three named namespaces inside the test's throwaway one, each with flows of its own
 * (created and deleted through ctnetlink, plus real packets in one), one listener; every event
 * must name the namespace it happened in, none may be missing. `ip netns list-id` is the oracle
 * for the ids.
 */
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { addNetns, assertThrowawayNetns, sh } from "../_helpers/netns.ts";
import {
  Conntrack,
  type ConntrackEvent,
  type EventStream,
  type Flow,
  type FlowEvent,
} from "../../mod.ts";

assertThrowawayNetns();

const T = { timeout: 60000 };

function udp(ns: number, i: number): Flow {
  return {
    family: "ipv4",
    proto: "udp",
    timeout: 300,
    orig: { src: `10.77.${ns}.${i + 1}`, dst: "10.78.0.1", sport: 4000 + i, dport: 53 },
  } as Flow;
}

/** `ip netns list-id`: nsid → name, as this namespace sees them (the oracle). */
function listIds(): Map<number, string> {
  const ids = new Map<number, string>();
  for (const line of sh("ip netns list-id").split("\n")) {
    const m = /^nsid (\d+) \(iproute2 netns name: (\S+)\)/.exec(line);
    if (m) ids.set(Number(m[1]), m[2]);
  }
  return ids;
}

/** Reads flow events until `want` of them matched `keep`; fails after `ms`. */
async function collect(
  stream: EventStream,
  keep: (ev: FlowEvent) => boolean,
  want: number,
  ms = 15000,
): Promise<FlowEvent[]> {
  const got: FlowEvent[] = [];
  const deadline = Date.now() + ms;
  while (got.length < want) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((
      r,
    ) => (timer = setTimeout(() => r("timeout"), Math.max(0, deadline - Date.now()))));
    const r = await Promise.race([stream.next(), timeout]);
    clearTimeout(timer);
    if (r === "timeout") {
      throw new Error(`timed out after ${ms} ms with ${got.length} of ${want} events`);
    }
    if (r.done) throw new Error(`the stream ended after ${got.length} of ${want} events`);
    const ev: ConntrackEvent = r.value;
    assert.notEqual(ev.type, "overrun", "no event may be dropped");
    if ("flow" in ev && keep(ev)) got.push(ev);
  }
  return got;
}

const ours = (ev: FlowEvent) => /^10\.77\.\d+\.\d+$/.test(ev.flow.orig.src);

test(
  "one allNetns listener attributes every event of three namespaces and its own to the right one",
  T,
  async () => {
    const spaces = [addNetns("nfct-alla"), addNetns("nfct-allb"), addNetns("nfct-allc")];
    try {
      using ct = Conntrack.open();
      ct.flushAll();
      const stream = ct.events({
        allNetns: true,
        types: ["new", "destroy"],
        filter: { src: "10.77.0.0/16" },
      });
      try {
        // nfct gave each named namespace an id in this one when the stream opened.
        const ids = listIds();
        const nsidOf = new Map([...ids].map(([id, name]) => [name, id]));
        for (const s of spaces) {
          assert.ok(
            nsidOf.has(s.name),
            `${s.name} has an nsid here (ip netns list-id)`,
          );
        }
        const N = 40;
        // ns 0 is the listener's own; 1..3 the named ones. Interleaved, so a wrong tag shows.
        const clients = [ct, ...spaces.map((s) => Conntrack.open({ netns: s.path }))];
        try {
          for (let i = 0; i < N; i++) clients.forEach((c, k) => c.create(udp(k, i)));
          for (let i = 0; i < N; i++) clients.forEach((c, k) => c.delete(udp(k, i)));
        } finally {
          for (const c of clients.slice(1)) c.close();
        }
        const events = await collect(stream, ours, clients.length * N * 2);
        const seen = new Set<string>();
        for (const ev of events) {
          const k = Number(ev.flow.orig.src.split(".")[2]);
          if (k === 0) {
            assert.equal(ev.nsid, undefined, `own-namespace event ${ev.flow.orig.src} has no nsid`);
            assert.equal(ev.netnsName, undefined);
          } else {
            const name = spaces[k - 1].name;
            assert.equal(
              ev.nsid,
              nsidOf.get(name),
              `${ev.type} ${ev.flow.orig.src} comes from ${name}`,
            );
            assert.equal(ev.netnsName, name);
          }
          const key = `${ev.type} ${ev.flow.orig.src}`;
          assert.ok(!seen.has(key), `${key} is reported once`);
          seen.add(key);
        }
        for (let k = 0; k <= 3; k++) {
          for (let i = 0; i < N; i++) {
            for (const type of ["new", "destroy"]) {
              assert.ok(
                seen.has(`${type} ${udp(k, i).orig.src}`),
                `${type} of ns ${k} flow ${i} arrived`,
              );
            }
          }
        }
      } finally {
        stream.close();
      }
    } finally {
      for (const s of spaces) s.remove();
    }
  },
);

test("allNetns sees real traffic in a named namespace, tagged with its name", T, async () => {
  const space = addNetns("nfct-allt");
  try {
    using ct = Conntrack.open();
    const stream = ct.events({
      allNetns: true,
      types: ["new"],
      filter: { proto: "udp", dport: 5999 },
    });
    try {
      const inNs = (cmd: string) =>
        execFileSync("ip", ["netns", "exec", space.name, "sh", "-c", cmd], { encoding: "utf8" });
      inNs(`ip link set lo up && nft -f - <<'EOF'
table inet nfct_allt {
  chain out { type filter hook output priority 0; policy accept; ct state new counter; }
}
EOF`);
      inNs(
        `python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('127.0.0.1', 5999))"`,
      );
      const [ev] = await collect(stream, (e) => e.flow.orig.dport === 5999, 1);
      assert.equal(ev.flow.orig.src, "127.0.0.1");
      assert.equal(ev.netnsName, space.name);
      assert.equal(ev.nsid, new Map([...listIds()].map(([id, n]) => [n, id])).get(space.name));
      assert.equal(ev.portId, 0, "caused by a packet, not a netlink request");
    } finally {
      stream.close();
    }
  } finally {
    space.remove();
  }
});

test(
  "a namespace without an nsid here is not heard until refreshNetns() gives it one",
  T,
  async () => {
    using ct = Conntrack.open();
    const stream = ct.events({ allNetns: true, types: ["new"], filter: { src: "10.77.9.0/24" } });
    const late = addNetns("nfct-alll"); // added after the stream opened: no nsid here yet
    try {
      using peer = Conntrack.open({ netns: late.path });
      assert.ok(![...listIds().values()].includes(late.name), "no nsid yet");
      peer.create(udp(9, 0));
      // A marker from our own namespace: once it arrives, the earlier peer event would have too.
      ct.create({ ...udp(9, 1) });
      const first = await collect(stream, () => true, 1);
      assert.equal(
        first[0].flow.orig.src,
        udp(9, 1).orig.src,
        "the kernel delivered nothing from a namespace without an nsid",
      );
      stream.refreshNetns();
      assert.ok([...listIds().values()].includes(late.name), "refreshNetns() assigned an nsid");
      peer.create(udp(9, 2));
      const [ev] = await collect(stream, () => true, 1);
      assert.equal(ev.flow.orig.src, udp(9, 2).orig.src);
      assert.equal(ev.netnsName, late.name);
      ct.delete(udp(9, 1));
    } finally {
      stream.close();
      late.remove();
    }
  },
);

test("assignNsids: false leaves ids alone", T, () => {
  const space = addNetns("nfct-alln");
  try {
    using ct = Conntrack.open();
    const stream = ct.events({ allNetns: true, assignNsids: false });
    stream.close();
    assert.ok(![...listIds().values()].includes(space.name));
  } finally {
    space.remove();
  }
});
