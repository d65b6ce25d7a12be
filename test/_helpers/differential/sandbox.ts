/**
 * The differential test's table (built by conntrack(8) itself) and the sandbox both programs
 * run in, and what is blanked before their outputs are compared (see ../differential.ts).
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { Conntrack } from "../../../mod.ts";
import { sh } from "../netns.ts";
import { ROOT } from "../run.ts";

const CLI = join(ROOT, "cli.ts");

/** Label names both programs read (bits 0..127; the kernel keeps 128). */
export const CONNLABEL_CONF = "0 zero\n1 one\n5 five\n31 thirtyone\n64 sixtyfour\n127 last\n";
/** The names of CONNLABEL_CONF. */
export const LABEL_NAMES = ["zero", "one", "five", "thirtyone", "sixtyfour", "last"];

// --- The table -------------------------------------------------------------------------------

/**
 * The varied table, as conntrack `-I` lines (loaded with `conntrack -R`). Every line must be
 * accepted by conntrack 1.4.7 and the kernel (6.x refuses an entry with both an orig and a
 * reply zone, so each zoned entry has one kind).
 */
export const TABLE: readonly string[] = [
  // tcp v4, states and statuses, marks, labels
  "-p tcp -s 10.1.0.1 -d 10.1.0.2 --sport 1000 --dport 80 --state ESTABLISHED -t 500 -u ASSURED -m 5 --label-add one",
  "-p tcp -s 10.1.0.1 -d 10.1.0.2 --sport 1001 --dport 80 --state SYN_SENT -t 500 -m 0x10000005",
  "-p tcp -s 10.1.0.1 -d 10.1.0.3 --sport 1002 --dport 443 --state TIME_WAIT -t 500 -u SEEN_REPLY,ASSURED --label-add sixtyfour,last",
  "-p tcp -s 10.1.0.2 -d 10.1.0.1 --sport 1003 --dport 22 --state SYN_RECV -t 500 -u SEEN_REPLY -m 7",
  "-p tcp -s 10.1.0.4 -d 10.1.0.2 --sport 1004 --dport 80 --state CLOSE_WAIT -t 500 -w 7",
  "-p tcp -s 10.1.0.5 -d 10.1.0.2 --sport 1005 --dport 80 --state ESTABLISHED -t 500 --orig-zone 3 -u ASSURED",
  "-p tcp -s 10.1.0.6 -d 10.1.0.2 --sport 1006 --dport 80 --state FIN_WAIT -t 500 --reply-zone 4 --label-add five",
  // NAT: reply tuples that are not the inverted original
  "-p tcp -s 192.168.10.1 -d 192.168.20.1 --sport 2000 --dport 80 --state ESTABLISHED -t 500 -u ASSURED -n 192.168.30.1",
  "-p tcp -s 192.168.10.2 -d 192.168.20.1 --sport 2001 --dport 80 --state ESTABLISHED -t 500 -g 192.168.30.2:8080",
  "-p udp -s 192.168.10.3 -d 192.168.20.1 --sport 2002 --dport 53 -t 500 -r 192.168.30.3 -q 192.168.10.3 --reply-port-src 53 --reply-port-dst 2002",
  "-p udp -s 192.168.10.4 -d 192.168.20.2 --sport 2003 --dport 53 -t 500 -r 192.168.20.2 -q 192.168.40.4 --reply-port-src 53 --reply-port-dst 2003 -m 5",
  // udp v4
  "-p udp -s 10.1.0.1 -d 10.1.0.2 --sport 3000 --dport 53 -t 500",
  "-p udp -s 10.1.0.7 -d 10.1.0.2 --sport 3001 --dport 53 -t 500 -u SEEN_REPLY -m 1 -w 7",
  "-p udp -s 10.2.0.1 -d 10.1.0.2 --sport 3002 --dport 123 -t 500 --label-add zero,one",
  // icmp v4
  "-p icmp -s 10.1.0.1 -d 10.1.0.2 --icmp-type 8 --icmp-code 0 --icmp-id 77 -t 500",
  "-p icmp -s 10.2.0.1 -d 10.1.0.3 --icmp-type 8 --icmp-code 0 --icmp-id 78 -t 500 -m 5 -w 3",
  // tcp/udp v6, uppercase and embedded-IPv4
  "-p tcp -s 2001:db8::10 -d 2001:db8::20 --sport 1000 --dport 80 --state ESTABLISHED -t 500 -u ASSURED",
  "-p tcp -s 2001:DB8::11 -d 2001:db8::20 --sport 1001 --dport 443 --state SYN_SENT2 -t 500 -m 5",
  "-p tcp -s 2001:db8:0:0:0:0:0:12 -d 2001:db8::20 --sport 1002 --dport 80 --state LAST_ACK -t 500 --reply-zone 4",
  "-p udp -s 2001:db8::10 -d ::ffff:10.1.1.1 --sport 3000 --dport 53 -t 500 --label-add last",
  "-p udp -s 2001:db8:1::1 -d 2001:db8::20 --sport 3001 --dport 53 -t 500 --orig-zone 3 -u SEEN_REPLY",
  "-p udp -s ::1 -d ::1 --sport 3002 --dport 53 -t 500",
  // icmpv6, sctp, gre, dccp
  "-p icmpv6 -s 2001:db8::10 -d 2001:db8::20 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 5 -t 500",
  "-p sctp -s 10.1.0.1 -d 10.1.0.2 --sport 4000 --dport 5000 --state ESTABLISHED -t 500 --orig-vtag 1 --reply-vtag 2",
  "-p sctp -s 2001:db8::10 -d 2001:db8::20 --sport 4001 --dport 5000 --state COOKIE_WAIT -t 500 --orig-vtag 3 --reply-vtag 4",
  "-p gre -s 10.1.0.1 -d 10.1.0.2 --srckey 1 --dstkey 2 -t 500",
  "-p gre -s 10.1.0.8 -d 10.1.0.2 --srckey 0x10 --dstkey 0x20 -t 500 -m 5",
  "-p dccp -s 10.1.0.1 -d 10.1.0.2 --sport 6000 --dport 7000 --state OPEN -t 500 --role client",
];

/** Masters (with the FTP helper) and one expectation each, made through the library. */
export const EXPECT_MASTERS = [1, 2, 3].map((i) => ({
  src: `10.40.0.${i}`,
  dst: "10.40.1.1",
  sport: 40000 + i,
  dport: 21,
}));

// --- Running both programs --------------------------------------------------------------------

/** What one program did with one command line. */
export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** How to start nfct: on the runtime that runs this code, or the one asked for. */
export function nfctCommand(
  runtime: "deno" | "bun" = ("bun" in process.versions ? "bun" : "deno"),
): string[] {
  const bin = join(ROOT, "node_modules", ".bin", runtime);
  return runtime === "bun" ? [bin, CLI] : [bin, "run", "-A", "--no-check", CLI];
}

/**
 * A private mount namespace (held by a sleeping child) with `/etc/xtables/connlabel.conf`;
 * both programs run in it through nsenter. Loads an nft table that turns on label storage,
 * switches timestamps and counters on, and builds the table.
 */
export class Sandbox {
  #holder: ChildProcess;
  #dir: string;
  #mnt: string;
  readonly nfct: string[];
  /** True when a command may have changed the table since the last build. */
  dirty = true;
  /** Where command lines put files (-R). */
  readonly tmp: string;

  constructor(holder: ChildProcess, dir: string, nfct: string[]) {
    this.#holder = holder;
    this.#dir = dir;
    this.#mnt = `/proc/${holder.pid}/ns/mnt`;
    this.nfct = nfct;
    this.tmp = join(dir, "files");
  }

  /** Starts the namespace holder and builds the table. */
  static async start(nfct = nfctCommand()): Promise<Sandbox> {
    const dir = mkdtempSync("/tmp/nfct-diff-");
    spawnSync("mkdir", ["-p", `${dir}/up/xtables`, `${dir}/work`, `${dir}/files`]);
    writeFileSync(`${dir}/up/xtables/connlabel.conf`, CONNLABEL_CONF);
    const script =
      `mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/up,workdir=${dir}/work /etc && ` +
      `echo ready && exec sleep 100000`;
    const holder = spawn("unshare", ["-m", "--propagation", "private", "--", "sh", "-c", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once("data", () => resolve());
      holder.once(
        "exit",
        (code) => reject(new Error(`Cannot make the label mount namespace: exit ${code}`)),
      );
    });
    const sb = new Sandbox(holder, dir, nfct);
    sh("ip link set lo up");
    sh("sysctl -qw net.netfilter.nf_conntrack_timestamp=1 net.netfilter.nf_conntrack_acct=1");
    sh(`nft -f - <<'EOF'
table inet nfct_diff {
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport 9 ct label set 127
  }
}
EOF`);
    sb.build();
    return sb;
  }

  close(): void {
    this.#holder.kill("SIGKILL");
    try {
      sh("nft delete table inet nfct_diff");
    } catch { /* gone */ }
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #run(argv: string[], input?: string): Outcome {
    const r = spawnSync("nsenter", [`--mount=${this.#mnt}`, "--", ...argv], {
      encoding: "utf8",
      input: input ?? "",
      maxBuffer: 64 << 20,
      timeout: 60000,
    });
    return { code: r.status ?? 128 + 9, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }

  conntrack(args: string[], input?: string): Outcome {
    return this.#run(["conntrack", ...args], input);
  }

  runNfct(args: string[], input?: string): Outcome {
    return this.#run([...this.nfct, ...args], input);
  }

  /** Starts a program in the namespace (for -E). */
  spawn(argv: string[]): ChildProcess {
    return spawn("nsenter", [`--mount=${this.#mnt}`, "--", ...argv], {
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  /** Empties both tables and builds them again: TABLE by `conntrack -R`, expectations by the library. */
  build(): void {
    this.conntrack(["-F"]);
    this.conntrack(["-F", "expect"]);
    const file = join(this.tmp, "table.txt");
    // conntrack 1.4.7 -R segfaults on a second line with --label-add: those go one by one.
    const labelled = TABLE.filter((l) => l.includes("--label-add"));
    writeFileSync(
      file,
      TABLE.filter((l) => !labelled.includes(l)).map((l) => `-I ${l}\n`).join(""),
    );
    const r = this.conntrack(["-R", file]);
    for (const l of labelled) {
      const one = this.conntrack(["-I", ...l.split(" ")]);
      if (one.code !== 0) r.code = one.code, r.stderr += one.stderr;
    }
    const ct = Conntrack.open();
    try {
      for (const m of EXPECT_MASTERS) {
        ct.create({
          proto: "tcp",
          orig: m,
          timeout: 600,
          tcp: { state: "ESTABLISHED" },
          status: ["ASSURED", "SEEN_REPLY"],
          helper: "ftp",
        });
        ct.createExpect({
          master: { proto: "tcp", ...m },
          proto: "tcp",
          tuple: { src: m.dst, dst: m.src, sport: 0, dport: m.sport + 10000 },
          mask: { src: "255.255.255.255", dst: "255.255.255.255", sport: 0, dport: 0xffff },
          timeout: 300,
          helper: "ftp",
        });
      }
      const n = ct.count();
      this.dirty = false;
      if (r.code !== 0 || n !== TABLE.length + EXPECT_MASTERS.length) {
        throw new Error(
          `Cannot build the differential table: conntrack -R exit ${r.code} ${r.stderr}, ${n} entries`,
        );
      }
    } finally {
      ct.close();
    }
  }

  /** The table as conntrack shows it, normalised (for comparing what a command left behind). */
  snapshot(): string[] {
    const flows = this.conntrack(["-L", "-o", "extended,labels"]).stdout;
    const exp = this.conntrack(["-L", "expect"]).stdout;
    return normaliseLines(flows + exp);
  }

  /** Writes a file for -R; returns its path. */
  file(name: string, content: string): string {
    const p = join(this.tmp, name);
    writeFileSync(p, content);
    return p;
  }
}

// --- Normalising ------------------------------------------------------------------------------

/**
 * Blanks what legitimately differs between two runs: timeouts (they tick), ids (entries are
 * rebuilt), timestamps, delta-time, `-S` counters. Event timestamps keep their digit count
 * (conntrack prints microseconds).
 */
function normaliseLine(line: string): string {
  let s = line;
  // [1733000000.123456]	(events -o timestamp)
  s = s.replace(/\[(\d+)\.(\d+)\]/g, (_m, _a, b: string) => `[S.${"u".repeat(b.length)}]`);
  // timeout after the protocol number: "[NEW] ipv4 2 tcp 6 120 ..." / "tcp 6 120 ..."
  s = s.replace(
    /^((?:\[S\.u+\]\s+)?(?:\[[A-Z]+\]\s+)?(?:ipv[46]\s+\d+\s+)?[a-z0-9-]+\s+\d+\s+)(\d+)(?=\s)/,
    "$1T",
  );
  s = s.replace(/^\d+ (proto=)/, "T $1"); // expectations
  s = s.replace(/^(-A -t )\d+/, "$1T");
  s = s.replace(/\bid=\d+/g, "id=ID");
  s = s.replace(/\bportid=\d+/g, "portid=P"); // -E: each listener's own netlink port
  s = s.replace(/\bdelta-time=\d+/g, "delta-time=D");
  s = s.replace(/\[(start|stop)=[^\]]*\]/g, "[$1=TS]");
  s = s.replace(
    /<(timeout|deltatime|id|start|stop|usec|unix|sec|min|hour|wday|day|month|year)>\d+<\/\1>/g,
    "<$1>N</$1>",
  );
  if (/^cpu=/.test(s) || /^\s*\S+\s+\d+\s*$/.test(s) === false && /^[a-z_]+=\d+/.test(s)) {
    s = s.replace(/=\d+/g, "=N");
  }
  return s;
}

export function normaliseLines(out: string): string[] {
  return out.split("\n").filter((l) => l !== "").map(normaliseLine).sort();
}

/** The lines on stderr that start with the program's name, with the name made the same. */
export function summaryLines(stderr: string): string[] {
  const out: string[] = [];
  for (const l of stderr.split("\n")) {
    const m =
      /^(?:conntrack v1\.4\.7 \(conntrack-tools\)|nfct v\d+\.\d+\.\d+ \(conntrack-tools compatible\)): (.*)$/
        .exec(l);
    if (m) out.push(`PROG: ${m[1]}`);
    else if (/^Try `(conntrack|nfct) -h'/.test(l)) out.push("TRY");
  }
  return out;
}
