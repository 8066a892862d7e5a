// The callback handler against a stand-in REST API: real HTTP callbacks in (signed), real
// REST calls (made by @vonage/video) out. Every scenario runs twice: on the memory store and
// on a real redis-server. The same scenarios run against the sandbox in sandbox.test.mjs.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeVideoApi, jwtClaims } from './fake-video-api.mjs';
import { startApp, devKeys, callback } from './helpers.mjs';
import { startRedis } from './redis-server.mjs';

const keys = devKeys();
const applicationId = 'a1b2c3d4-0000-4000-8000-000000000001';
let api;
let redis;
let app;

before(async () => {
  api = await startFakeVideoApi({ publicKey: keys.publicKey, applicationId });
  redis = await startRedis();
});
after(async () => {
  await api.close();
  await redis?.stop();
});

for (const storeKind of ['memory', 'redis']) {
describe(`on the ${storeKind} store`, () => {
beforeEach(async (t) => {
  api.reset();
  app = await startApp({
    videoHost: api.url,
    privateKey: keys.privateKey,
    applicationId,
    redisUrl: storeKind === 'redis' ? redis.url : undefined,
  });
  t.after(() => app.close());
});

/** Given a room with these participants connected (as the platform reports them). */
async function roomWith(room, names) {
  const people = [];
  for (const [i, name] of names.entries()) {
    const joined = await app.post(`/api/rooms/${room}/join`, { name, id: `tab-${name}-0001` });
    assert.equal(joined.status, 200);
    const connectionId = `conn-${name}-${i}`;
    const cb = await app.callback(callback('connectionCreated', joined.body.sessionId, {
      connection: { id: connectionId, createdAt: Date.now(), data: joined.body.data },
    }));
    assert.equal(cb.status, 200);
    people.push({ name, connectionId, data: joined.body.data, sessionId: joined.body.sessionId });
  }
  return { sessionId: people[0].sessionId, people };
}

function rotationNotice(sessionId, timestamp, remainingTime = 5000) {
  return callback('sessionNotification', sessionId, { timestamp, reason: 'serverRotation', remainingTime });
}

test('a participant who joins gets a token for the room session carrying their identity', async () => {
  const joined = await app.post('/api/rooms/standup/join', { name: '  Ada <b>L</b>  ' });
  assert.equal(joined.status, 200);
  assert.equal(joined.body.identity.name, 'Ada <b>L</b>');
  const claims = jwtClaims(joined.body.token);
  assert.equal(claims.session_id, joined.body.sessionId);
  assert.equal(claims.application_id, applicationId);
  assert.deepEqual(JSON.parse(claims.connection_data), joined.body.identity);
  const again = await app.post('/api/rooms/standup/join', { name: 'Grace' });
  assert.equal(again.body.sessionId, joined.body.sessionId, 'one session per room');
  assert.equal(api.created.length, 1);
});

test('bad names and room names are refused before anything is created', async () => {
  for (const body of [{}, { name: '' }, { name: 'a\u0000b' }, { name: 'x'.repeat(65) }, { name: 'a\u202Eb' }, { name: 7 }]) {
    const r = await app.post('/api/rooms/ok/join', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error, 'badName');
  }
  for (const room of ['a%20b', 'x'.repeat(65), 'a%2Fb', 'r%C3%A9']) {
    const r = await app.post(`/api/rooms/${room}/join`, { name: 'Ada' });
    assert.equal(r.status, 400, room);
    assert.equal(r.body.error, 'badRoom');
  }
  assert.equal((await app.post('/api/rooms/ok/join', { name: 'Ada', id: 'short' })).status, 400);
  assert.equal(api.created.length, 0);
});

test('malformed callbacks get a 400 with a reason and change nothing', async () => {
  const { sessionId } = await roomWith('r1', ['ada']);
  const bad = [
    ['not json', '{"sessionId":'],
    ['array', []],
    ['no sessionId', { event: 'connectionCreated', timestamp: 1 }],
    ['no event', { sessionId, timestamp: 1 }],
    ['no timestamp', { sessionId, event: 'connectionCreated', connection: { id: 'c', data: '' } }],
    ['no connection', callback('connectionCreated', sessionId)],
    ['connection without id', callback('connectionCreated', sessionId, { connection: { data: 'x' } })],
    ['data not a string', callback('connectionCreated', sessionId, { connection: { id: 'c9', data: {} } })],
    ['stream without id', callback('streamCreated', sessionId, { stream: {} })],
    ['notification without reason', callback('sessionNotification', sessionId, { remainingTime: 5 })],
    ['negative remaining time', callback('sessionNotification', sessionId, { reason: 'serverRotation', remainingTime: -1 })],
    ['remaining time as text', callback('sessionNotification', sessionId, { reason: 'serverRotation', remainingTime: '5' })],
    ['destroyed with numeric reason', callback('sessionDestroyed', sessionId, { reason: 3 })],
  ];
  for (const [what, body] of bad) {
    const r = await app.callback(body);
    assert.equal(r.status, 400, what);
    assert.ok(['badCallback', 'badJson'].includes(r.body.error), what);
    assert.ok(r.body.message, what);
  }
  const textPlain = await app.post('/callbacks', JSON.stringify(rotationNotice(sessionId, Date.now())), { 'content-type': 'text/plain' });
  assert.equal(textPlain.status, 415);
  const huge = await app.callback(JSON.stringify({ ...callback('streamCreated', sessionId), pad: 'x'.repeat(70_000) }));
  assert.equal(huge.status, 413);
  await app.rooms.idle();
  assert.equal(api.created.length, 1, 'no session created by a bad callback');
  assert.equal(api.signals.length, 0, 'no signal sent by a bad callback');
  assert.equal(await app.rooms.currentSession('r1'), sessionId);
  assert.equal((await app.rooms.describeSession(sessionId)).connections, 1);
});

test('rotation: one new session, and each connection gets its own token and the deadline', async () => {
  const { sessionId: old, people } = await roomWith('r2', ['ada', 'grace', 'linus']);
  const ts = Date.now();
  const r = await app.callback(rotationNotice(old, ts, 5000));
  assert.equal(r.status, 200);
  await app.rooms.idle();

  assert.equal(api.created.length, 2, 'the room session, then its replacement');
  const next = api.created[1];
  assert.equal(await app.rooms.currentSession('r2'), next, 'the new session is the room current one');
  assert.equal((await app.get('/api/rooms/r2')).body.sessionId, next);

  assert.equal(api.signals.length, 3);
  const ids = new Set();
  for (const p of people) {
    const sent = api.signals.filter((s) => s.connectionId === p.connectionId);
    assert.equal(sent.length, 1, `one signal to ${p.name}`);
    assert.equal(sent[0].sessionId, old, 'sent through the old session');
    assert.equal(sent[0].type, 'handoff');
    const payload = JSON.parse(sent[0].data);
    assert.equal(payload.v, 1);
    assert.equal(payload.sessionId, next);
    assert.equal(payload.reason, 'serverRotation');
    assert.equal(payload.deadline, ts + 5000);
    ids.add(payload.id);
    const claims = jwtClaims(payload.token);
    assert.equal(claims.session_id, next, `${p.name}'s token is for the new session`);
    assert.equal(claims.connection_data, p.data, `${p.name}'s token carries ${p.name}'s identity verbatim`);
  }
  assert.equal(ids.size, 1, 'one move id for the whole room');
  assert.ok(!app.lines.some((l) => /eyJ/.test(l)), 'no token in the logs');
});

test("a room of the vendor's migration keeps its session at a rotation, and takes joins of its own kind only", async () => {
  const first = await app.post('/api/rooms/vm/join', { name: 'ada', id: 'tab-ada-vm01', rotation: 'migrate' });
  assert.equal(first.status, 200);
  assert.equal(first.body.rotation, 'migrate');
  const sid = first.body.sessionId;
  const cb = await app.callback(callback('connectionCreated', sid, { connection: { id: 'conn-ada', createdAt: Date.now(), data: first.body.data } }));
  assert.equal(cb.status, 200);
  const other = await app.post('/api/rooms/vm/join', { name: 'grace', id: 'tab-grace-vm01' });
  assert.equal(other.status, 409, 'a client the app server would move joins a room whose clients move themselves');
  assert.equal(other.body.error, 'otherRotation');
  assert.equal(other.body.rotation, 'migrate');
  const same = await app.post('/api/rooms/vm/join', { name: 'grace', id: 'tab-grace-vm02', rotation: 'migrate' });
  assert.equal(same.status, 200);
  assert.equal(same.body.sessionId, sid);

  const r = await app.callback(rotationNotice(sid, Date.now(), 5000));
  assert.equal(r.status, 200);
  assert.equal(r.body.outcome, 'clientsMigrate');
  await app.rooms.idle();
  assert.equal(api.created.length, 1, 'no replacement session');
  assert.equal(api.signals.length, 0, 'no handoff signal');
  assert.equal(await app.rooms.currentSession('vm'), sid, 'the session ID stays');
  const handoff = await app.post('/api/rooms/h1/join', { name: 'linus', id: 'tab-linus-h001', rotation: 'handoff' });
  assert.equal(handoff.status, 200);
  assert.equal((await app.post('/api/rooms/h1/join', { name: 'ada', id: 'tab-ada-h0001', rotation: 'migrate' })).status, 409);
  assert.equal((await app.post('/api/rooms/h1/join', { name: 'ada', id: 'tab-ada-h0001', rotation: 'teleport' })).status, 400);
});

test('duplicate notifications, concurrent or later, start nothing twice', async () => {
  const { sessionId: old } = await roomWith('r3', ['ada', 'grace']);
  const ts = Date.now();
  const answers = await Promise.all([1, 2, 3].map(() => app.callback(rotationNotice(old, ts))));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
  await app.rooms.idle();
  const again = await app.callback(rotationNotice(old, ts + 1000, 4000));
  assert.equal(again.body.outcome, 'duplicate');
  await app.rooms.idle();
  assert.equal(api.created.length, 2);
  assert.equal(api.signals.length, 2);
});

test('a client connecting to the old session after the move gets the same signal', async () => {
  const { sessionId: old } = await roomWith('r4', ['ada']);
  const ts = Date.now();
  await app.callback(rotationNotice(old, ts));
  await app.rooms.idle();
  const next = await app.rooms.currentSession('r4');

  // A client that fetched its token before the move connects to the old session now.
  const lateData = JSON.stringify({ id: 'tab-late-0001', name: 'late' });
  const r = await app.callback(callback('connectionCreated', old, { connection: { id: 'conn-late', data: lateData } }));
  assert.equal(r.body.outcome, 'lateConnectionSignaled');
  await app.rooms.idle();
  const late = api.signals.filter((s) => s.connectionId === 'conn-late');
  assert.equal(late.length, 1);
  const payload = JSON.parse(late[0].data);
  assert.equal(payload.sessionId, next);
  assert.equal(payload.deadline, ts + 5000);
  assert.equal(jwtClaims(payload.token).connection_data, lateData);

  // The same connection reported twice is still signaled once.
  await app.callback(callback('connectionCreated', old, { connection: { id: 'conn-late', data: lateData } }));
  await app.rooms.idle();
  assert.equal(api.signals.filter((s) => s.connectionId === 'conn-late').length, 1);
});

test('a connection that left before the notification is not signaled', async () => {
  const { sessionId: old, people } = await roomWith('r5', ['ada', 'grace']);
  await app.callback(callback('connectionDestroyed', old, {
    connection: { id: people[1].connectionId, data: people[1].data }, reason: 'clientDisconnected',
  }));
  await app.callback(rotationNotice(old, Date.now()));
  await app.rooms.idle();
  assert.deepEqual(api.signals.map((s) => s.connectionId), [people[0].connectionId]);
});

test('the token endpoint serves the current session only, with a reason otherwise', async () => {
  const { sessionId: old } = await roomWith('r6', ['ada']);
  const q = (sid) => `/api/rooms/r6/token?sessionId=${encodeURIComponent(sid)}&name=ada&id=tab-ada-0001`;
  const ok = await app.get(q(old));
  assert.equal(ok.status, 200);
  assert.equal(jwtClaims(ok.body.token).session_id, old);
  assert.equal(JSON.parse(jwtClaims(ok.body.token).connection_data).name, 'ada');

  await app.callback(rotationNotice(old, Date.now()));
  await app.rooms.idle();
  const next = await app.rooms.currentSession('r6');
  assert.equal((await app.get(q(next))).status, 200, 'the session the room moves to');
  const stale = await app.get(q(old));
  assert.equal(stale.status, 403);
  assert.equal(stale.body.error, 'notCurrentSession');
  assert.equal(stale.body.currentSessionId, next);
  assert.equal((await app.get(q('2_nope'))).status, 404);
  await roomWith('other', ['bob']);
  const foreign = await app.get(`/api/rooms/other/token?sessionId=${encodeURIComponent(next)}&id=tab-bob-0001`);
  assert.equal(foreign.status, 403);
  assert.equal(foreign.body.error, 'otherRoom');
  assert.equal((await app.get('/api/rooms/nobody/token?sessionId=x&id=tab-ada-0001')).status, 404);
  assert.equal((await app.get(`/api/rooms/r6/token?sessionId=${encodeURIComponent(next)}`)).body.error, 'badId', 'an id is required');

  // Identity is the server's: another browser can neither take ada's id nor get her tokens.
  const mallory = app.browser();
  const claimed = await mallory.post('/api/rooms/r6/join', { name: 'ada', id: 'tab-ada-0001' });
  assert.equal(claimed.status, 403);
  assert.equal(claimed.body.error, 'idTaken');
  const stolen = await mallory.get(q(next));
  assert.equal(stolen.status, 403);
  assert.equal(stolen.body.error, 'notYourId');
  // A token carries the name recorded at join, whatever name the query claims.
  const renamed = await app.get(`/api/rooms/r6/token?sessionId=${encodeURIComponent(next)}&id=tab-ada-0001&name=Grace`);
  assert.equal(JSON.parse(jwtClaims(renamed.body.token).connection_data).name, 'ada');
});

test('sessionDestroyed after a rotation forgets the old session', async () => {
  const { sessionId: old } = await roomWith('r7', ['ada']);
  await app.callback(rotationNotice(old, Date.now()));
  await app.rooms.idle();
  const r = await app.callback(callback('sessionDestroyed', old, { reason: 'serverRotation' }));
  assert.equal(r.body.outcome, 'sessionForgotten');
  assert.equal(await app.rooms.describeSession(old), null);
  assert.notEqual(await app.rooms.currentSession('r7'), null);
  const after = await app.callback(callback('connectionCreated', old, { connection: { id: 'c', data: '' } }));
  assert.equal(after.body.outcome, 'unknownSession');
  await app.rooms.idle();
  assert.equal(api.signals.length, 1);
});

test('a rotation with no notice empties the room; the next join opens a new session', async () => {
  const { sessionId: old } = await roomWith('r8', ['ada']);
  await app.callback(callback('sessionDestroyed', old, { reason: 'serverRotation' }));
  assert.equal(await app.rooms.currentSession('r8'), null);
  const joined = await app.post('/api/rooms/r8/join', { name: 'ada' });
  assert.notEqual(joined.body.sessionId, old);
});

test('when creating the new session fails, a later notification tries again', async () => {
  const { sessionId: old } = await roomWith('r9', ['ada']);
  api.failNextCreates = 5; // every attempt of the first notification's move
  await app.callback(rotationNotice(old, Date.now()));
  await app.rooms.idle();
  assert.equal(api.signals.length, 0);
  assert.equal(await app.rooms.currentSession('r9'), old);
  const retry = await app.callback(rotationNotice(old, Date.now()));
  assert.equal(retry.body.outcome, 'moveStarted');
  await app.rooms.idle();
  assert.equal(api.signals.length, 1);
  assert.notEqual(await app.rooms.currentSession('r9'), old);
});

test('callbacks for sessions the app does not know, and unknown events, are acknowledged and ignored', async () => {
  const r = await app.callback(callback('sessionNotification', '2_elsewhere', { reason: 'serverRotation', remainingTime: 1 }));
  assert.equal(r.status, 200);
  assert.equal(r.body.outcome, 'unknownSession');
  const { sessionId } = await roomWith('r10', ['ada']);
  const future = await app.callback(callback('somethingNew', sessionId, { x: 1 }));
  assert.equal(future.status, 200);
  assert.equal(future.body.outcome, 'ignored');
});

test('a notification without a remaining time sends no deadline', async () => {
  const { sessionId: old } = await roomWith('r11', ['ada']);
  await app.callback(callback('sessionNotification', old, { reason: 'serverRotation' }));
  await app.rooms.idle();
  const payload = JSON.parse(api.signals[0].data);
  assert.equal(payload.deadline, undefined);
  assert.equal(payload.sessionId, await app.rooms.currentSession('r11'));
});

test('when the video API fails to create a room session, the join gets a 502 and can be retried', async () => {
  api.failNextCreates = 5;
  const failed = await app.post('/api/rooms/r12/join', { name: 'ada' });
  assert.equal(failed.status, 502);
  assert.equal(failed.body.error, 'videoApiFailed');
  const ok = await app.post('/api/rooms/r12/join', { name: 'ada' });
  assert.equal(ok.status, 200);
});

test('a 429 or 5xx from the REST API is retried (honouring Retry-After); another 4xx is not', async () => {
  const { sessionId: old, people } = await roomWith('r13', ['ada', 'grace', 'linus']);
  api.failNextCreates = 1; // the replacement session: one 500, then created
  // Signals: a 429 asking for 1 s, a 503, then a 404 (that connection is gone).
  api.signalFailures.push({ status: 429, retryAfter: 1 }, { status: 503 }, { status: 404 });
  const started = Date.now();
  await app.callback(rotationNotice(old, Date.now(), 30_000));
  await app.rooms.idle();
  const kinds = api.requests.filter((r) => r.at >= started).map((r) => `${r.kind} ${r.status}`);
  assert.deepEqual(kinds.slice(0, 2), ['createSession 500', 'createSession 200']);
  const signalled = new Set(api.signals.map((s) => s.connectionId));
  assert.equal(signalled.size, 2, 'two of three delivered; the 404 one is not retried');
  assert.equal(kinds.filter((k) => k === 'sendSignal 404').length, 1);
  assert.equal(app.api.calls.sendSignal, 3 + 2, 'three first tries, two retries');
  // The 429's connection waited for its Retry-After.
  const after429 = api.signals.map((s) => s.at - started).sort((a, b) => b - a)[0];
  assert.ok(after429 >= 1000, `retried after ${after429} ms`);
  assert.ok(people.some((p) => !signalled.has(p.connectionId)));
});

test('a signal that keeps failing with 5xx is given up after its attempts and retried at the next notice', async () => {
  const { sessionId: old } = await roomWith('r14', ['ada']);
  api.signalFailures.push(...Array.from({ length: 5 }, () => ({ status: 503 })));
  await app.callback(rotationNotice(old, Date.now(), 30_000));
  await app.rooms.idle();
  assert.equal(api.signals.length, 0);
  assert.ok(app.lines.some((l) => /failed after 5 attempt/.test(l)), app.lines.join('\n'));
  // The platform's second notice: the connection that was missed is signalled now.
  const second = await app.callback(rotationNotice(old, Date.now(), 7_500));
  assert.equal(second.body.outcome, 'duplicate');
  await app.rooms.idle();
  assert.equal(api.signals.length, 1);
});
});
}
