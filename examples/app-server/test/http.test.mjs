// The HTTP surface: the demo page and the SDK files (right MIME types, no way out of the
// served folders), JSON-only POSTs with schemas that answer 400/413/415 with a reason, and the
// browser cookie that participant identity hangs on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm, symlink } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import os from 'node:os';
import { startApp, devKeys } from './helpers.mjs';

let dir;
let app;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'app-static-'));
  await mkdir(path.join(dir, 'demo'));
  await mkdir(path.join(dir, 'js'));
  await mkdir(path.join(dir, 'pkg'));
  await writeFile(path.join(dir, 'demo/index.html'), '<!doctype html><title>demo</title>');
  await writeFile(path.join(dir, 'demo/app.js'), 'export {};');
  await writeFile(path.join(dir, 'js/index.js'), "import '../pkg/video_handoff.js';");
  await writeFile(path.join(dir, 'pkg/video_handoff.js'), 'export {};');
  await writeFile(path.join(dir, 'pkg/video_handoff_bg.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  await writeFile(path.join(dir, 'secret.txt'), 'do not serve');
  await writeFile(path.join(dir, 'demo/.env'), 'hidden');
  await symlink(path.join(dir, 'secret.txt'), path.join(dir, 'demo/link.txt'));
  app = await startApp({
    videoHost: 'http://127.0.0.1:9', // never called here
    privateKey: devKeys().privateKey,
    env: { SANDBOX_ADMIN_TOKEN: 'a-token-the-sandbox-would-know' },
    staticRoots: [
      ['/sdk/js/', path.join(dir, 'js')],
      ['/sdk/pkg/', path.join(dir, 'pkg')],
      ['/', path.join(dir, 'demo')],
    ],
  });
});
after(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

/** A raw GET, so the path reaches the server exactly as written (no URL normalization). */
function rawGet(rawPath) {
  const { port } = new URL(app.url);
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: rawPath }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
    }).on('error', reject);
  });
}

test('the page, the SDK and its wasm are served with their MIME types', async () => {
  const page = await rawGet('/');
  assert.equal(page.status, 200);
  assert.match(page.type, /^text\/html/);
  assert.match((await rawGet('/app.js')).type, /^text\/javascript/);
  assert.match((await rawGet('/sdk/js/index.js')).type, /^text\/javascript/);
  // js/index.js imports ../pkg/video_handoff.js: that relative URL must resolve.
  const resolved = new URL('../pkg/video_handoff.js', `${app.url}/sdk/js/index.js`).pathname;
  assert.equal((await rawGet(resolved)).status, 200);
  const wasm = await rawGet('/sdk/pkg/video_handoff_bg.wasm');
  assert.equal(wasm.status, 200);
  assert.equal(wasm.type, 'application/wasm');
});

test('no request path leaves the served folders', async () => {
  for (const p of [
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/..%5csecret.txt',
    '/sdk/js/..%2f..%2fsecret.txt',
    '/sdk/js/%2e%2e/%2e%2e/secret.txt',
    '/sdk/pkg/..%2F..%2Fdemo%2Findex.html',
    '/link.txt',
    '/.env',
    '/%00',
    '/%E0%A4%A',
    '//etc/passwd',
  ]) {
    const r = await rawGet(p);
    assert.ok(r.status >= 400 && r.status < 500, `${p}: ${r.status}`); // refused: 400 malformed, 403 or 404
    assert.doesNotMatch(r.body, /do not serve|hidden/, p);
  }
});

test('the config tells the page which client to load, where to point it, and whether rotation is on demand', async () => {
  const r = await app.get('/api/config');
  assert.equal(r.status, 200);
  assert.equal(r.body.otScriptUrl, '/vendor/opentok.js', 'the vendor\'s client, from node_modules');
  assert.equal(r.body.otProxyUrl, 'http://127.0.0.1:9', 'pointed at the sandbox');
  assert.equal(r.body.sandbox, true);
  assert.equal(r.body.applicationId, app.config.applicationId);
});

test('rotate without a sandbox is a 404, and so is a wrong method', async () => {
  const hosted = await startApp({
    videoHost: 'https://video.api.vonage.com',
    privateKey: devKeys().privateKey,
  });
  try {
    const r = await hosted.post('/api/rooms/r/rotate', { noticeMs: 5000, id: 'tab-ada-0001' });
    assert.equal(r.status, 404);
    assert.equal(r.body.error, 'notSandbox');
    assert.equal((await hosted.get('/api/config')).body.sandbox, false);
    assert.equal((await hosted.get('/api/config')).body.otScriptUrl, '/vendor/opentok.js');
    assert.equal((await hosted.get('/api/config')).body.otProxyUrl, null, 'the hosted platform: no proxy');
    assert.equal((await hosted.get('/callbacks')).status, 404);
  } finally {
    await hosted.close();
  }
});

test('every POST must be JSON: no cross-site form or text body reaches a route', async () => {
  for (const type of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
    const headers = type ? { 'content-type': type } : {};
    const r = await app.post('/api/rooms/r/join', 'name=ada', headers);
    assert.equal(r.status, 415, String(type));
    assert.equal(r.body.error, 'notJson');
    assert.match(r.body.message, /application\/json/);
  }
  assert.equal((await app.post('/api/rooms/r/join', { name: 'ada' }, { 'content-type': 'application/json; charset=utf-8' })).status, 502, 'JSON passes (the video API here is unreachable)');
});

test('schemas answer 400 with the field at fault; bodies over 64 kB get a 413', async () => {
  const cases = [
    ['/api/rooms/r/join', '{"name":', 'badJson'],
    ['/api/rooms/r/join', {}, 'badName'],
    ['/api/rooms/r/join', { name: 7 }, 'badName'],
    ['/api/rooms/r/join', { name: 'ada', id: 'short' }, 'badId'],
    ['/api/rooms/a%20b/join', { name: 'ada' }, 'badRoom'],
    ['/api/rooms/r/rotate', { noticeMs: 'soon', id: 'tab-ada-0001' }, 'badNotice'],
    ['/api/rooms/r/rotate', { noticeMs: -1, id: 'tab-ada-0001' }, 'badNotice'],
    ['/api/rooms/r/rotate', { noticeMs: 1 }, 'badId'],
    ['/api/sandbox/latency', { latencyMs: 1.5, room: 'r', id: 'tab-ada-0001' }, 'badLatency'],
    ['/api/sandbox/latency', { room: 'r', id: 'tab-ada-0001' }, 'badLatency'],
    ['/api/sandbox/latency', { latencyMs: 1, id: 'tab-ada-0001' }, 'badRoom'],
  ];
  for (const [path, body, code] of cases) {
    const r = await app.post(path, body);
    assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}`);
    assert.equal(r.body.error, code, `${path} ${JSON.stringify(body)}: ${r.body.message}`);
    assert.ok(r.body.message.length > 5);
  }
  const big = await app.post('/api/rooms/r/join', { name: 'ada', pad: 'x'.repeat(70_000) });
  assert.equal(big.status, 413);
  assert.equal(big.body.error, 'bodyTooLarge');
  const q = await app.get('/api/rooms/r/token?sessionId=x');
  assert.equal(q.status, 400);
  assert.equal(q.body.error, 'badId');
});

test('a browser gets one signed, HttpOnly, SameSite=Strict cookie; a forged one is replaced, never trusted', async () => {
  const browser = app.browser();
  const first = await browser.post('/api/rooms/r/join', { name: 'ada', id: 'tab-ada-0001' });
  const set = first.headers.get('set-cookie');
  assert.match(set, /^vh_browser=[^;]+\.[^;]+;/, 'value.signature');
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Strict/);
  assert.match(set, /Path=\/api\//);
  const again = await browser.post('/api/rooms/r/join', { name: 'ada', id: 'tab-ada-0001' });
  const browserId = (c) => /^vh_browser=([^.;]+)\./.exec(c ?? '')?.[1];
  assert.equal(browserId(again.headers.get('set-cookie')), browserId(set), 'the same browser keeps its ID (the cookie renewed)');
  assert.match(set, /Max-Age=2592000/, 'the cookie outlives ROOM_TTL_S (30 days, renewed at each join)');
  // A page that rewrites the cookie to another browser's ID (signature not matching) is a new
  // browser: ada's ID is not its to take.
  const [value] = browser.jar.get('vh_browser').split('.');
  const forger = app.browser();
  forger.jar.set('vh_browser', `${value.slice(0, -1)}${value.endsWith('a') ? 'b' : 'a'}.${browser.jar.get('vh_browser').split('.').slice(1).join('.')}`);
  const r = await forger.post('/api/rooms/r/join', { name: 'ada', id: 'tab-ada-0001' });
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'idTaken');
  assert.match(r.headers.get('set-cookie') ?? '', /^vh_browser=/, 'issued a fresh cookie');
});
