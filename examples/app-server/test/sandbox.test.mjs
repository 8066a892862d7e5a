// The app server as deployed, against the real sandbox: two instances sharing their rooms in a
// real redis-server, the sandbox's signed callbacks delivered round robin between them, each
// one twice and out of order, on the platform's two-notice schedule. Clients connect with the
// app's tokens (the sandbox's vendor-protocol client), the sandbox rotates the session, and each client receives
// exactly one handoff signal. Skipped when the sandbox binary is not built (SANDBOX_BIN).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, callback, devKeys, newSecret } from './helpers.mjs';
import { jwtClaims } from './fake-video-api.mjs';
import { startRedis, reservePort } from './redis-server.mjs';
import { startSandbox, sandboxMissing } from './sandbox-process.mjs';
import { connectClient } from '../../sandbox/tests/vendor-client.mjs';

const APP_ID = 'app-server-test';
const skip = sandboxMissing;

let redis;
let sandbox;
let a; // instance A
let b; // instance B
const clients = [];

before(async () => {
  if (skip) return;
  const keys = devKeys();
  const secret = newSecret();
  redis = await startRedis();
  // The instances' ports are named in the sandbox's configuration before they listen: held
  // until each listens (a port picked and let go was once given to a server started between).
  const held = [await reservePort(), await reservePort()];
  const ports = held.map((h) => h.port);
  sandbox = await startSandbox({
    applicationId: APP_ID,
    publicKey: keys.publicKey,
    callbackUrls: ports.map((p) => `http://127.0.0.1:${p}/callbacks`),
    secret,
    duplicates: true,
    reorder: true,
  });
  const shared = {
    videoHost: sandbox.url,
    privateKey: keys.privateKey,
    applicationId: APP_ID,
    signatureSecret: secret,
    cookieSecret: newSecret() + newSecret(),
    redisUrl: redis.url,
    prefix: 'sandbox-test:',
    env: { SANDBOX_ADMIN_TOKEN: sandbox.adminToken },
  };
  await held[0].release();
  a = await startApp({ ...shared, port: ports[0] });
  await held[1].release();
  b = await startApp({ ...shared, port: ports[1] });
});

after(async () => {
  for (const c of clients) c.terminate();
  await a?.close();
  await b?.close();
  await sandbox?.stop();
  await redis?.stop();
});

async function connect(sessionId, token) {
  const c = await connectClient({ sandboxUrl: sandbox.url, applicationId: APP_ID, sessionId, token });
  clients.push(c);
  return c;
}

const handoffs = (client) => client.signals.filter((s) => s.type === 'handoff');

/** Joins through `instance` (a browser of its own) and connects to the sandbox. */
async function join(instance, room, name) {
  const browser = instance.browser();
  const r = await browser.post(`/api/rooms/${room}/join`, { name, id: `tab-${name}-${room}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { ...r.body, browser, client: await connect(r.body.sessionId, r.body.token) };
}

async function sessionCount() {
  return (await sandbox.admin('GET', '/admin/state')).body.sessions.length;
}

test('a rotation through two instances on Redis, with every callback twice and out of order: one move, one signal per client', { skip }, async () => {
  // Joins through both instances: one room, one session.
  const people = [await join(a, 'sbx1', 'ada'), await join(b, 'sbx1', 'grace'), await join(a, 'sbx1', 'linus')];
  const old = people[0].sessionId;
  assert.ok(people.every((p) => p.sessionId === old), 'one session for the room, whichever instance');
  // Both instances learn the connections from callbacks that went to either of them.
  await waitFor(async () => (await a.rooms.describeSession(old))?.connections === 3);
  assert.equal((await b.rooms.describeSession(old)).connections, 3);
  const sessionsBefore = await sessionCount();

  const started = Date.now();
  const r = await people[1].browser.post('/api/rooms/sbx1/rotate', { noticeMs: 3000, id: people[1].identity.id });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  for (const p of people) await waitFor(() => handoffs(p.client).length === 1);
  const next = await a.rooms.currentSession('sbx1');
  assert.notEqual(next, old);
  assert.equal(await b.rooms.currentSession('sbx1'), next, 'both instances see the new session');

  const ids = new Set();
  for (const p of people) {
    const [signal] = handoffs(p.client);
    assert.equal(signal.from, null, 'sent through the REST API');
    const payload = JSON.parse(signal.data);
    assert.equal(payload.v, 1);
    assert.equal(payload.sessionId, next);
    assert.equal(payload.reason, 'serverRotation');
    assert.ok(Number.isInteger(payload.deadline), `deadline ${payload.deadline} is an integer`);
    assert.ok(payload.deadline >= started + 3000 - 100 && payload.deadline <= Date.now() + 3000, `deadline ${payload.deadline}`);
    assert.equal(jwtClaims(payload.token).connection_data, p.data);
    ids.add(payload.id);
    // The token works: the client joins the new session with it, as the same participant.
    const moved = await connect(next, payload.token);
    assert.ok(moved.connectionId);
  }
  assert.equal(ids.size, 1, 'one move for the room');

  // A client that connects to the old session after the signals gets the same signal.
  const late = await a.browser().post('/api/rooms/sbx1/join', { name: 'late', id: 'tab-late-0001' });
  assert.equal(late.body.sessionId, next, 'new joins go to the new session');
  const lateClient = await connect(old, a.rooms.token(old, late.body.data));
  await waitFor(() => handoffs(lateClient).length === 1);
  assert.equal(JSON.parse(handoffs(lateClient)[0].data).sessionId, next);

  // At the end the sandbox destroys the old session; both instances forget it.
  await waitFor(async () => (await a.rooms.describeSession(old)) === null, 10_000);
  assert.equal(await b.rooms.describeSession(old), null);
  const events = (await sandbox.admin('GET', `/admin/sessions/${encodeURIComponent(old)}/events`)).body.events;
  assert.equal(events.filter((e) => e.event === 'sessionNotification').length, 2, 'the platform notified twice');
  await Promise.all([a.rooms.idle(), b.rooms.idle()]);
  for (const p of [...people, { client: lateClient }]) {
    assert.equal(handoffs(p.client).length, 1, 'one signal per client, whatever arrived');
    assert.equal(p.client.disconnected?.reason, 'serverRotation', 'left in the old session: rotated out');
  }
  // Sessions: the 3 `moved` connections and the late one joined `next`; exactly one was created.
  assert.equal(await sessionCount(), sessionsBefore + 1, 'one new session for the old one');
  const moves = [...a.lines, ...b.lines].filter((l) => l.includes(`rotation of ${old.slice(0, 6)}`));
  assert.equal(moves.length, 1, `one move started across both instances: ${moves}`);
});

test('an unsigned or forged notification to either instance is refused and moves nobody', { skip }, async () => {
  const p = await join(b, 'sbx2', 'ada');
  await waitFor(async () => (await a.rooms.describeSession(p.sessionId))?.connections === 1);
  const sessionsBefore = await sessionCount();
  const notice = callback('sessionNotification', p.sessionId, { reason: 'serverRotation', remainingTime: 2000 });
  for (const instance of [a, b]) {
    const unsigned = await instance.callback(notice, { authorization: null });
    assert.equal(unsigned.status, 401);
    const forged = await instance.callback(notice, { secret: newSecret() });
    assert.equal(forged.status, 401);
  }
  await new Promise((r) => setTimeout(r, 300));
  await Promise.all([a.rooms.idle(), b.rooms.idle()]);
  assert.equal(await a.rooms.currentSession('sbx2'), p.sessionId);
  assert.equal(handoffs(p.client).length, 0);
  assert.equal(await sessionCount(), sessionsBefore, 'no session created');

  // A signed but malformed one: 400, nothing changes either.
  const bad = await a.callback({ sessionId: p.sessionId, event: 'sessionNotification', timestamp: Date.now() });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'badCallback');
  assert.equal(handoffs(p.client).length, 0);
});

async function waitFor(fn, timeout = 8000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${fn}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
