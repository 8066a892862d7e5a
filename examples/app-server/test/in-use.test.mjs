// Issue 19: nothing a room needs expires while it is in use, and nothing grows without bound.
// Each test reproduces one finding (it failed before the fix). The store's TTL is shortened to
// 1.5 s here (ROOM_TTL_S itself is at least 60 s); the soak script runs the real 60 s.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeVideoApi } from './fake-video-api.mjs';
import { startApp, devKeys, callback, newSecret } from './helpers.mjs';
import { startRedis } from './redis-server.mjs';
import { signCallback } from '../src/signed-callbacks.js';

const keys = devKeys();
const applicationId = 'a1b2c3d4-0000-4000-8000-000000000019';
const TTL_S = 1.5;
const PAST_TTL_MS = 2100;
let api;
let redis;

before(async () => {
  api = await startFakeVideoApi({ publicKey: keys.publicKey, applicationId });
  redis = await startRedis();
});
after(async () => {
  await api.close();
  await redis?.stop();
});

function notice(sessionId) {
  return callback('sessionNotification', sessionId, { reason: 'serverRotation', remainingTime: 60_000 });
}

for (const storeKind of ['memory', 'redis']) {
  describe(`on the ${storeKind} store`, () => {
    let app;
    beforeEach(async (t) => {
      api.reset();
      app = await startApp({
        videoHost: api.url,
        privateKey: keys.privateKey,
        applicationId,
        redisUrl: storeKind === 'redis' ? redis.url : undefined,
        storeTtlS: TTL_S,
      });
      t.after(() => app.close());
    });

    async function joinAndConnect(browser, room, name, connectionId) {
      const joined = await browser.post(`/api/rooms/${room}/join`, { name, id: `tab-${name}-0019` });
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
      const cb = await app.callback(callback('connectionCreated', joined.body.sessionId, {
        connection: { id: connectionId, createdAt: Date.now(), data: joined.body.data },
      }));
      assert.equal(cb.body.outcome, 'connectionAdded');
      return joined.body;
    }

    test('finding 1: a room with a live connection keeps its session past the TTL, and its rotation is performed', async () => {
      const ada = await joinAndConnect(app.browser(), 'busy', 'ada', 'conn-ada');
      await sleep(PAST_TTL_MS);
      const grace = await app.browser().post('/api/rooms/busy/join', { name: 'grace' });
      assert.equal(grace.body.sessionId, ada.sessionId, 'the room did not split');
      assert.equal(api.created.length, 1);
      const r = await app.callback(notice(ada.sessionId));
      assert.equal(r.body.outcome, 'moveStarted', 'the rotation is not ignored');
      await app.rooms.idle();
      assert.equal(api.signals.filter((s) => s.connectionId === 'conn-ada').length, 1, 'ada got her handoff');
      // The moved room's records stay while ada is live in the old session.
      await sleep(PAST_TTL_MS);
      assert.equal((await app.callback(notice(ada.sessionId))).body.outcome, 'duplicate', 'the move is remembered');
      assert.equal(api.created.length, 2, 'one replacement session');
    });

    test('finding 1: joins and token requests keep a room without connections alive; an unused one expires', async () => {
      const browser = app.browser();
      const joined = await browser.post('/api/rooms/warm/join', { name: 'ada', id: 'tab-ada-0019' });
      for (let i = 0; i < 3; i++) {
        await sleep(TTL_S * 600);
        const t = await browser.get(`/api/rooms/warm/token?sessionId=${encodeURIComponent(joined.body.sessionId)}&id=tab-ada-0019`);
        assert.equal(t.status, 200, JSON.stringify(t.body));
      }
      assert.equal((await app.get('/api/rooms/warm')).body.sessionId, joined.body.sessionId);
      await sleep(PAST_TTL_MS);
      assert.equal((await app.get('/api/rooms/warm')).body.sessionId, null, 'unused, it expires');
    });

    test('finding 2: a live participant keeps its identity; nobody else can take the ID; after leaving it expires', async () => {
      const victim = app.browser();
      const ada = await joinAndConnect(victim, 'ids', 'ada', 'conn-ada');
      await sleep(PAST_TTL_MS);
      const token = await victim.get(`/api/rooms/ids/token?sessionId=${encodeURIComponent(ada.sessionId)}&id=tab-ada-0019`);
      assert.equal(token.status, 200, `the victim still gets tokens: ${JSON.stringify(token.body)}`);
      const stranger = await app.browser().post('/api/rooms/ids/join', { name: 'ada', id: 'tab-ada-0019' });
      assert.equal(stranger.status, 403);
      assert.equal(stranger.body.error, 'idTaken', 'an ID held by a live connection is never reassigned');
      const again = await victim.post('/api/rooms/ids/join', { name: 'ada', id: 'tab-ada-0019' });
      assert.equal(again.status, 200, 'the victim may re-join');
      // The connection leaves: the binding expires TTL after its last use, and the ID is free.
      await app.callback(callback('connectionDestroyed', ada.sessionId, { connection: { id: 'conn-ada', data: ada.data } }));
      await sleep(PAST_TTL_MS);
      assert.equal((await app.browser().post('/api/rooms/ids/join', { name: 'eve', id: 'tab-ada-0019' })).status, 200);
    });

    test('finding 2: a live connection pins the ID even when the session ends without connectionDestroyed... until sessionDestroyed', async () => {
      const ada = await joinAndConnect(app.browser(), 'ended', 'ada', 'conn-ada');
      await sleep(PAST_TTL_MS);
      assert.equal((await app.browser().post('/api/rooms/ended/join', { name: 'x', id: 'tab-ada-0019' })).body.error, 'idTaken');
      await app.callback(callback('sessionDestroyed', ada.sessionId, {}));
      await sleep(PAST_TTL_MS);
      assert.equal((await app.browser().post('/api/rooms/ended/join', { name: 'x', id: 'tab-ada-0019' })).status, 200, 'unpinned');
    });

    test('finding 3: a delivery that fails with a 5xx does not spend its jti: the retry is applied', async () => {
      const joined = await app.post('/api/rooms/retry/join', { name: 'ada' });
      const body = callback('connectionCreated', joined.body.sessionId, { connection: { id: 'conn-1', data: joined.body.data } });
      const rawBody = Buffer.from(JSON.stringify(body));
      const authorization = signCallback({ rawBody, secret: app.signatureSecret, applicationId });
      const original = app.store.addConnection;
      app.store.addConnection = async () => {
        throw new Error('store down');
      };
      const failed = await app.callback(body, { authorization });
      app.store.addConnection = original;
      assert.equal(failed.status, 500);
      const retried = await app.callback(body, { authorization });
      assert.equal(retried.status, 200);
      assert.equal(retried.body.outcome, 'connectionAdded', 'the same signed request, retried, is applied');
      const replay = await app.callback(body, { authorization });
      assert.equal(replay.body.outcome, 'replayedDelivery', 'once handled, it is a replay');
    });

    test('finding 3: the jti is kept until exp plus the skew', async () => {
      const seen = [];
      const original = app.store.claimDelivery.bind(app.store);
      app.store.claimDelivery = (jti, ttlMs) => {
        seen.push(ttlMs);
        return original(jti, ttlMs);
      };
      const nowS = Math.floor(Date.now() / 1000);
      const body = callback('ping', 's-unknown');
      const rawBody = Buffer.from(JSON.stringify(body));
      await app.callback(body, { authorization: signCallback({ rawBody, secret: app.signatureSecret, applicationId, nowS, claims: { exp: nowS + 500 } }) });
      assert.equal(seen.length, 1);
      assert.ok(Math.abs(seen[0] - ((nowS + 500 + 30) * 1000 - Date.now())) < 2000, `${seen[0]} ms`);
    });
  });
}

describe('finding 4: signed callbacks', () => {
  let app;
  before(async () => {
    app = await startApp({ videoHost: api.url, privateKey: keys.privateKey, applicationId });
  });
  after(() => app.close());

  test('exp - iat is capped: a token issued 10 days ago that expires in 10 years is refused', async () => {
    const body = callback('ping', 's-unknown');
    const rawBody = Buffer.from(JSON.stringify(body));
    const nowS = Math.floor(Date.now() / 1000);
    const long = signCallback({ rawBody, secret: app.signatureSecret, applicationId, nowS: nowS - 10 * 86400, claims: { exp: nowS + 10 * 365 * 86400 } });
    const r = await app.callback(body, { authorization: long });
    assert.equal(r.status, 401);
    assert.match(r.body.message, /longer than/);
    const minutes = signCallback({ rawBody, secret: app.signatureSecret, applicationId, claims: { exp: nowS + 600 } });
    assert.equal((await app.callback(body, { authorization: minutes })).status, 200, 'ten minutes is accepted');
  });

  test('a string jti is required: without one (or with a number) the delivery is refused, never processed three times', async () => {
    const body = callback('ping', 's-unknown');
    const rawBody = Buffer.from(JSON.stringify(body));
    for (const jti of [undefined, 7, '']) {
      const authorization = signCallback({ rawBody, secret: app.signatureSecret, applicationId, claims: { jti } });
      for (let i = 0; i < 3; i++) {
        const r = await app.callback(body, { authorization });
        assert.equal(r.status, 401, String(jti));
        assert.match(r.body.message, /jti/);
      }
    }
  });
});

describe('finding 5: rate limits and the demo controls', () => {
  test('300 cookie-less joins to new rooms in a burst: at most NEW_ROOM_LIMIT_PER_MIN sessions, counted across two instances', async () => {
    api.reset();
    const prefix = `rl-${newSecret()}:`;
    const cookieSecret = newSecret() + newSecret();
    const env = { JOIN_LIMIT_PER_MIN: '1000' };
    const [a, b] = await Promise.all([0, 1].map(() =>
      startApp({ videoHost: api.url, privateKey: keys.privateKey, applicationId, redisUrl: redis.url, prefix, cookieSecret, env })));
    try {
      const answers = [];
      for (let i = 0; i < 300; i++) {
        answers.push((await (i % 2 ? a : b).browser().post(`/api/rooms/flood-${i}/join`, { name: 'bot' })).status);
      }
      assert.equal(answers.filter((s) => s === 200).length, 10, 'the default: 10 new rooms a minute per client, whichever instance');
      assert.equal(answers.filter((s) => s === 429).length, 290);
      assert.equal(api.created.length, 10);
      // Joining a room that exists is not room creation.
      assert.equal((await a.browser().post('/api/rooms/flood-0/join', { name: 'ada' })).status, 200);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('joins are limited per client: the 31st join in a minute gets 429 rateLimited', async () => {
    api.reset();
    const app = await startApp({ videoHost: api.url, privateKey: keys.privateKey, applicationId });
    try {
      const browser = app.browser();
      for (let i = 0; i < 30; i++) {
        assert.equal((await browser.post('/api/rooms/busy/join', { name: 'ada' })).status, 200, `join ${i}`);
      }
      const r = await browser.post('/api/rooms/busy/join', { name: 'ada' });
      assert.equal(r.status, 429);
      assert.equal(r.body.error, 'rateLimited');
      assert.ok(Number(r.headers.get('retry-after')) > 0);
    } finally {
      await app.close();
    }
  });

  test('rotate and latency: only a member of the room, from the browser it joined with', async () => {
    api.reset();
    const app = await startApp({
      videoHost: api.url,
      privateKey: keys.privateKey,
      applicationId,
      env: { SANDBOX_ADMIN_URL: 'http://127.0.0.1:9', SANDBOX_ADMIN_TOKEN: newSecret() }, // nothing listens: 502
    });
    try {
      const ada = app.browser();
      await ada.post('/api/rooms/mine/join', { name: 'ada', id: 'tab-ada-0019' });
      const eve = app.browser();
      await eve.post('/api/rooms/other/join', { name: 'eve', id: 'tab-eve-0019' });
      const refused = [
        [app.browser(), '/api/rooms/mine/rotate', { id: 'tab-ada-0019' }],
        [eve, '/api/rooms/mine/rotate', { id: 'tab-ada-0019' }],
        [eve, '/api/rooms/mine/rotate', { id: 'tab-eve-0019' }],
        [app.browser(), '/api/sandbox/latency', { latencyMs: 100, room: 'mine', id: 'tab-ada-0019' }],
        [eve, '/api/sandbox/latency', { latencyMs: 100, room: 'mine', id: 'tab-eve-0019' }],
      ];
      for (const [who, path, body] of refused) {
        const r = await who.post(path, body);
        assert.equal(r.status, 403, `${path} ${JSON.stringify(body)}`);
        assert.equal(r.body.error, 'notAMember');
      }
      // A member passes the check (no sandbox listens there: 502 sandboxUnreachable).
      assert.equal((await ada.post('/api/rooms/mine/rotate', { id: 'tab-ada-0019' })).status, 502);
      assert.equal((await ada.post('/api/sandbox/latency', { latencyMs: 100, room: 'mine', id: 'tab-ada-0019' })).status, 502);
    } finally {
      await app.close();
    }
  });
});
