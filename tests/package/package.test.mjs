// Packaging test: packs the npm tarball (npm pack) as a user would get it, installs it into
// (1) a plain ES module page (an import map, no build step) and (2) a Vite 7 project built with
// `vite build` and no plugins, and runs the same scenario in headless Chromium in each.
//
// Needs the release build in pkg/ (see tests/package/size.mjs). Run:
//   node --test tests/package/package.test.mjs
// Everything lives in a temporary folder that is deleted at the end (Chromium's too).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, copyFileSync, readdirSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT as root, launch, open, serve } from '../web/browser.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
let tmp;
let tarball;
let browser;

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
}

async function scenarioIn(dir) {
  const server = await serve(dir);
  const { page, errors } = await open(browser.context, `${server.url}/`);
  try {
    await page.waitForFunction(() => window.__result || window.__error, null, { timeout: 30_000 });
    const error = await page.evaluate(() => window.__error);
    assert.equal(error, undefined, error);
    const result = await page.evaluate(() => window.__result);
    assert.deepEqual(errors, [], 'no uncaught errors on the page');
    return result;
  } finally {
    await page.close();
    server.close();
  }
}

function checkScenario(r) {
  assert.deepEqual(r.invalid, {
    isError: true,
    isHandoffError: true,
    name: 'HandoffError',
    code: 'invalidOptions',
    message: r.invalid.message,
  });
  assert.match(r.invalid.message, /OT is required/);
  assert.equal(r.stateAfterJoin, 'live');
  assert.equal(r.sessionId, 's2');
  assert.deepEqual(r.participants, ['alice', 'bob']);
  assert.equal(r.sameParticipantObjects, true, 'participant objects are stable');
  assert.equal(r.sameElements, true, 'tile elements are stable across the handoff');
  assert.equal(r.swaps.length, 2);
  for (const s of r.swaps) {
    assert.equal(s.from, 's1');
    assert.equal(s.to, 's2');
    assert.equal(typeof s.frameGapMs, 'number');
  }
  assert.equal(r.completed.from, 's1');
  assert.equal(r.completed.to, 's2');
  assert.equal(typeof r.completed.largestFrameGapMs, 'number');
  assert.equal(r.stats.handoffsCompleted, 1);
  assert.equal(r.stats.tiles.length, 2);
  assert.equal(r.localPreview, 1);
  assert.deepEqual(r.moveToEmpty, { isHandoffError: true, code: 'invalidArgument' });
  assert.equal(r.stateAfterClose, 'closed');
  assert.equal(r.listenersAfterClose, 0);
  assert.equal(r.subscribersAfterClose, 0);
  assert.equal(r.videosAfterClose, 0);
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'video-handoff-package-'));
  for (const f of ['video_handoff_bg.wasm', 'video_handoff.js', 'index.js']) {
    assert.ok(existsSync(join(root, 'pkg', f)), `pkg/${f} missing: build the release first`);
  }
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], root));
  tarball = join(tmp, packed[0].filename);
  const files = packed[0].files.map((f) => f.path).sort();
  console.log(`# packed ${packed[0].filename}: ${files.join(', ')}`);
  const shipped = [
    'js/index.d.ts',
    'package.json',
    'pkg/index.js',
    'pkg/video_handoff.d.ts',
    'pkg/video_handoff.js',
    'pkg/video_handoff_bg.wasm',
    'pkg/video_handoff_bg.wasm.d.ts',
  ];
  // Exactly the files list (npm adds README/LICENSE files on its own).
  assert.deepEqual(files.filter((f) => !/^(README|LICENSE)/i.test(f)), shipped);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function appDir(name) {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], dir);
  copyFileSync(join(root, 'tests/web/ot_double.js'), join(dir, 'ot_double.js'));
  copyFileSync(join(root, 'tests/web/helpers.js'), join(dir, 'helpers.js'));
  copyFileSync(join(here, 'scenario.js'), join(dir, 'scenario.js'));
  return dir;
}

test('the packed tarball works in a plain ES module page (import map, no bundler)', async () => {
  const dir = appDir('plain-esm');
  writeFileSync(
    join(dir, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>plain</title>
<script type="importmap">{ "imports": { "video-handoff": "./node_modules/video-handoff/pkg/index.js" } }</script>
<script type="module" src="./scenario.js"></script>`,
  );
  checkScenario(await scenarioIn(dir));
});

test('the packed tarball builds with Vite 7 (no plugins) and works', async () => {
  const dir = appDir('vite-app');
  // Vite comes from the repository's devDependencies (no second download).
  symlinkSync(join(root, 'node_modules/vite'), join(dir, 'node_modules/vite'), 'dir');
  writeFileSync(
    join(dir, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>vite</title>
<script type="module" src="./scenario.js"></script>`,
  );
  writeFileSync(join(dir, 'vite.config.js'), 'export default { logLevel: "warn", build: { target: "es2022" } };\n');
  run(process.execPath, [join(dir, 'node_modules/vite/bin/vite.js'), 'build'], dir);
  const assets = readdirSync(join(dir, 'dist/assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `vite emitted the .wasm as an asset: ${assets}`);
  checkScenario(await scenarioIn(join(dir, 'dist')));
});
