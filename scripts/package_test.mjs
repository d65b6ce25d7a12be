#!/usr/bin/env node
// The package as a user meets it: packs the npm tarball (`npm pack`, which builds dist/ through
// `prepack`), installs it into a fresh project in a temporary folder (the npm cache first, the
// registry only for what the cache lacks), and then
// - checks the tarball's contents and package.json's fields;
// - imports it by name (`import "nfct"`, and `npm:nfct` on Deno) from Deno and from Bun and runs
//   a create + dump in a throwaway network namespace (`unshare -n`), with the Deno the package
//   brought as its own dependency;
// - starts its three worker threads from the installed files (their URLs must stay valid);
// - runs the installed command (`nfct -I`, `nfct -L`) with no runtime on PATH, on Bun with
//   NFCT_RUNTIME=bun, refuses a wrong NFCT_RUNTIME, and installs it globally (`npm i -g`);
// - type-checks a consumer project with `tsc` + bun-types and with `deno check`;
// - type-checks every ```ts block of README.md as a complete script importing "nfct", and runs
//   each on Deno and on Bun in a throwaway namespace;
// - runs `deno publish --dry-run` (JSR) and asserts no slow-type warning.
// Prints one line per check and "N passed, N failed" at the end (scripts/test.mjs adds it up).
//   node scripts/package_test.mjs        (NFCT_KEEP_TMP=1 keeps the temporary folder)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const repoBin = (name) => join(root, "node_modules", ".bin", name);
const isRoot = process.getuid?.() === 0;
const netns = isRoot ? ["unshare", "-n", "--"] : ["unshare", "-rn", "--"];
// A PATH with no deno, bun or node_modules/.bin on it: the command must find its own runtime.
const BARE_PATH = "/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin";
const nodeDir = dirname(process.execPath);

let passed = 0, failed = 0;
function check(name, ok, detail = "") {
  if (ok) passed++;
  else failed++;
  console.log(
    `${ok ? "ok" : "FAILED"} - ${name}${
      ok || !detail ? "" : `\n    ${String(detail).trim().replaceAll("\n", "\n    ")}`
    }`,
  );
  return ok;
}
function run(argv, opts = {}) {
  const r = spawnSync(argv[0], argv.slice(1), {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    timeout: 300_000,
    ...opts,
  });
  return {
    status: r.status,
    stdout: r.stdout ?? "",
    stderr: (r.stderr ?? "") + (r.error ? String(r.error) : ""),
  };
}
const show = (r) => `exit ${r.status}\n${r.stdout}${r.stderr}`.slice(0, 3000);
const parseJson = (s) => {
  try {
    return JSON.parse(s.trim().split("\n").pop());
  } catch {
    return undefined;
  }
};

const tmp = mkdtempSync(join(tmpdir(), "nfct-package-"));
const app = join(tmp, "app");
mkdirSync(app);
const bin = (name) => join(app, "node_modules", ".bin", name);
const npmFlags = ["--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"];
const env = (extra = {}) => ({ ...process.env, ...extra });

try {
  // --- the tarball -----------------------------------------------------------------------
  const pack = run(["npm", "pack", "--json", "--pack-destination", tmp], { cwd: root });
  const packed = parseJson(pack.stdout.slice(pack.stdout.indexOf("[")).replaceAll("\n", " "));
  if (
    !check(
      "npm pack builds and packs the package",
      pack.status === 0 && packed?.[0]?.filename,
      show(pack),
    )
  ) {
    throw new Error("cannot go on without a tarball");
  }
  const tarball = join(tmp, packed[0].filename);
  const files = packed[0].files.map((f) => f.path);
  console.log(
    `    tarball: ${packed[0].filename}, ${files.length} files, ${packed[0].size} bytes packed`,
  );
  const stray = files.filter((f) =>
    /^(test|bench|scripts|examples|\.ci|fixtures)\//.test(f) ||
    (/\.ts$/.test(f) && !/\.d\.ts$/.test(f))
  );
  check(
    "the tarball holds no tests, fixtures, bench results, scripts, CI or TypeScript sources",
    stray.length === 0,
    stray.join(", "),
  );
  const needed = [
    "LICENSE",
    "README.md",
    "package.json",
    "nfct",
    "dist/mod.js",
    "dist/mod.d.ts",
    "dist/cli.js",
    "dist/netlink/_readahead_worker.js",
    "dist/netlink/_sender_worker.js",
    "dist/ffi/_bun_poll_worker.js",
    "dist/deno/cli.js",
    "dist/bun/cli.js",
    "schema/nfct-output.schema.json",
    "docs/output.md",
  ];
  const missing = needed.filter((f) => !files.includes(f));
  check(
    "the tarball holds LICENSE, the built library, its types, the command (and its bundle per runtime), the three workers, the output schema and its docs",
    missing.length === 0,
    `missing: ${missing.join(", ")}`,
  );

  // --- a fresh project installs it -------------------------------------------------------
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "nfct-consumer", private: true, type: "module" }, null, 2),
  );
  const version = (name) =>
    JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version;
  const inst = run([
    "npm",
    "install",
    ...npmFlags,
    tarball,
    `typescript@${version("typescript")}`,
    `bun-types@${version("bun-types")}`,
  ], { cwd: app });
  check(
    "npm install <tarball> into a fresh project",
    inst.status === 0 && existsSync(join(app, "node_modules/nfct/package.json")),
    show(inst),
  );
  const pj = JSON.parse(readFileSync(join(app, "node_modules/nfct/package.json"), "utf8"));
  check(
    "package.json has types, exports, engines, os, bin, license",
    pj.types && pj.exports?.["."]?.types && pj.exports?.["."]?.default && pj.engines?.deno &&
      pj.engines?.bun &&
      pj.os?.join() === "linux" && pj.bin?.nfct && pj.license === "MIT",
    JSON.stringify(pj, null, 1),
  );
  check(
    "the package brings Deno as its own dependency (node_modules/.bin/deno)",
    existsSync(bin("deno")),
  );
  const deno = existsSync(bin("deno")) ? bin("deno") : repoBin("deno");
  const bun = repoBin("bun");

  // --- imported by name, on Deno and on Bun --------------------------------------------------
  const use = `import { Conntrack, type Flow } from "nfct";

using ct = Conntrack.open();
ct.create({ proto: "udp", orig: { src: "10.9.0.1", dst: "10.9.0.2", sport: 1000, dport: 53 }, timeout: 60 });
const flows: Flow[] = [...ct.dump({ proto: "udp", dport: 53 })];
console.log(JSON.stringify({ dumped: flows.length, src: flows[0]?.orig.src, count: ct.count() }));
`;
  writeFileSync(join(app, "use.ts"), use);
  writeFileSync(join(app, "use_npm.ts"), use.replace(`from "nfct"`, `from "npm:nfct"`));
  const expectDump = (label, r) => {
    const j = parseJson(r.stdout);
    check(
      `${label}: imports nfct by name and dumps the flow it created in a throwaway netns`,
      r.status === 0 && j?.dumped === 1 && j.src === "10.9.0.1" && j.count === 1,
      show(r),
    );
  };
  expectDump('deno, import "nfct"', run([...netns, deno, "run", "-A", "use.ts"], { cwd: app }));
  expectDump(
    'deno, import "npm:nfct"',
    run([...netns, deno, "run", "-A", "use_npm.ts"], { cwd: app }),
  );
  expectDump('bun, import "nfct"', run([...netns, bun, "use.ts"], { cwd: app }));
  // The "deno" and "bun" export conditions: each runtime loads the library bundled for it.
  writeFileSync(join(app, "resolve.mjs"), 'console.log(import.meta.resolve("nfct"));\n');
  for (
    const [rt, argv] of [["deno", [deno, "run", "-A", "resolve.mjs"]], ["bun", [
      bun,
      "resolve.mjs",
    ]]]
  ) {
    const r = run(argv, { cwd: app });
    check(
      `${rt}: import "nfct" loads the library bundled for ${rt} (dist/${rt}/mod.js)`,
      r.status === 0 && r.stdout.trim().endsWith(`/node_modules/nfct/dist/${rt}/mod.js`),
      show(r),
    );
  }

  // --- worker threads, from the installed files -------------------------------------------
  writeFileSync(
    join(app, "workers.ts"),
    `// Starts nfct's worker threads from the installed package: each is a file loaded by URL.
import { Conntrack } from "nfct";
import { LibcTransport } from "./node_modules/nfct/dist/netlink/transport.js";
import { ReadAhead } from "./node_modules/nfct/dist/netlink/readahead.js";
import { BatchSender } from "./node_modules/nfct/dist/netlink/sender.js";

const tick = new Int32Array(new SharedArrayBuffer(4));
const settle = (state: () => string, buf?: Uint8Array, ra?: ReadAhead) => {
  const until = Date.now() + 20000;
  while (state() === "starting" && Date.now() < until) {
    if (ra && buf) ra.recv(buf, false);
    Atomics.wait(tick, 0, 0, 5);
  }
  return state();
};
const t = new LibcTransport(12 /* NETLINK_NETFILTER */);
const buf = new Uint8Array(65536);
const ra = new ReadAhead(t.unsafeFd(), { slotSize: buf.length, direct: (b, wait) => t.recv(b, wait) });
const readahead = settle(() => ra.state, buf, ra);
const raFailure = String(ra.failure ?? "");
ra.stop();
const bs = new BatchSender(t.unsafeFd(), { slotBytes: 4096, maxCount: 8, op: "probe", direct: () => {}, onDone: () => {} });
const sender = settle(() => bs.state);
bs.stop();
t.close();

// Events: Bun waits for them in a poll() worker (ffi/_bun_poll_worker), Deno on an FFI thread.
using ct = Conntrack.open();
const ac = new AbortController();
const first = (async () => {
  for await (const ev of ct.events({ types: ["new"], signal: ac.signal })) if ("flow" in ev) return ev.flow.orig.src;
})();
await new Promise((r) => setTimeout(r, 300));
ct.create({ proto: "udp", orig: { src: "10.9.0.3", dst: "10.9.0.4", sport: 1, dport: 2 }, timeout: 60 });
const timer = setTimeout(() => ac.abort(), 10000);
const event = await first.catch((e) => String(e));
clearTimeout(timer);
console.log(JSON.stringify({ readahead, raFailure, sender, event }));
`,
  );
  for (
    const [label, argv] of [["deno", [deno, "run", "-A", "workers.ts"]], ["bun", [
      bun,
      "workers.ts",
    ]]]
  ) {
    const r = run([...netns, ...argv], { cwd: app });
    const j = parseJson(r.stdout);
    check(
      `${label}: the installed read-ahead worker starts`,
      r.status === 0 && ["ready", "running"].includes(j?.readahead),
      show(r),
    );
    check(
      `${label}: the installed batch-sender worker starts`,
      r.status === 0 && j?.sender === "ready",
      show(r),
    );
    check(
      `${label}: events arrive (Bun: through the installed poll worker)`,
      r.status === 0 && j?.event === "10.9.0.3",
      show(r),
    );
  }

  // --- the command ---------------------------------------------------------------------------
  const nfct = bin("nfct");
  const ilScript =
    `"$0" -I -p udp -s 10.9.0.1 -d 10.9.0.2 --sport 1000 --dport 53 -t 60 && "$0" -L`;
  const listed = (label, r) =>
    check(
      `${label}: nfct -I then nfct -L in a throwaway netns`,
      r.status === 0 && /src=10\.9\.0\.1 dst=10\.9\.0\.2 sport=1000 dport=53/.test(r.stdout) &&
        /1 flow entries have been shown/.test(r.stderr),
      show(r),
    );
  listed(
    "installed nfct, no runtime on PATH (its own Deno)",
    run([...netns, "sh", "-c", ilScript, nfct], {
      cwd: app,
      env: env({ PATH: BARE_PATH, NFCT_RUNTIME: "" }),
    }),
  );
  listed(
    "installed nfct, NFCT_RUNTIME=bun (bun on PATH)",
    run([...netns, "sh", "-c", ilScript, nfct], {
      cwd: app,
      env: env({ PATH: `${dirname(bun)}:${BARE_PATH}`, NFCT_RUNTIME: "bun" }),
    }),
  );
  const typo = run([nfct, "-V"], { cwd: app, env: env({ NFCT_RUNTIME: "dneo" }) });
  check(
    "NFCT_RUNTIME=dneo is refused (exit 2, says deno or bun)",
    typo.status === 2 && /NFCT_RUNTIME must be deno or bun/.test(typo.stderr),
    show(typo),
  );
  const nobun = run([nfct, "-V"], { cwd: app, env: env({ PATH: BARE_PATH, NFCT_RUNTIME: "bun" }) });
  check(
    "NFCT_RUNTIME=bun without a bun anywhere says so (exit 127)",
    nobun.status === 127 && /bun is not in node_modules or on PATH/.test(nobun.stderr),
    show(nobun),
  );
  const npx = run(["npx", "--offline", "nfct", "-V"], {
    cwd: app,
    env: env({ PATH: `${nodeDir}:${BARE_PATH}` }),
  });
  check(
    "npx nfct -V runs the installed command",
    npx.status === 0 && /^nfct v\d/.test(npx.stdout),
    show(npx),
  );
  const prefix = join(tmp, "global");
  const g = run(["npm", "install", "-g", "--prefix", prefix, ...npmFlags, tarball]);
  const gv = run([join(prefix, "bin", "nfct"), "-V"], {
    env: env({ PATH: BARE_PATH, NFCT_RUNTIME: "" }),
  });
  check(
    "npm install -g <tarball> puts a working nfct in <prefix>/bin (no runtime on PATH)",
    g.status === 0 && gv.status === 0 && /^nfct v\d/.test(gv.stdout),
    show(g) + show(gv),
  );

  // --- types: a consumer's tsc (with bun-types) and deno check ----------------------------
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  const snippets = blocks.map((code, i) => {
    const name = `readme_${i + 1}.ts`;
    writeFileSync(join(app, name), code);
    return name;
  });
  check(`README.md has ts snippets (${snippets.length})`, snippets.length >= 3);
  writeFileSync(
    join(app, "tsconfig.bun.json"), // not tsconfig.json, which deno check would read too
    JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "esnext",
          module: "nodenext",
          moduleResolution: "nodenext",
          lib: ["esnext"],
          types: ["bun-types"],
        },
        files: ["use.ts", ...snippets],
      },
      null,
      2,
    ),
  );
  const tsc = run([bin("tsc"), "-p", "tsconfig.bun.json"], { cwd: app });
  check(
    "tsc + bun-types type-checks a consumer of nfct (and the README snippets)",
    tsc.status === 0,
    show(tsc),
  );
  const dcheck = run([deno, "check", "use.ts", "use_npm.ts", ...snippets], { cwd: app });
  check(
    "deno check type-checks a consumer of nfct / npm:nfct (and the README snippets)",
    dcheck.status === 0,
    show(dcheck),
  );

  // --- the README snippets run, each a complete script, in a throwaway namespace ----------
  for (const s of snippets) {
    for (const [label, argv] of [["deno", [deno, "run", "-A", s]], ["bun", [bun, s]]]) {
      const r = run([...netns, ...argv], { cwd: app, timeout: 60_000 });
      check(`README snippet ${s} runs on ${label} in a throwaway netns`, r.status === 0, show(r));
    }
  }

  // --- JSR ------------------------------------------------------------------------------------
  const pub = run([repoBin("deno"), "publish", "--dry-run", "--allow-dirty"], { cwd: root });
  // deno-lint-ignore no-control-regex
  const pubOut = (pub.stdout + pub.stderr).replace(/\x1b\[[0-9;]*m/g, "");
  check(
    "deno publish --dry-run (JSR) succeeds",
    pub.status === 0 && /Success/.test(pubOut),
    pubOut,
  );
  check("deno publish --dry-run has no warnings (no slow types)", !/warning/i.test(pubOut), pubOut);
  const published = pubOut.split("\n").filter((l) => l.includes("file:///")).map((l) =>
    l.trim().split(" ")[0].slice(root.length + 8)
  );
  const jsrStray = published.filter((f) =>
    /^(test|bench|scripts|examples|\.ci)\//.test(f) || f.startsWith(".git")
  );
  check(
    `JSR would publish ${published.length} files, no tests, bench, scripts or CI`,
    published.length > 0 && jsrStray.length === 0,
    jsrStray.join(", "),
  );
} catch (e) {
  check("package test ran to the end", false, e?.stack ?? String(e));
} finally {
  if (process.env.NFCT_KEEP_TMP) console.log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

console.log(`\npackage: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
