// Release build of the wasm for the npm package: pkg/video_handoff.js + pkg/video_handoff_bg.wasm.
// Run it as `npm run build` (the demo, the tests and `npm pack` all use it).
//
// Why not plain `wasm-pack build --release`: its wasm-opt step would run Debian's binaryen 108,
// which writes the export of wasm-bindgen's externref table (`__wbindgen_externrefs`) with the
// index of the funcref table, so the module fails at init ("WebAssembly.Table.set(): invalid
// address ..."). So wasm-pack builds without optimizing, this script runs the wasm-opt of the
// `binaryen` devDependency (132), and the result is instantiated in Node before it is kept, so
// a broken optimizer can never ship a module that does not start. The wasm-bindgen glue is
// minified with esbuild before that check, so the check covers it too.

import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { transformSync } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = join(root, 'pkg');
const wasm = join(pkg, 'video_handoff_bg.wasm');
const wasmOpt = join(root, 'node_modules/.bin/wasm-opt');
const FLAGS = [
  '-Oz',
  '--converge', // repeat -Oz until it stops shrinking (about 130 bytes gzip)
  '--enable-bulk-memory',
  '--enable-nontrapping-float-to-int',
  '--enable-sign-ext',
  '--enable-mutable-globals',
  '--enable-reference-types',
  '--enable-multivalue',
  '--strip-debug',
  '--strip-producers',
];

execFileSync('wasm-pack', ['build', '--target', 'web', '--release', '--out-dir', 'pkg', '--no-pack', '--no-opt'], {
  cwd: root,
  stdio: 'inherit',
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
    console.error(`build: ${file} does not initialize: ${e.message}`);
    return false;
  } finally {
    rmSync(glue, { force: true });
  }
}

// The glue is generated code nobody reads: ship it minified (a transform of the one file, not a
// bundle; about 1.9 KB gzip less). The header line tells TypeScript where its types are.
const glueFile = join(pkg, 'video_handoff.js');
const glue = readFileSync(glueFile, 'utf8');
const header = glue.match(/^\/\* @ts-self-types=.*\*\/\n/)?.[0] ?? '';
writeFileSync(glueFile, header + transformSync(glue, { minify: true, format: 'esm' }).code);

const before = statSync(wasm).size;
const out = `${wasm}.opt`;
execFileSync(wasmOpt, [...FLAGS, wasm, '-o', out], { cwd: root, stdio: 'inherit' });
if (!(await initializes(out))) {
  rmSync(out, { force: true });
  process.exit(1);
}
renameSync(out, wasm);
console.log(`build: wasm-opt: ${before} -> ${statSync(wasm).size} bytes`);
