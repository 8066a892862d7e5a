// Only callbacks signed with the application's secret, over the exact body received, change
// anything. Each refused delivery below would, if accepted, start a move (a new session and a
// signal to the room's connection): the test checks that none did, then that the genuine one
// still does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startFakeVideoApi } from './fake-video-api.mjs';
import { startApp, devKeys, callback, newSecret } from './helpers.mjs';
import { signCallback, verifyCallback } from '../src/signed-callbacks.js';

const keys = devKeys();
const applicationId = 'a1b2c3d4-0000-4000-8000-000000000002';
let api;
let app;

before(async () => {
  api = await startFakeVideoApi({ publicKey: keys.publicKey, applicationId });
  app = await startApp({ videoHost: api.url, privateKey: keys.privateKey, applicationId });
});
after(async () => {
  await app.close();
  await api.close();
});

function b64(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

test('forged, unsigned, expired and other-body deliveries get a 401 and change nothing; the genuine one works', async () => {
  const joined = await app.post('/api/rooms/signed/join', { name: 'ada' });
  const old = joined.body.sessionId;
  const added = await app.callback(callback('connectionCreated', old, { connection: { id: 'conn-ada', data: joined.body.data } }));
  assert.equal(added.body.outcome, 'connectionAdded');
  const notice = callback('sessionNotification', old, { reason: 'serverRotation', remainingTime: 5000 });
  const raw = Buffer.from(JSON.stringify(notice));
  const nowS = Math.floor(Date.now() / 1000);
  const sign = (over) => signCallback({ rawBody: raw, secret: app.signatureSecret, applicationId, ...over });

  const refused = {
    unsigned: null,
    'not a bearer JWT': 'Basic YWRhOnNlY3JldA==',
    'signed with another secret (forged)': sign({ secret: newSecret() }),
    expired: sign({ nowS: nowS - 900 }),
    'issued in the future': sign({ nowS: nowS + 600 }),
    'for another body': signCallback({ rawBody: Buffer.from(JSON.stringify({ ...notice, remainingTime: 1 })), secret: app.signatureSecret, applicationId }),
    'without payload_hash': sign({ claims: { payload_hash: undefined } }),
    'for another application': sign({ claims: { application_id: 'someone-else' } }),
    'not issued by Vonage': sign({ claims: { iss: 'mallory' } }),
    'alg none': `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iat: nowS, exp: nowS + 300, payload_hash: 'x' })}.`,
    'HS256 header, signature of another token': (() => {
      const good = sign().split('.');
      const other = sign({ nowS: nowS - 1 }).split('.');
      return `${good[0]}.${good[1]}.${other[2]}`;
    })(),
  };
  for (const [what, authorization] of Object.entries(refused)) {
    const r = await app.callback(notice, { authorization });
    assert.equal(r.status, 401, what);
    assert.equal(r.body.error, 'badSignature', what);
    assert.ok(r.body.message, what);
  }
  // A valid signature whose body was changed in flight (one byte).
  const tampered = Buffer.from(JSON.stringify({ ...notice, remainingTime: 5001 }));
  const res = await fetch(`${app.url}/callbacks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: sign() },
    body: tampered,
  });
  assert.equal(res.status, 401);

  await app.rooms.idle();
  assert.equal(api.created.length, 1, 'no session created by a refused callback');
  assert.equal(api.signals.length, 0, 'no signal sent by a refused callback');
  assert.equal(await app.rooms.currentSession('signed'), old);
  assert.equal(app.lines.filter((l) => l.startsWith('callback refused')).length, Object.keys(refused).length + 1);

  // The genuine notification, then the same signed delivery replayed.
  const authorization = sign();
  const genuine = await app.callback(notice, { authorization });
  assert.equal(genuine.body.outcome, 'moveStarted');
  const replayed = await app.callback(notice, { authorization });
  assert.equal(replayed.status, 200);
  assert.equal(replayed.body.outcome, 'replayedDelivery');
  await app.rooms.idle();
  assert.equal(api.created.length, 2);
  assert.equal(api.signals.length, 1);
});

test('verifyCallback: the claims it needs, the skew it allows', () => {
  const secret = 's3cret';
  const rawBody = Buffer.from('{"a":1}');
  const at = 1_700_000_000;
  const ok = (authorization, nowS = at) => verifyCallback({ authorization, rawBody, secret, applicationId: 'app', nowS });
  assert.equal(ok(signCallback({ rawBody, secret, applicationId: 'app', nowS: at })).ok, true);
  // exp is iat + 300; 30 s of skew either way.
  const issued = signCallback({ rawBody, secret, applicationId: 'app', nowS: at });
  assert.equal(ok(issued, at + 300 + 29).ok, true);
  assert.equal(ok(issued, at + 300 + 31).reason, 'the JWT has expired');
  assert.equal(ok(issued, at - 29).ok, true);
  assert.equal(ok(issued, at - 31).reason, 'the JWT was issued in the future');
  // Without exp: at most 300 s (+ skew) after iat.
  const noExp = signCallback({ rawBody, secret, applicationId: 'app', nowS: at, claims: { exp: undefined } });
  assert.equal(ok(noExp, at + 320).ok, true);
  assert.equal(ok(noExp, at + 340).reason, 'the JWT is too old');
  // The hash is of the exact bytes: the same JSON re-serialized differently is another body.
  const spaced = verifyCallback({ authorization: issued, rawBody: Buffer.from('{ "a": 1 }'), secret, applicationId: 'app', nowS: at });
  assert.match(spaced.reason, /payload_hash/);
  // A hand-made HS256 token with the right secret but no iat.
  const h = b64({ alg: 'HS256' });
  const p = b64({ payload_hash: 'x' });
  const sig = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
  assert.equal(ok(`Bearer ${h}.${p}.${sig}`).reason, 'the JWT has no iat');
});

test('the app server refuses to start without a signature secret', async () => {
  await assert.rejects(
    startApp({ videoHost: api.url, privateKey: keys.privateKey, signatureSecret: '' }),
    /VONAGE_SIGNATURE_SECRET is not set/,
  );
});
