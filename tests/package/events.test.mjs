// The event names the SDK sends (`names!` in src/web/events.rs: the shell can only emit those),
// the ones the package accepts (`EVENTS` in js/index.js, which `join({ on })` and `call.on`
// check) and the ones its types declare (`HandoffEvents` in js/index.d.ts) are the same set.
// They are kept by hand in three files; when they drift, an app's handler for an event the SDK
// sends is refused at join (as `subscribeFailed` once was, caught only end to end).
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

function sent() {
  const m = read('src/web/events.rs').match(/\nnames! \{\n([\s\S]*?)\n\}/);
  assert.ok(m, 'src/web/events.rs has `names! { ... }`');
  const lines = m[1].split('\n').filter((l) => l.trim());
  const names = lines.map((l) => l.match(/^ {4}\w+ => "(\w+)",$/)?.[1]);
  assert.ok(names.every(Boolean), `every line of names! is \`Variant => "name",\` (${lines})`);
  return names.sort();
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

test('every event the SDK sends is accepted by the package, and nothing else', () => {
  const s = sent();
  assert.ok(s.length >= 10, `found the events the shell sends (${s})`);
  assert.deepEqual(accepted(), s);
});
