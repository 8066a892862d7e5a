// Drives the sandbox with the vendor's own server SDK, `@vonage/video`, pointed at it with
// `videoHost`. Run: `node --test examples/sandbox/tests/vonage_sdk.test.mjs` after
// `cargo build -p video-handoff-sandbox` (or set SANDBOX_BIN to the binary).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Video, MediaMode } from '@vonage/video';
import { Auth } from '@vonage/auth';
import { connectClient } from './vendor-client.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const BIN = process.env.SANDBOX_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(repo, 'target'), 'debug/video-handoff-sandbox');
const ADMIN_TOKEN = randomBytes(24).toString('hex');
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
    env: { ...process.env, SANDBOX_ADMIN_TOKEN: ADMIN_TOKEN },
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

/** A client of the vendor protocol (vendor-client.mjs), as the real client connects. */
const connect = (sessionId, token) => connectClient({ sandboxUrl: baseUrl, applicationId: APP_ID, sessionId, token });

/** Resolves with the first message `pred` accepts (or rejects after `ms`). */
function nextMessage(client, pred, ms = 3000) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => { client.off('message', on); fail(new Error('timed out waiting for a message')); }, ms);
    const on = (m) => { if (pred(m)) { clearTimeout(timer); client.off('message', on); ok(m); } };
    client.on('message', on);
  });
}

const admin = (path) => fetch(baseUrl + path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then((r) => r.json());

test('createSession answers a vendor-style session ID', async () => {
  const session = await video.createSession({ mediaMode: MediaMode.RELAYED });
  assert.match(session.sessionId, /^2_MX[A-Za-z0-9_-]+$/);
  const state = await admin('/admin/state');
  const created = state.sessions.find((s) => s.sessionId === session.sessionId);
  assert.equal(created.properties['p2p.preference'], 'enabled');
  await assert.rejects(video.createSession({ mediaMode: 'relayed' }), /400/);
});

test('a generateClientToken token connects, with its data and role', async () => {
  const { sessionId } = await video.createSession();
  const token = video.generateClientToken(sessionId, { data: 'name=alice', role: 'moderator' });
  const alice = await connect(sessionId, token);
  assert.equal(alice.data, 'name=alice');
  assert.ok(alice.permissions.includes('forcedisconnect'), 'a moderator may force a disconnect');
  const bob = await connect(sessionId, video.generateClientToken(sessionId, { data: 'bob', role: 'subscriber' }));
  assert.deepEqual(bob.permissions, ['subscribe']);
  assert.deepEqual(bob.snapshot.connection.map((c) => c.data), ['name=alice'], 'the snapshot names who is there');
  await alice.disconnect();
  await bob.disconnect();
});

test('sendSignal reaches the whole session and one connection, from null', async () => {
  const { sessionId } = await video.createSession();
  const a = await connect(sessionId, video.generateClientToken(sessionId, { data: 'a' }));
  const b = await connect(sessionId, video.generateClientToken(sessionId, { data: 'b' }));
  const got = (c, data) => new Promise((ok) => {
    const seen = c.signals.find((s) => s.data === data);
    if (seen) return ok(seen);
    c.on('signal', (s) => { if (s.data === data) ok(s); });
  });

  await video.sendSignal({ type: 'chat', data: 'to everyone' }, sessionId);
  for (const c of [a, b]) {
    const s = await got(c, 'to everyone');
    assert.equal(s.from, null);
    assert.equal(s.type, 'chat');
  }

  await video.sendSignal({ type: 'chat', data: 'just b' }, sessionId, b.connectionId);
  await got(b, 'just b');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(a.signals.filter((s) => s.data === 'just b').length, 0, 'a targeted signal reaches only its target');
  await a.disconnect(); await b.disconnect();
});

test('disconnectClient force-disconnects one connection', async () => {
  const { sessionId } = await video.createSession();
  const a = await connect(sessionId, video.generateClientToken(sessionId));
  const b = await connect(sessionId, video.generateClientToken(sessionId));
  const seen = nextMessage(a, (m) => m.method === 'deleted' && m.path === `/connection/${b.connectionId}`);
  const gone = new Promise((ok) => b.once('sessionDisconnected', ok));
  const closed = new Promise((ok) => b.once('close', ok));

  await video.disconnectClient(sessionId, b.connectionId);
  assert.equal((await gone).reason, 'forceDisconnected');
  await closed;
  assert.equal((await seen).reason, 'forceDisconnected');
  await a.disconnect();
});

test('a token for another session is refused with the authentication error (1004)', async () => {
  const one = await video.createSession();
  const other = await video.createSession();
  await assert.rejects(connect(one.sessionId, video.generateClientToken(other.sessionId)), (err) => {
    assert.equal(err.code, 1004);
    assert.match(err.message, /another session/);
    return true;
  });
});

test('REST errors come back through the SDK as rejections; a client token is not a REST credential', async () => {
  const { sessionId } = await video.createSession();
  await assert.rejects(video.sendSignal({ type: 'chat', data: 'x' }, sessionId, 'no-such-connection'));
  await assert.rejects(video.sendSignal({ type: 'chat', data: 'x'.repeat(8193) }, sessionId));
  await assert.rejects(video.disconnectClient('2_MX4nope', 'nobody'));
  const clientToken = video.generateClientToken(sessionId);
  const res = await fetch(`${baseUrl}/v2/project/${APP_ID}/session/${sessionId}/signal`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clientToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'handoff', data: '{}' }),
  });
  assert.equal(res.status, 403);
});
