// The app server against the real sandbox: clients (the vendor protocol without media,
// examples/sandbox/tests/vendor-client.mjs) connect with the app's tokens, the sandbox rotates the session
// and POSTs its callbacks to the app server, and each client receives its handoff signal.
// Needs the sandbox binary: SANDBOX_BIN, default target/debug/video-handoff-sandbox
// (`cargo build -p video-handoff-sandbox`); skipped with a note when it is not built.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { connectClient as connectVendor } from '../../sandbox/tests/vendor-client.mjs';
import { startApp, callback } from './helpers.mjs';
import { jwtClaims } from './fake-video-api.mjs';
import { REPO_ROOT } from '../src/app.js';

const SANDBOX_BIN =
  process.env.SANDBOX_BIN ||
  path.join(process.env.CARGO_TARGET_DIR || path.join(REPO_ROOT, 'target'), 'debug/video-handoff-sandbox');
const APP_ID = 'app-server-test';
const skip = existsSync(SANDBOX_BIN) ? false : `sandbox not built (${SANDBOX_BIN})`;

let dir;
let sandbox;
let sandboxUrl;
let app;
const clients = [];

before(async () => {
  if (skip) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'app-sandbox-'));
  const adminToken = randomBytes(24).toString('hex');
  await run(SANDBOX_BIN, ['keygen', '--out', dir]);
  const appPort = await freePort();
  sandbox = spawn(SANDBOX_BIN, [
    '--port', '0',
    '--application-id', APP_ID,
    '--public-key-file', path.join(dir, 'public.pem'),
    '--callback-url', `http://127.0.0.1:${appPort}/callbacks`,
  ], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SANDBOX_ADMIN_TOKEN: adminToken } });
  sandboxUrl = await new Promise((resolve, reject) => {
    let out = '';
    sandbox.stdout.on('data', (d) => {
      out += d;
      const m = /sandbox listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    sandbox.on('exit', (code) => reject(new Error(`sandbox exited (${code})`)));
  });
  app = await startApp({
    videoHost: sandboxUrl,
    privateKey: await readFile(path.join(dir, 'private.key'), 'utf8'),
    applicationId: APP_ID,
    port: appPort,
    env: { SANDBOX_ADMIN_TOKEN: adminToken },
  });
});

after(async () => {
  for (const c of clients) c.terminate();
  await app?.close();
  if (sandbox && sandbox.exitCode === null) {
    sandbox.kill('SIGTERM');
    await new Promise((r) => sandbox.once('exit', r));
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A client of the sandbox (the vendor protocol, no media), connected with `token`. */
async function connectClient(sessionId, token) {
  const client = await connectVendor({ sandboxUrl, applicationId: APP_ID, sessionId, token });
  clients.push(client);
  return client;
}

const handoffs = (client) => client.signals.filter((s) => s.type === 'handoff');

async function join(room, name) {
  const r = await app.post(`/api/rooms/${room}/join`, { name, id: `tab-${name}-0001` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { ...r.body, client: await connectClient(r.body.sessionId, r.body.token) };
}

async function rotate(room, noticeMs) {
  const r = await app.post(`/api/rooms/${room}/rotate`, { noticeMs });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

test('rotation through the sandbox: each client gets its own token for the new session', { skip }, async () => {
  const people = [await join('sbx1', 'ada'), await join('sbx1', 'grace'), await join('sbx1', 'linus')];
  const old = people[0].sessionId;
  // The app server learns the connections from the sandbox's callbacks.
  await waitFor(() => app.rooms.describeSession(old)?.connections === 3);

  const before = Date.now();
  await rotate('sbx1', 3000);
  for (const p of people) await waitFor(() => handoffs(p.client).length === 1);
  const next = app.rooms.currentSession('sbx1');
  assert.notEqual(next, old);

  const ids = new Set();
  for (const p of people) {
    const [signal] = handoffs(p.client);
    assert.equal(signal.from, null, 'sent through the REST API');
    const payload = JSON.parse(signal.data);
    assert.equal(payload.v, 1);
    assert.equal(payload.sessionId, next);
    assert.equal(payload.reason, 'serverRotation');
    assert.ok(payload.deadline >= before + 3000 - 50 && payload.deadline <= Date.now() + 3000, `deadline ${payload.deadline}`);
    assert.equal(jwtClaims(payload.token).connection_data, p.data);
    ids.add(payload.id);
    // The token works: the client joins the new session with it, as the same participant.
    const moved = await connectClient(next, payload.token);
    assert.ok(moved.connectionId);
  }
  assert.equal(ids.size, 1);

  // A client that connects to the old session after the signals gets the same signal.
  const late = await app.post('/api/rooms/sbx1/join', { name: 'late', id: 'tab-late-0001' });
  assert.equal(late.body.sessionId, next, 'new joins go to the new session');
  const lateToken = app.rooms.token(old, late.body.data);
  const lateClient = await connectClient(old, lateToken);
  await waitFor(() => handoffs(lateClient).length === 1);
  assert.equal(JSON.parse(handoffs(lateClient)[0].data).sessionId, next);

  // At the deadline the sandbox destroys the old session; the app server forgets it.
  await waitFor(() => app.rooms.describeSession(old) === null, 8000);
  for (const p of people) {
    assert.equal(p.client.disconnected?.reason, 'serverRotation');
    assert.equal(handoffs(p.client).length, 1, 'one signal per client');
  }
});

test('a repeated notification from the platform starts no second move', { skip }, async () => {
  const p = await join('sbx2', 'ada');
  await waitFor(() => app.rooms.describeSession(p.sessionId)?.connections === 1);
  await rotate('sbx2', 4000);
  await waitFor(() => handoffs(p.client).length === 1);
  const next = app.rooms.currentSession('sbx2');
  // The platform notifies more than once (hours before, then again): replay the notification.
  const again = await app.post('/callbacks', callback('sessionNotification', p.sessionId, {
    reason: 'serverRotation', remainingTime: 2000,
  }));
  assert.equal(again.body.outcome, 'duplicate');
  await app.rooms.idle();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(handoffs(p.client).length, 1);
  assert.equal(app.rooms.currentSession('sbx2'), next);
});

test('a malformed callback changes nothing for a live room', { skip }, async () => {
  const p = await join('sbx3', 'ada');
  const r = await app.post('/callbacks', { sessionId: p.sessionId, event: 'sessionNotification', timestamp: Date.now() });
  assert.equal(r.status, 400);
  await app.rooms.idle();
  assert.equal(app.rooms.currentSession('sbx3'), p.sessionId);
  assert.equal(handoffs(p.client).length, 0);
});

async function waitFor(fn, timeout = 5000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${fn}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}`))));
  });
}
