// Prints the shipped sizes of the npm package: raw, gzip and brotli of the .wasm and of the
// JS (wasm-bindgen glue and our js/index.js), and a last line `size: gzip total N bytes`.
//
// Measures the release build in pkg/ (build it first:
//   npm run build
// ). Budget: 35 KB gzip in all (a figure to watch, not an assertion).

import { readFileSync, existsSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../..', import.meta.url));
const files = [
  ['wasm', 'pkg/video_handoff_bg.wasm'],
  ['js glue', 'pkg/video_handoff.js'],
  ['js api', 'js/index.js'],
];

const missing = files.filter(([, f]) => !existsSync(join(root, f)));
if (missing.length) {
  console.error(`size: missing ${missing.map(([, f]) => f).join(', ')}; build the release first (see the header of this file)`);
  process.exit(1);
}

const pad = (s, n) => String(s).padStart(n);
let total = { raw: 0, gzip: 0, brotli: 0 };
console.log(`${'file'.padEnd(28)} ${pad('raw', 8)} ${pad('gzip', 8)} ${pad('brotli', 8)}`);
for (const [, f] of files) {
  const bytes = readFileSync(join(root, f));
  const raw = bytes.length;
  const gzip = gzipSync(bytes, { level: 9 }).length;
  const brotli = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  total = { raw: total.raw + raw, gzip: total.gzip + gzip, brotli: total.brotli + brotli };
  console.log(`${f.padEnd(28)} ${pad(raw, 8)} ${pad(gzip, 8)} ${pad(brotli, 8)}`);
}
console.log(`${'total'.padEnd(28)} ${pad(total.raw, 8)} ${pad(total.gzip, 8)} ${pad(total.brotli, 8)}`);
console.log(`budget: 35 KB gzip (${total.gzip <= 35 * 1024 ? 'within' : `over by ${total.gzip - 35 * 1024} bytes`})`);
console.log(`size: gzip total ${total.gzip} bytes`);
