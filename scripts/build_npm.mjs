#!/usr/bin/env node
// Builds the npm package's JavaScript: dist/**/*.js + *.d.ts from the TypeScript sources, with
// TypeScript's own compiler (`tsc`, npm package `typescript`). Runs at `npm pack`/`npm publish`
// (the `prepack` script); dist/ is never committed nor edited by hand. The repository itself
// runs the TypeScript directly.
//
// Why JavaScript at all: Deno refuses to strip types from files under node_modules
// (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), so `npm:nfct` and `import "nfct"` need .js.
//
// - `rewriteRelativeImportExtensions` turns `import "./x.ts"` into `import "./x.js"`.
// - Worker threads are files loaded at run time by URL (`new URL("./_x_worker.ts",
//   import.meta.url)`), which no compiler rewrites: this script points them at the `.js` files
//   (the workers are compiled as entry points too) and fails if any `.ts` URL is left.
// - ffi/_deno.ts needs the `Deno` namespace to compile: its types come from `deno types`, only
//   while compiling. No emitted .d.ts may mention `Deno.` (a Bun or Node consumer's `tsc` has
//   no such namespace); this script checks that.
//   node scripts/build_npm.mjs
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const out = join(root, "dist");

/** The entry points: the public modules and every worker file (loaded by URL, not imported). */
export const ENTRIES = [
  "mod.ts",
  "cli.ts",
  "netlink/_readahead_worker.ts",
  "netlink/_sender_worker.ts",
  "ffi/_bun_poll_worker.ts",
];

function die(msg) {
  console.error(`build_npm: ${msg}`);
  process.exit(1);
}

for (const tool of ["tsc", "deno"]) {
  if (!existsSync(bin(tool))) {
    die(`${tool} is not installed in node_modules: run \`npm install\` first`);
  }
}

// The Deno namespace, for compiling ffi/_deno.ts. `deno types` references Deno's own libs
// (`deno.net`, ...), which tsc does not have; esnext + dom stand in for them.
const tmp = mkdtempSync(join(tmpdir(), "nfct-build-"));
try {
  const types = spawnSync(bin("deno"), ["types"], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (types.status !== 0) die(`deno types failed: ${types.stderr}`);
  const denoDts = join(tmp, "deno.d.ts");
  writeFileSync(denoDts, types.stdout.replace(/^\/\/\/ <reference (no-default-lib|lib)=.*$/gm, ""));

  rmSync(out, { recursive: true, force: true });
  const tsconfig = join(tmp, "tsconfig.json");
  writeFileSync(
    tsconfig,
    JSON.stringify({
      files: [...ENTRIES.map((f) => join(root, f)), denoDts],
      compilerOptions: {
        rootDir: root,
        outDir: out,
        target: "es2022",
        module: "esnext",
        moduleResolution: "bundler",
        lib: ["esnext", "dom"],
        types: [],
        strict: true,
        skipLibCheck: true,
        declaration: true,
        allowImportingTsExtensions: true,
        rewriteRelativeImportExtensions: true,
        newLine: "lf",
        pretty: false,
      },
    }),
  );
  const r = spawnSync(bin("tsc"), ["-p", tsconfig], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) die(`tsc failed:\n${r.stdout}${r.stderr}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// Only the library has types to offer: the command and the workers are run, never imported.
for (const e of ENTRIES.slice(1)) rmSync(join(out, e.replace(/\.ts$/, ".d.ts")));
// The command's own modules (cli/, loaded by cli.js) have none to offer either.
const cliTypes = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) cliTypes(p);
    else if (e.name.endsWith(".d.ts")) rmSync(p);
  }
};
if (existsSync(join(out, "cli"))) cliTypes(join(out, "cli"));

const files = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else files.push(p);
  }
};
walk(out);

const workerUrl = /(new URL\("\.\/_[a-z_]+_worker)\.ts("\s*,\s*import\.meta\.url\))/g;
let rewritten = 0;
for (const f of files) {
  const rel = relative(out, f);
  let text = readFileSync(f, "utf8");
  const code = () => text.split("\n").filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l)).join("\n");
  if (f.endsWith(".js")) {
    text = text.replace(workerUrl, (_, a, b) => {
      rewritten++;
      return `${a}.js${b}`;
    });
    const left = code().match(/(from\s*|import\s*\(?\s*|new URL\(\s*)["']\.\.?\/[^"'\n]*\.ts["']/g);
    if (left?.length) die(`${rel} still refers to TypeScript files: ${left.join(", ")}`);
    writeFileSync(f, text);
  } else if (f.endsWith(".d.ts")) {
    // Declarations keep `./x.ts` specifiers; `./x.js` is what every consumer resolves to x.d.ts.
    text = text.replace(/((?:from|import)\s*\(?\s*["']\.\.?\/[^"'\n]*)\.ts(["'])/g, "$1.js$2");
    writeFileSync(f, text);
    if (/\bDeno\./.test(code())) {
      die(`${rel} mentions the Deno namespace, which Bun and Node consumers lack`);
    }
  }
}
for (const e of ENTRIES) {
  if (!existsSync(join(out, e.replace(/\.ts$/, ".js")))) {
    die(`missing dist/${e.replace(/\.ts$/, ".js")}`);
  }
}
if (rewritten !== 3) die(`expected 3 worker URLs to point at .js files, found ${rewritten}`);

// The command and the library, bundled once per runtime (dist/deno/, dist/bun/): one file to load
// instead of ~140 modules, which is most of their start-up (the `nfct` wrapper runs the command's;
// package.json's "deno" and "bun" export conditions point `import "nfct"` at the library's).
// The workers are bundled beside it, flat, so the URL each computes beside itself still finds
// its file. Both bundlers ship with the runtimes: no network.
const WORKER_JS = ENTRIES.slice(2).map((e) => join(out, e.replace(/\.ts$/, ".js")));
const bundles = {
  deno: [bin("deno"), "bundle", "--quiet", "--minify", "--outdir", join(out, "deno")],
  bun: [
    bin("bun"),
    "build",
    "--target=bun",
    "--minify",
    "--entry-naming",
    "[name].[ext]",
    "--outdir",
    join(out, "bun"),
  ],
};
for (const [rt, argv] of Object.entries(bundles)) {
  if (!existsSync(argv[0])) {
    die(`${rt} is not installed in node_modules: run \`npm install\` first`);
  }
  const entries = [join(out, "cli.js"), join(out, "mod.js"), ...WORKER_JS];
  const r = spawnSync(argv[0], [...argv.slice(1), ...entries], {
    cwd: root,
    encoding: "utf8",
  });
  if (r.status !== 0) die(`${rt} could not bundle the command:\n${r.stdout}${r.stderr}`);
  // deno bundle keeps the folders of its entries: flatten them.
  for (const w of WORKER_JS) {
    const name = w.slice(w.lastIndexOf("/") + 1);
    const nested = join(out, rt, relative(out, w));
    if (nested !== join(out, rt, name) && existsSync(nested)) {
      renameSync(nested, join(out, rt, name));
    }
  }
  for (const d of ["netlink", "ffi"]) rmSync(join(out, rt, d), { recursive: true, force: true });
  for (
    const name of [
      "cli.js",
      "mod.js",
      ...WORKER_JS.map((w) => w.slice(w.lastIndexOf("/") + 1)),
    ]
  ) {
    const f = join(out, rt, name);
    if (!existsSync(f)) die(`the ${rt} bundle lacks ${name}`);
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(/new URL\(\s*["']\.\/([^"']+)["']\s*,\s*import\.meta\.url/g)) {
      if (!existsSync(join(out, rt, m[1]))) {
        die(`dist/${rt}/${name} loads ./${m[1]}, not beside it`);
      }
    }
    if (/\b(from|import)\s*\(?\s*["']\.\.?\//.test(text)) {
      die(`dist/${rt}/${name} imports a relative module: a bundle must stand alone`);
    }
  }
}
console.log(
  `build_npm: ${files.length} files in dist/ (${rewritten} worker URLs → .js), command bundles dist/deno/, dist/bun/`,
);
