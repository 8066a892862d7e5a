// The two stores answer alike, decide once under concurrency, and let every record expire.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { MemoryStore } from '../src/store/memory.js';
import { RedisStore } from '../src/store/redis.js';
import { startRedis } from './redis-server.mjs';

let redis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

const TTL_MS = 60_000;

async function stores() {
  const prefix = `store-test-${randomUUID()}:`;
  return [
    ['memory', new MemoryStore({ ttlMs: TTL_MS })],
    ['redis', await RedisStore.connect({ url: redis.url, prefix, ttlMs: TTL_MS }), prefix],
  ];
}

test('both stores: one room session, one move, one signal per connection, even when asked at once', async () => {
  for (const [kind, store] of await stores()) {
    const opened = await Promise.all(['s1', 's2', 's3'].map((sid) => store.openRoom('room', sid)));
    assert.deepEqual(new Set(opened), new Set(['s1']), kind);
    await store.addSession('s1', 'room');
    const claims = await Promise.all([1, 2, 3, 4].map((i) => store.claimMove('s1', { id: `m${i}`, deadline: 1764120000123 }, 1000)));
    assert.equal(claims.filter(Boolean).length, 1, kind);
    const winner = `m${claims.indexOf(true) + 1}`;
    assert.equal(await store.finishMove('s1', 'other', 's9', 'room'), false, `${kind}: a lost claim cannot finish`);
    assert.equal(await store.finishMove('s1', winner, 's2', 'room'), true, kind);
    assert.equal(await store.currentSession('room'), 's2', kind);
    assert.deepEqual(await store.getMove('s1'), { id: winner, deadline: 1764120000123, to: 's2' }, `${kind}: the deadline survives exactly`);
    assert.deepEqual(await store.sessionInfo('s2'), { room: 'room' }, kind);
    const signals = await Promise.all([1, 2, 3].map(() => store.claimSignal('s1', 'c1')));
    assert.equal(signals.filter(Boolean).length, 1, kind);
    await store.releaseSignal('s1', 'c1');
    assert.equal(await store.claimSignal('s1', 'c1'), true, `${kind}: released, it can be claimed again`);
    // Out of order: destroyed before created.
    await store.removeConnection('s1', 'c2');
    assert.equal(await store.addConnection('s1', 'c2', 'd'), 'gone', kind);
    assert.equal(await store.addConnection('s1', 'c3', 'd3'), 'added', kind);
    assert.deepEqual([...(await store.connections('s1'))], [['c3', 'd3']], kind);
    assert.equal(await store.bindParticipant('p1', 'b1', 'Ada', 'room'), 'ok', kind);
    assert.equal(await store.bindParticipant('p1', 'b2', 'Eve', 'room'), 'taken', kind);
    assert.deepEqual(await store.participant('p1'), { browser: 'b1', name: 'Ada', room: 'room' }, kind);
    // An ID held by a live connection is taken even with no binding recorded.
    await store.addConnection('s1', 'c4', 'd4', { room: 'room', participant: 'p2' });
    assert.equal(await store.bindParticipant('p2', 'b2', 'Eve', 'room'), 'taken', kind);
    await store.removeConnection('s1', 'c4', { room: 'room', participant: 'p2' });
    assert.equal(await store.bindParticipant('p2', 'b2', 'Eve', 'room'), 'ok', `${kind}: free once the connection left`);
    assert.equal(await store.claimDelivery('j1', 1000), true, kind);
    assert.equal(await store.claimDelivery('j1', 1000), false, kind);
    await store.forgetSession('s1', 'room');
    assert.equal(await store.sessionInfo('s1'), null, kind);
    assert.equal(await store.currentSession('room'), 's2', `${kind}: forgetting an old session keeps the room's current one`);
    await store.close();
  }
});

test('every Redis key expires once no connection is live; while one is, its records are pinned', async () => {
  const [, [, store, prefix]] = await stores();
  await store.openRoom('r', 's1');
  await store.addSession('s1', 'r');
  await store.bindParticipant('p', 'b', 'n', 'r');
  await store.addConnection('s1', 'c1', 'd', { room: 'r', participant: 'p' });
  {
    const client = createClient({ url: redis.url });
    await client.connect();
    for (const k of ['room:r', 'session:s1', 'conns:s1', 'participant:p', 'live:room:r', 'live:participant:p']) {
      assert.equal(await client.pTTL(`${prefix}${k}`), -1, `${k} is pinned while c1 is live`);
    }
    await client.close();
  }
  await store.removeConnection('s1', 'c1', { room: 'r', participant: 'p' });
  await store.addConnection('s1', 'c2', 'd');
  await store.removeConnection('s1', 'c2');
  await store.removeConnection('s1', 'c0');
  await store.claimMove('s1', { id: 'm' }, 5000);
  await store.finishMove('s1', 'm', 's2', 'r');
  await store.claimSignal('s1', 'c1');
  await store.claimDelivery('j', 5000);
  await store.bindParticipant('p', 'b', 'n');
  await store.close();
  const client = createClient({ url: redis.url });
  await client.connect();
  const keys = await client.keys(`${prefix}*`);
  assert.equal(keys.length, 8, keys.join(' '));
  for (const key of keys) {
    const ttl = await client.pTTL(key);
    assert.ok(ttl > 0 && ttl <= TTL_MS, `${key}: ${ttl}`);
  }
  await client.close();
});

test('memory records expire after the TTL since their last write', async () => {
  let now = 1_000_000;
  const store = new MemoryStore({ ttlMs: TTL_MS, now: () => now });
  await store.openRoom('r', 's1');
  await store.addSession('s1', 'r');
  now += TTL_MS - 1;
  await store.addSession('s1', 'r'); // refreshed
  assert.equal(await store.currentSession('r'), 's1');
  now += 2;
  assert.equal(await store.currentSession('r'), null, 'the room expired');
  assert.deepEqual(await store.sessionInfo('s1'), { room: 'r', rotation: 'handoff' }, 'the refreshed session did not');
  now += TTL_MS;
  assert.equal(await store.sessionInfo('s1'), null);
  await store.close();
});
