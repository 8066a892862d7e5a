// Prints the shipped sizes of the npm package (raw, gzip and brotli of the .wasm, its glue and
// the minified entry), beside the vendor client's own gzip size, and fails when the package is
// over its budget: 68 KB gzip (wasm + glue + JS). Last line: `size: gzip total N bytes`.
//
// The budget was 64 KB (issue 11: 65,004 bytes with serde in). Every failure ending (issue 12:
// permanent codes, bounded attempts and hooks, the recovery plan, duplicate keys, three
// options) and the cheaper handoff (issue 13: paced subscriptions, the prepared publisher)
// took it to 69.7 KB; cuts won back 2.0 KB (no i128 in the clock math, serde-wasm-bindgen's
// messages unformatted, Vecs for the engine's queues): 67,621 bytes; 68,580 after issue 20
// (presentation-timed meter, monotonic clock, delivered state, the engine holding a swap's
// event for its figure); 69,350 with issues 18 (the media mode read on connect, the deadline
// hold) and 19 (linear duplicate keys, tracking caps) as well; 69,973 with the vendor's
// migration (issue 22: an option, an event and a meter of recent gaps, about 620 bytes after
// reading the option without serde); 69,593 after the shell's one pass (issue 20: timers
// through the listener's route table, gloo-timers dropped, no loadeddata path, no Heard
// layer, the teardown queue in the engine). 68 KB keeps the pressure
// on: the next feature pays for itself or cuts something.
//
// Measures the release build in pkg/ (build it first: `npm run build`).

import { readFileSync, existsSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const BUDGET = 68 * 1024;
const root = fileURLToPath(new URL('../..', import.meta.url));
const files = ['pkg/video_handoff_bg.wasm', 'pkg/video_handoff.js', 'pkg/index.js'];
const vendor = 'node_modules/@vonage/client-sdk-video/dist/js/opentok.min.js';

const missing = files.filter((f) => !existsSync(join(root, f)));
if (missing.length) {
  console.error(`size: missing ${missing.join(', ')}; build the release first (npm run build)`);
  process.exit(1);
}

const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;
const pad = (s, n) => String(s).padStart(n);
let total = { raw: 0, gzip: 0, brotli: 0 };
console.log(`${'file'.padEnd(28)} ${pad('raw', 8)} ${pad('gzip', 8)} ${pad('brotli', 8)}`);
for (const f of files) {
  const bytes = readFileSync(join(root, f));
  const sizes = {
    raw: bytes.length,
    gzip: gzip(bytes),
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
  for (const k of Object.keys(total)) total[k] += sizes[k];
  console.log(`${f.padEnd(28)} ${pad(sizes.raw, 8)} ${pad(sizes.gzip, 8)} ${pad(sizes.brotli, 8)}`);
}
console.log(`${'total'.padEnd(28)} ${pad(total.raw, 8)} ${pad(total.gzip, 8)} ${pad(total.brotli, 8)}`);
if (existsSync(join(root, vendor))) {
  const v = readFileSync(join(root, vendor));
  console.log(`vendor client ${vendor.split('/').pop()}: ${v.length} raw, ${gzip(v)} gzip (the package is ${((100 * total.gzip) / gzip(v)).toFixed(1)}% of it)`);
}
const within = total.gzip <= BUDGET;
console.log(`budget: ${BUDGET} bytes gzip (${within ? `within by ${BUDGET - total.gzip}` : `OVER by ${total.gzip - BUDGET}`} bytes)`);
console.log(`size: gzip total ${total.gzip} bytes`);
process.exit(within ? 0 : 1);
