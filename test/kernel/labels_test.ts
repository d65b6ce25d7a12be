/**
 * Label bits with masks: `addLabels` / `delLabels` (`conntrack -U --label-add/--label-del`) and
 * `update({ labels, labelsMask })`, checked against the kernel and against conntrack(8) doing the
 * same on a twin entry (its label names come from a connlabel.conf supplied by an overlay in a
 * private mount namespace: the host's /etc is never changed).
 *
 * The kernel stores labels only in entries created while their namespace has label storage,
 * which a rule that sets labels switches on (nft `ct label set`). Each test works in namespaces
 * of its own (`ip netns add`, made from inside the throwaway one, removed at the end), through
 * `Conntrack.open({ netns })`.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { addNetns, assertThrowawayNetns } from "../_helpers/netns.ts";
import { Conntrack, type Flow, NetlinkError } from "../../mod.ts";

assertThrowawayNetns();

const T = { timeout: 60000 };
const CONNLABEL_CONF =
  "0 zero\n1 one\n5 five\n31 thirtyone\n32 thirtytwo\n64 sixtyfour\n127 last\n";

/** Switches label storage on in namespace `name`: a rule that sets a label. */
function enableLabels(name: string): void {
  execFileSync("ip", ["netns", "exec", name, "nft", "-f", "-"], {
    input: `table inet nfct_labels {
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport 9 ct label set 127
  }
}
`,
  });
}

/** conntrack(8) inside namespace `path`, with CONNLABEL_CONF as /etc/xtables/connlabel.conf (overlay). */
function cli(path: string, args: string[]): string {
  const dir = mkdtempSync("/tmp/nfct-labels-");
  try {
    const script = `mount --make-rprivate / && mkdir ${dir}/up ${dir}/work && ` +
      `mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/up,workdir=${dir}/work /etc && ` +
      `mkdir -p /etc/xtables && cat > /etc/xtables/connlabel.conf && exec nsenter --net="$0" conntrack "$@"`;
    return execFileSync("unshare", ["-m", "--", "sh", "-c", script, path, ...args], {
      encoding: "utf8",
      input: CONNLABEL_CONF,
      stdio: ["pipe", "pipe", "pipe"],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function key(src: string): Pick<Flow, "proto" | "orig"> {
  return { proto: "udp", orig: { src, dst: "198.51.100.1", sport: 4000, dport: 53 } };
}
/** conntrack(8) arguments naming the same entry. */
const cliKey = (
  src: string,
) => ["-p", "udp", "-s", src, "-d", "198.51.100.1", "--sport", "4000", "--dport", "53"];

const labelsOf = (ct: Conntrack, src: string) => ct.get(key(src))?.labels ?? [];

test(
  "addLabels/delLabels change only the given bits, exactly as conntrack -U --label-add/--label-del",
  T,
  () => {
    const ns = addNetns("nfct-labels");
    try {
      enableLabels(ns.name);
      using ct = Conntrack.open({ netns: ns.path });
      const ours = "10.80.0.1", theirs = "10.80.0.2";
      for (const src of [ours, theirs]) {
        ct.create({ ...key(src), timeout: 300 });
        ct.update({ ...key(src), labels: [0, 5] });
      }
      assert.deepEqual(labelsOf(ct, ours), [0, 5]);

      ct.addLabels(key(ours), [1, 64]);
      cli(ns.path, ["-U", ...cliKey(theirs), "--label-add", "one,sixtyfour"]);
      assert.deepEqual(labelsOf(ct, ours), [0, 1, 5, 64]);
      assert.deepEqual(labelsOf(ct, theirs), [0, 1, 5, 64], "conntrack(8) did the same");

      // Clearing bit 127, which is not set, changes nothing here. (conntrack 1.4.7 is not the oracle
      // for that case: `--label-del` naming a bit the entry lacks clears every bit.)
      ct.delLabels(key(ours), [0, 64, 127]);
      cli(ns.path, ["-U", ...cliKey(theirs), "--label-del", "zero,sixtyfour"]);
      assert.deepEqual(labelsOf(ct, ours), [1, 5]);
      assert.deepEqual(labelsOf(ct, theirs), [1, 5]);

      // Word boundaries of the 4 x 32-bit bitmap, and the last bit.
      ct.addLabels(key(ours), [31, 32, 127]);
      cli(ns.path, ["-U", ...cliKey(theirs), "--label-add", "thirtyone,thirtytwo,last"]);
      assert.deepEqual(labelsOf(ct, ours), [1, 5, 31, 32, 127]);
      assert.deepEqual(labelsOf(ct, theirs), [1, 5, 31, 32, 127]);

      // conntrack -L -o labels names the same bits on both entries.
      const listed = cli(ns.path, ["-L", "-o", "labels"]).split("\n").filter((l) =>
        l.includes("198.51.100.1")
      );
      assert.equal(listed.length, 2);
      for (const l of listed) assert.match(l, / labels=one,five,thirtyone,thirtytwo,last$/);

      // A whole Flow from a dump works as the key, and only its labels change.
      const f = ct.get(key(ours))!;
      ct.update({ ...key(ours), mark: 42 });
      ct.delLabels({ ...f, mark: 7, timeout: 1 } as Flow, [5]);
      const after = ct.get(key(ours))!;
      assert.deepEqual(after.labels, [1, 31, 32, 127]);
      assert.equal(after.mark, 42, "mark untouched");
      assert.ok(after.timeout! > 100, "timeout untouched");
    } finally {
      ns.remove();
    }
  },
);

test(
  "update({ labels, labelsMask }) sets the masked bits to their value in labels; labels alone replace all 128 bits",
  T,
  () => {
    const ns = addNetns("nfct-labels");
    try {
      enableLabels(ns.name);
      using ct = Conntrack.open({ netns: ns.path });
      const src = "10.81.0.1";
      ct.create({ ...key(src), timeout: 300, labels: [0, 5, 100] });
      assert.deepEqual(labelsOf(ct, src), [0, 5, 100], "labels on create");
      ct.update({ ...key(src), labels: [1], labelsMask: [1, 5] }); // set 1, clear 5, keep 0 and 100
      assert.deepEqual(labelsOf(ct, src), [0, 1, 100]);
      ct.update({ ...key(src), labels: [], labelsMask: [] }); // empty mask: nothing changes
      assert.deepEqual(labelsOf(ct, src), [0, 1, 100]);
      ct.update({ ...key(src), labels: [127] }); // no mask: replace
      assert.deepEqual(labelsOf(ct, src), [127]);
      ct.update({ ...key(src), labels: [] });
      assert.deepEqual(labelsOf(ct, src), []);
      assert.equal(ct.get(key(src))!.labels, undefined, "no CTA_LABELS once every bit is clear");
    } finally {
      ns.remove();
    }
  },
);

test("labels on an entry without label storage: ENOSPC that says how to switch it on", T, () => {
  const ns = addNetns("nfct-labels");
  try {
    using ct = Conntrack.open({ netns: ns.path });
    ct.create({ ...key("10.82.0.1"), timeout: 300 });
    const enospc = (e: unknown) => {
      assert.ok(e instanceof NetlinkError);
      assert.equal(e.code, "ENOSPC");
      assert.match(e.message, /^Cannot add labels: ENOSPC .*no label storage.*ct label set/);
      return true;
    };
    assert.throws(() => ct.addLabels(key("10.82.0.1"), [1]), enospc);
    // Storage is given to entries created after a labelling rule exists, not to older ones.
    enableLabels(ns.name);
    assert.throws(() => ct.addLabels(key("10.82.0.1"), [1]), enospc);
    ct.create({ ...key("10.82.0.2"), timeout: 300 });
    ct.addLabels(key("10.82.0.2"), [1]);
    assert.deepEqual(labelsOf(ct, "10.82.0.2"), [1]);
  } finally {
    ns.remove();
  }
});

test("label bits outside 0..127 are refused before anything is sent", T, () => {
  using ct = Conntrack.open();
  for (const bad of [-1, 128, 1.5, NaN]) {
    assert.throws(() => ct.addLabels(key("10.83.0.1"), [bad]), RangeError);
    assert.throws(() => ct.delLabels(key("10.83.0.1"), [bad]), RangeError);
  }
});
