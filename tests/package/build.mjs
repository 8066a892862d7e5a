// Release build of the wasm for the npm package: pkg/video_handoff.js + pkg/video_handoff_bg.wasm.
//
//   node tests/package/build.mjs
//
// Why not plain `wasm-pack build --release`: its wasm-opt step runs Debian's binaryen 108,
// which writes the export of wasm-bindgen's externref table (`__wbindgen_externrefs`) with
// the index of the funcref table, so the module fails at init ("WebAssembly.Table.set():
// invalid address ..."). So wasm-pack builds without optimizing, and this script runs the
// first wasm-opt that produces a module that initializes: $WASM_OPT, the repository's
// node_modules/.bin/wasm-opt (npm `binaryen`), `npx -p binaryen@132 wasm-opt`, the system's.
// Each candidate's output is instantiated in Node before it is kept.

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = join(root, 'pkg');
const wasm = join(pkg, 'video_handoff_bg.wasm');
const FLAGS = [
  '-Oz',
  '--enable-bulk-memory',
  '--enable-nontrapping-float-to-int',
  '--enable-sign-ext',
  '--enable-mutable-globals',
  '--enable-reference-types',
  '--enable-multivalue',
  '--strip-debug',
  '--strip-producers',
];

const env = { ...process.env, CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR || join(root, 'target/web') };
execFileSync('wasm-pack', ['build', '--target', 'web', '--release', '--out-dir', 'pkg', '--no-pack', '--no-opt'], {
  cwd: root,
  stdio: 'inherit',
  env,
});
rmSync(join(pkg, '.gitignore'), { force: true });

async function initializes(file) {
  // A fresh copy of the glue per check: each import instantiates its own module.
  const glue = join(pkg, `check-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`);
  copyFileSync(join(pkg, 'video_handoff.js'), glue);
  try {
    const m = await import(pathToFileURL(glue).href);
    m.initSync({ module: readFileSync(file) });
    return true;
  } catch (e) {
    console.error(`  does not initialize: ${e.message}`);
    return false;
  } finally {
    rmSync(glue, { force: true });
  }
}

const candidates = [
  process.env.WASM_OPT && [process.env.WASM_OPT],
  existsSync(join(root, 'node_modules/.bin/wasm-opt')) && [join(root, 'node_modules/.bin/wasm-opt')],
  ['npx', '--yes', '-p', 'binaryen@132', 'wasm-opt'],
  ['wasm-opt'],
].filter(Boolean);

const before = statSync(wasm).size;
const out = `${wasm}.opt`;
let kept = null;
for (const [cmd, ...pre] of candidates) {
  const name = [cmd, ...pre].join(' ');
  try {
    execFileSync(cmd, [...pre, ...FLAGS, wasm, '-o', out], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    console.error(`build: ${name}: not usable (${String(e.stderr || e.message).trim().split('\n')[0]})`);
    continue;
  }
  if (await initializes(out)) {
    kept = name;
    break;
  }
  console.error(`build: ${name}: output rejected`);
}
if (kept) {
  renameSync(out, wasm);
  console.log(`build: wasm-opt (${kept}): ${before} -> ${statSync(wasm).size} bytes`);
} else {
  rmSync(out, { force: true });
  console.warn(`build: WARNING no working wasm-opt found; shipping the unoptimized wasm (${before} bytes)`);
}
if (!(await initializes(wasm))) process.exit(1);
