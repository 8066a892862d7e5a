// Every document a tracked file names is in the repository: a clone explains itself. A name
// ending in `.md` (`docs/engine-rules.md`, `../../docs/vendor-protocol.md`, `PATCH.md`) must
// resolve to a tracked file, relative to the file that names it or to the repository root,
// or be the file name of one tracked document (`PROTOCOL.md` in the sandbox's own files).
// Web addresses are left out: they name documents elsewhere on purpose.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// Tracked files and new ones git does not ignore (a change under way is checked too).
function tracked() {
  return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
}

const TEXT = /\.(rs|md|mjs|js|ts|json|toml|sh|html|css|yml|yaml)$|^\.ci\/|(^|\/)[^.\/]+$/;
// A path-like token that ends in .md, not preceded by a scheme (`https://...`).
const NAMED = /(?<![\w./:-])((?:\.{1,2}\/|[\w-]+\/)*[\w.-]+\.md)\b/g;

export function unresolved(files, read) {
  const all = new Set(files);
  const names = new Set(files.filter((f) => f.endsWith('.md')).map((f) => basename(f)));
  const missing = [];
  for (const file of files) {
    if (!TEXT.test(file) || file === 'package-lock.json') continue;
    let text;
    try {
      text = read(file);
    } catch {
      continue;
    }
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      for (const m of line.matchAll(NAMED)) {
        const name = m[1];
        const before = line.slice(0, m.index);
        if (/[a-z]+:\/\/\S*$/i.test(before)) continue; // part of a URL
        const here = normalize(join(dirname(file), name));
        const fromRoot = normalize(name);
        if (all.has(here) || all.has(fromRoot) || (!name.includes('/') && names.has(name))) continue;
        missing.push(`${file}:${i + 1} names ${name}`);
      }
    });
  }
  return missing;
}

test('every document a tracked file names is in the repository', () => {
  const self = 'tests/package/docs.test.mjs'; // its own fixtures name missing documents
  const files = tracked().filter((f) => f !== self);
  const missing = unresolved(files, (f) => readFileSync(join(ROOT, f), 'utf8'));
  assert.deepEqual(missing, [], `documents named but not in the repository:\n${missing.join('\n')}`);
});

test('the check catches a document the repository does not hold', () => {
  const files = ['src/a.rs', 'docs/x.md'];
  const text = {
    'src/a.rs': '//! see DESIGN' + '.md and ../docs/x.md and https://example.com/Y.md\n',
    'docs/x.md': 'see [here](../shared/NOTES' + '.md)\n',
  };
  assert.deepEqual(unresolved(files, (f) => text[f]), [
    'src/a.rs:1 names DESIGN.md',
    'docs/x.md:1 names ../shared/NOTES.md',
  ]);
});
