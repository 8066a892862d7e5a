// The JS contract is declared once, in Rust (src/web/contract): the TypeScript types come from
// it (tsify, into pkg/video_handoff.d.ts) and so do the event names the package accepts at run
// time (`eventTypes()`). This test reads the built package, not Rust source: the event types in
// the generated declarations are the ones the wasm hands js/index.js, and js/index.d.ts builds
// its public types on the generated ones.
//
// Needs the release build in pkg/ (`npm run build`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path) => readFileSync(join(root, path), 'utf8');

async function wasm() {
  const glue = await import(pathToFileURL(join(root, 'pkg/video_handoff.js')).href);
  glue.initSync({ module: readFileSync(join(root, 'pkg/video_handoff_bg.wasm')) });
  return glue;
}

/** The `type` literals of the generated `AppEvent` union. */
function declaredEventTypes() {
  const m = read('pkg/video_handoff.d.ts').match(/export type AppEvent = (.*);/);
  assert.ok(m, 'pkg/video_handoff.d.ts declares AppEvent');
  return [...m[1].matchAll(/\{ type: "(\w+)"/g)].map((x) => x[1]);
}

test('the events the wasm hands out are the ones the generated types declare', async () => {
  const runtime = (await wasm()).eventTypes();
  const declared = declaredEventTypes();
  assert.ok(declared.length >= 12, `found the declared events (${declared})`);
  assert.deepEqual([...runtime].sort(), [...declared].sort());
});

test('closed sets are string-literal unions in the generated types', () => {
  const dts = read('pkg/video_handoff.d.ts');
  for (const [name, sample] of [
    ['CallState', '"live"'],
    ['LeaveCause', '"allMoved"'],
    ['DisconnectReason', '"serverRotation"'],
    ['RejectCode', '"wrongType"'],
    ['HandoffErrorCode', '"connectFailed"'],
  ]) {
    const m = dts.match(new RegExp(`export type ${name} = ([^;]*);`));
    assert.ok(m, `${name} is declared`);
    assert.match(m[1], /^"\w+"( \| "\w+")+$/, `${name} is a union of string literals`);
    assert.ok(m[1].includes(sample), `${name} has ${sample}`);
  }
});

test('the public declarations are built on the generated ones, not copies of them', () => {
  const api = read('js/index.d.ts');
  assert.match(api, /from "\.\.\/pkg\/video_handoff\.js"/);
  for (const copy of ['export type CallState =', 'export interface CallStats', 'export type HandoffErrorCode =']) {
    assert.ok(!api.includes(copy), `js/index.d.ts does not declare ${copy} itself`);
  }
});
