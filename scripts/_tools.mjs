// The system tools the tests and the demo run, found wherever Debian puts them, and installed
// when they are missing and this process may (root with apt-get), else named in one message.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Each command the kernel tests run, with the Debian package that has it. */
export const KERNEL_TEST_TOOLS = {
  conntrack: "conntrack", // the oracle the kernel tests compare with
  nft: "nftables",
  ip: "iproute2",
  sysctl: "procps",
  python3: "python3",
  strace: "strace",
  tmux: "tmux", // test/kernel/cli_top_test.ts: nfct top on a pseudo-terminal
  unshare: "util-linux",
  mount: "mount",
};

/** PATH with /usr/sbin and /sbin (and /usr/local/sbin) added: a non-root Debian login lacks them. */
export function pathWithSbin(path = process.env.PATH ?? "") {
  const dirs = path.split(delimiter).filter(Boolean);
  for (const d of ["/usr/local/sbin", "/usr/sbin", "/sbin"]) if (!dirs.includes(d)) dirs.push(d);
  return dirs.join(delimiter);
}

/** The commands of `tools` that are not on `path`. */
export function missingTools(tools, path = pathWithSbin()) {
  return Object.keys(tools).filter((cmd) =>
    !path.split(delimiter).some((d) => existsSync(join(d, cmd)))
  );
}

/**
 * Makes sure every command of `tools` is there: as root with apt-get, installs the missing
 * ones' packages (as .ci/run does); otherwise returns one message naming them and the exact
 * command that installs them. Returns undefined when all are there.
 */
export function ensureTools(tools, why) {
  let missing = missingTools(tools);
  if (missing.length === 0) return undefined;
  const pkgs = [...new Set(missing.map((c) => tools[c]))];
  const command = `apt-get install -y ${pkgs.join(" ")}`;
  const hasApt = missingTools({ "apt-get": "apt" }).length === 0;
  if (process.getuid?.() === 0 && hasApt) {
    console.log(`${why} need ${missing.join(", ")}: installing ${pkgs.join(" ")} (${command})`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive", PATH: pathWithSbin() };
    const up = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    const inst = up.status === 0
      ? spawnSync("apt-get", ["install", "-y", "-qq", ...pkgs], {
        stdio: ["ignore", "ignore", "inherit"],
        env,
      })
      : up;
    missing = missingTools(tools);
    if (inst.status === 0 && missing.length === 0) return undefined;
  }
  const sudo = process.getuid?.() === 0 ? "" : "sudo ";
  return `${why} need ${
    missing.join(", ")
  }, not found in PATH, /usr/sbin or /sbin: install them with \`${sudo}${command}\``;
}
