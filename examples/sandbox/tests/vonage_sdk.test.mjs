// Drives the sandbox with the vendor's own server SDK, `@vonage/video`, pointed at it with
// `videoHost`. Run: `node --test examples/sandbox/tests/vonage_sdk.test.mjs` after
// `cargo build -p video-handoff-sandbox` (or set SANDBOX_BIN to the binary).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Video, MediaMode } from '@vonage/video';
import { Auth } from '@vonage/auth';
import WebSocket from 'ws';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const BIN = process.env.SANDBOX_BIN ?? join(repo, 'target/sandbox/debug/video-handoff-sandbox');
const APP_ID = 'a1b2c3d4-0000-4000-8000-00000000abcd';

let dir, proc, baseUrl, video;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sandbox-sdk-'));
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  writeFileSync(join(dir, 'public.pem'), publicKey);
  proc = spawn(BIN, ['--port', '0', '--application-id', APP_ID, '--public-key-file', join(dir, 'public.pem')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  baseUrl = await new Promise((ok, fail) => {
    proc.once('exit', (code) => fail(new Error(`sandbox exited with ${code}`)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = /^sandbox listening on (http:\/\/\S+)$/.exec(line);
      if (m) ok(m[1]);
    });
  });
  video = new Video(new Auth({ applicationId: APP_ID, privateKey }), { videoHost: baseUrl });
});

function cleanUp() {
  proc?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
after(cleanUp);
// Also when the runner ends the process without running `after` hooks.
process.on('exit', cleanUp);

/** A bare WebSocket client speaking PROTOCOL.md; collects every frame it gets. */
async function connectClient(sessionId, token) {
  const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/v2/ws`);
  const frames = [];
  const waiters = [];
  ws.on('message', (raw) => {
    const f = JSON.parse(raw.toString());
    frames.push(f);
    for (const w of [...waiters]) if (w.pred(f)) { waiters.splice(waiters.indexOf(w), 1); w.ok(f); }
  });
  const closed = new Promise((ok) => ws.on('close', (code) => ok(code)));
  await new Promise((ok, fail) => { ws.on('open', ok); ws.on('error', fail); });
  const next = (pred, ms = 3000) => {
    const seen = frames.find(pred);
    if (seen) { frames.splice(frames.indexOf(seen), 1); return Promise.resolve(seen); }
    return new Promise((ok, fail) => {
      const w = { pred, ok: (f) => { clearTimeout(timer); frames.splice(frames.indexOf(f), 1); ok(f); } };
      const timer = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); fail(new Error('timed out waiting for a frame')); }, ms);
      waiters.push(w);
    });
  };
  ws.send(JSON.stringify({ t: 'connect', sessionId, token }));
  const first = await next((f) => f.t === 'connected' || f.t === 'error');
  return { ws, first, next, closed, send: (f) => ws.send(JSON.stringify(f)) };
}

test('createSession answers a vendor-style session ID', async () => {
  const session = await video.createSession({ mediaMode: MediaMode.RELAYED });
  assert.match(session.sessionId, /^2_MX[A-Za-z0-9_-]+$/);
  const state = await (await fetch(`${baseUrl}/admin/state`)).json();
  const created = state.sessions.find((s) => s.sessionId === session.sessionId);
  assert.equal(created.properties['p2p.preference'], 'enabled');
  await assert.rejects(video.createSession({ mediaMode: 'relayed' }), /400/);
});

test('a generateClientToken token connects, with its data and role', async () => {
  const { sessionId } = await video.createSession();
  const token = video.generateClientToken(sessionId, { data: 'name=alice', role: 'moderator' });
  const alice = await connectClient(sessionId, token);
  assert.equal(alice.first.t, 'connected', JSON.stringify(alice.first));
  assert.equal(alice.first.connection.data, 'name=alice');
  assert.equal(alice.first.role, 'moderator');
  alice.ws.close();
});

test('sendSignal reaches the whole session and one connection, from null', async () => {
  const { sessionId } = await video.createSession();
  const a = await connectClient(sessionId, video.generateClientToken(sessionId, { data: 'a' }));
  const b = await connectClient(sessionId, video.generateClientToken(sessionId, { data: 'b' }));

  await video.sendSignal({ type: 'chat', data: 'to everyone' }, sessionId);
  for (const c of [a, b]) {
    const s = await c.next((f) => f.t === 'signal' && f.data === 'to everyone');
    assert.equal(s.from, null);
    assert.equal(s.type, 'chat');
  }

  await video.sendSignal({ type: 'chat', data: 'just b' }, sessionId, b.first.connection.connectionId);
  await b.next((f) => f.t === 'signal' && f.data === 'just b');
  await assert.rejects(a.next((f) => f.t === 'signal' && f.data === 'just b', 300));
  a.ws.close(); b.ws.close();
});

test('disconnectClient force-disconnects one connection', async () => {
  const { sessionId } = await video.createSession();
  const a = await connectClient(sessionId, video.generateClientToken(sessionId));
  const b = await connectClient(sessionId, video.generateClientToken(sessionId));
  const bId = b.first.connection.connectionId;

  await video.disconnectClient(sessionId, bId);
  const gone = await b.next((f) => f.t === 'sessionDisconnected');
  assert.equal(gone.reason, 'forceDisconnected');
  assert.equal(await b.closed, 1000);
  const seen = await a.next((f) => f.t === 'connectionDestroyed');
  assert.equal(seen.connection.connectionId, bId);
  assert.equal(seen.reason, 'forceDisconnected');
  a.ws.close();
});

test('a token for another session is refused with OT_AUTHENTICATION_ERROR', async () => {
  const one = await video.createSession();
  const other = await video.createSession();
  const c = await connectClient(one.sessionId, video.generateClientToken(other.sessionId));
  assert.equal(c.first.t, 'error');
  assert.equal(c.first.code, 1004);
  assert.equal(c.first.name, 'OT_AUTHENTICATION_ERROR');
  assert.match(c.first.message, /another session/);
  await c.closed;
});

test('REST errors come back through the SDK as rejections', async () => {
  const { sessionId } = await video.createSession();
  await assert.rejects(video.sendSignal({ type: 'chat', data: 'x' }, sessionId, 'no-such-connection'));
  await assert.rejects(video.sendSignal({ type: 'chat', data: 'x'.repeat(8193) }, sessionId));
  await assert.rejects(video.disconnectClient('2_MX4nope', 'nobody'));
});
