/**
 * ffi/host.ts: the process helpers the CLI uses instead of `node:` modules (which cost Deno
 * ~40 ms per start). Files and directories through the runtime's own API, the runtime's errno
 * codes on failure, and the writes seen from outside, in a child process of the same runtime.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import * as host from "../../../ffi/host.ts";
import { isBun } from "../../_helpers/run.ts";

test("readTextFile, readDir and readLink read what node:fs wrote; a missing file throws ENOENT", () => {
  const dir = mkdtempSync(join(tmpdir(), "nfct-host-"));
  try {
    writeFileSync(join(dir, "a.txt"), "héllo\nworld\n");
    symlinkSync("a.txt", join(dir, "link"));
    assert.equal(host.readTextFile(join(dir, "a.txt")), "héllo\nworld\n");
    assert.deepEqual(host.readDir(dir).sort(), ["a.txt", "link"]);
    assert.equal(host.readLink(join(dir, "link")), "a.txt");
    assert.throws(() => host.readTextFile(join(dir, "missing")), { code: "ENOENT" });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("env reads the environment; an unset variable is undefined", () => {
  process.env.NFCT_HOST_TEST = "x=1";
  assert.equal(host.env("NFCT_HOST_TEST"), "x=1");
  assert.equal(host.env("NFCT_HOST_TEST_UNSET_" + Date.now()), undefined);
});

/** Runs `code` (importing ffi/host.ts as `host`) in a child of this runtime; `head`: its stdout goes through `head -c 10`. */
function child(code: string, args: string[] = [], head = false) {
  const dir = mkdtempSync(join(tmpdir(), "nfct-host-"));
  const file = join(dir, "child.ts");
  const hostUrl = new URL("../../../ffi/host.ts", import.meta.url).href;
  writeFileSync(file, `import * as host from ${JSON.stringify(hostUrl)};\n${code}\n`);
  try {
    const argv = [process.execPath, ...(isBun ? [] : ["run", "-A"]), file, ...args];
    if (head) {
      return spawnSync("sh", ["-c", '"$@" | head -c 10 >/dev/null', "sh", ...argv], {
        encoding: "utf8",
      });
    }
    return spawnSync(argv[0], argv.slice(1), { encoding: "utf8", maxBuffer: 64 << 20 });
  } finally {
    rmSync(dir, { recursive: true });
  }
}

test("a child sees its arguments, writes 1 MiB to stdout and a line to stderr, and exits with the code given", () => {
  const r = child(
    `
    if (host.isTerminal(1)) throw new Error("stdout is a pipe here");
    host.writeText(1, host.args().join(",") + "\\n" + "x".repeat(1 << 20));
    host.writeText(2, "to stderr\\n");
    host.exit(7);
  `,
    ["-L", "a b"],
  );
  assert.equal(r.status, 7, r.stderr);
  assert.equal(r.stdout, "-L,a b\n" + "x".repeat(1 << 20));
  assert.equal(r.stderr, "to stderr\n");
});

test("writing to a pipe whose reader left throws the runtime's error with code EPIPE", () => {
  const r = child(
    `
    try {
      for (let i = 0; i < 1000; i++) host.writeText(1, "y".repeat(65536));
      host.writeText(2, "no error\\n");
    } catch (e) {
      host.writeText(2, "code=" + e.code + "\\n");
    }
    host.exit(0);
  `,
    [],
    true,
  );
  assert.equal(r.stderr, "code=EPIPE\n");
});

test("a full non-blocking pipe: writeText waits for the reader instead of failing with EAGAIN", () => {
  // python3 hands the child a pipe in O_NONBLOCK mode and starts reading only after 300 ms.
  const reader = [
    "import os, subprocess, fcntl, time, sys",
    "r, w = os.pipe()",
    "fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)",
    "p = subprocess.Popen(sys.argv[1:], stdout=w)",
    "os.close(w)",
    "time.sleep(0.3)",
    "n = 0",
    "while True:",
    "    b = os.read(r, 65536)",
    "    if not b: break",
    "    n += len(b)",
    "print(n, p.wait())",
  ].join("\n");
  const dir = mkdtempSync(join(tmpdir(), "nfct-host-"));
  try {
    const file = join(dir, "child.ts");
    writeFileSync(
      file,
      `import * as host from ${
        JSON.stringify(new URL("../../../ffi/host.ts", import.meta.url).href)
      };\nhost.writeText(1, "z".repeat(4 << 20));\n`,
    );
    const r = spawnSync("python3", [
      "-c",
      reader,
      process.execPath,
      ...(isBun ? [] : ["run", "-A"]),
      file,
    ], { encoding: "utf8" });
    assert.equal(r.stdout.trim(), `${4 << 20} 0`, r.stderr);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
