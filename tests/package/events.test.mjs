// The event names the package accepts (`EVENTS` in js/index.js, which `join({ on })` and
// `call.on` check) and the ones its types declare (`HandoffEvents` in js/index.d.ts) are the
// same set. They are kept by hand in two files; when they drift, an app's handler for a
// declared event is refused at join (as `subscribeFailed` once was, caught only end to end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const read = (path) => readFileSync(new URL(path, root), 'utf8');

function accepted() {
  const m = read('js/index.js').match(/const EVENTS = new Set\(\[([^\]]*)\]\)/);
  assert.ok(m, 'js/index.js has `const EVENTS = new Set([...])`');
  return [...m[1].matchAll(/'(\w+)'/g)].map((x) => x[1]).sort();
}

function declared() {
  const m = read('js/index.d.ts').match(/export interface HandoffEvents \{\n([\s\S]*?)\n\}/);
  assert.ok(m, 'js/index.d.ts has `export interface HandoffEvents { ... }`');
  // Members are the lines indented by exactly two spaces that start with `name:`.
  return [...m[1].matchAll(/^ {2}(\w+):/gm)].map((x) => x[1]).sort();
}

test('every declared event is accepted by the package, and nothing else', () => {
  const a = accepted();
  assert.ok(a.length >= 10, `found the accepted events (${a})`);
  assert.deepEqual(a, declared());
});
