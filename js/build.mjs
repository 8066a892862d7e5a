// Release build of the npm package's code: pkg/video_handoff_bg.wasm, its glue
// pkg/video_handoff.js, and pkg/index.js (js/index.js minified, the package's entry).
// Run it as `npm run build` (the demo, the tests and `npm pack` all use it).
//
// Why not plain `wasm-pack build --release`: its wasm-opt step would run Debian's binaryen 108,
// which writes the export of wasm-bindgen's externref table (`__wbindgen_externrefs`) with the
// index of the funcref table, so the module fails at init ("WebAssembly.Table.set(): invalid
// address ..."). So wasm-pack builds without optimizing, this script runs the wasm-opt of the
// `binaryen` devDependency (132), and the result is instantiated in Node before it is kept, so
// a broken optimizer can never ship a module that does not start. The check covers the two
// steps after wasm-opt too: the glue minified with esbuild, and the imports' names shortened
// in both files (js/short-imports.mjs).

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { transformSync } from 'esbuild';
import { shortenImports } from './short-imports.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = join(root, 'pkg');
const wasm = join(pkg, 'video_handoff_bg.wasm');
const wasmOpt = join(root, 'node_modules/.bin/wasm-opt');
const FLAGS = [
  '--merge-similar-functions', // serde's many small monomorphs (about 300 bytes gzip)
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

async function initializes(wasmBytes, glueText) {
  // A fresh copy of the glue per check: each import instantiates its own module.
  const glue = join(pkg, `check-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(glue, glueText);
  try {
    const m = await import(pathToFileURL(glue).href);
    m.initSync({ module: wasmBytes });
    return true;
  } catch (e) {
    console.error(`build: the optimized module does not initialize: ${e.message}`);
    return false;
  } finally {
    rmSync(glue, { force: true });
  }
}

const glueFile = join(pkg, 'video_handoff.js');
const before = statSync(wasm).size;
const out = `${wasm}.opt`;
execFileSync(wasmOpt, [...FLAGS, wasm, '-o', out], { cwd: root, stdio: 'inherit' });
// The glue is generated code nobody reads: ship it minified (a transform of the one file, not a
// bundle; about 1.9 KB gzip less). The header line tells TypeScript where its types are.
const generated = readFileSync(glueFile, 'utf8');
const header = generated.match(/^\/\* @ts-self-types=.*\*\/\n/)?.[0] ?? '';
const minified = header + transformSync(generated, { minify: true, format: 'esm' }).code;
const shipped = shortenImports(readFileSync(out), minified);
rmSync(out, { force: true });
if (!(await initializes(shipped.wasm, shipped.glue))) {
  process.exit(1);
}
writeFileSync(wasm, shipped.wasm);
writeFileSync(glueFile, shipped.glue);
console.log(`build: wasm-opt: ${before} -> ${statSync(wasm).size} bytes`);

// The package's entry: js/index.js (the source, which the demo and the repository's tests
// import) minified, importing the glue next to it (about 1.2 KB gzip less).
const api = readFileSync(join(root, 'js/index.js'), 'utf8');
if (!api.includes("from '../pkg/video_handoff.js'")) {
  console.error("build: js/index.js must import '../pkg/video_handoff.js'");
  process.exit(1);
}
const entry = transformSync(api.replace("from '../pkg/video_handoff.js'", "from './video_handoff.js'"), {
  minify: true,
  format: 'esm',
  target: 'es2022',
}).code;
writeFileSync(join(pkg, 'index.js'), entry);
console.log(`build: pkg/index.js ${Buffer.byteLength(entry)} bytes (js/index.js ${Buffer.byteLength(api)})`);
