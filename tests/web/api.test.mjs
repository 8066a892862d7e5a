// The public JS API in headless Chromium against the OT test double (tests/web/api_cases.js):
// close() from inside every app handler and hook, vendor getters of the wrong type, an abort
// while getUserMedia asks, join() where there is no document, and the order in which a second
// handler sees events when the first calls moveTo. Needs the release build in pkg/.
//
// Run: flock /work/helpers/browser.lock node --test tests/web/api.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, launch, open, serve } from './browser.mjs';

let browser;
let server;
let page;
let errors;

before(async () => {
  assert.ok(existsSync(join(ROOT, 'pkg/video_handoff_bg.wasm')), 'pkg/ missing: run `npm run build` first');
  server = await serve(ROOT);
  browser = await launch();
  ({ page, errors } = await open(browser.context, `${server.url}/tests/web/api_page.html`));
  await page.waitForFunction(() => window.casesReady === true);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

function run(name, ...args) {
  return page.evaluate(([n, a]) => window.cases[n](...a), [name, args]);
}

function assertNothingLeft(r, what) {
  // A join() that rejected handed out no call to read.
  if (!r.joinError) assert.equal(r.state, 'closed', `${what}: the call reads closed`);
  assert.equal(r.listeners, 0, `${what}: every OT listener removed`);
  assert.equal(r.sessions, 0, `${what}: every session left`);
  assert.equal(r.subscribers, 0, `${what}: every subscriber destroyed`);
  assert.equal(r.publishers, 0, `${what}: every publisher destroyed`);
  assert.equal(r.videos, 0, `${what}: no video left in the page`);
  assert.deepEqual(r.handlerErrors, [], `${what}: nothing thrown into the vendor`);
  if (!r.joinError) assert.equal(r.moveToAfterClose, 'closed', `${what}: moveTo after close throws code closed`);
  assert.deepEqual(errors.splice(0), [], `${what}: no uncaught page errors`);
}

const TARGETS = [
  'event:stateChanged',
  'event:participantJoined',
  'event:handoffStarted',
  'event:participantSwapped',
  'event:handoffCompleted',
  'event:handoffFailed',
  'event:subscribeFailed',
  'event:announceFailed',
  'event:signalRejected',
  'event:recoveryStarted',
  'event:sessionEnded',
  'event:participantLeft',
  'hook:participantKey',
  'hook:participantKey@join',
  'hook:tokenProvider',
  'hook:tokenProvider@join',
  'hook:resolveSession',
];

for (const target of TARGETS) {
  test(`close() from inside ${target} closes the call and leaves nothing behind`, async () => {
    const r = await run('closeInside', target);
    assert.equal(r.reached, true, `the ${target} ran`);
    assertNothingLeft(r, target);
    if (r.closedEvents !== null) assert.ok(r.closedEvents <= 1, 'closed is reported once');
    // Aborted from inside a hook: before the call is live join() rejects with code aborted;
    // after (the double reports connections once connected), the call closes.
    if (target === 'hook:tokenProvider@join') assert.equal(r.joinError?.code, 'aborted');
    if (r.joinError) assert.equal(r.joinError.code, 'aborted', JSON.stringify(r.joinError));
  });
}

test('vendor getters of the wrong type are ignored and the call stays usable', async () => {
  const r = await run('wrongTypes');
  assert.equal(r.joinError, undefined, JSON.stringify(r.joinError));
  assert.equal(r.stateBeforeClose, 'live');
  assert.ok(r.shown.includes('alice'), `alice is shown (${r.shown})`);
  assert.ok(r.participants.includes('nostream'), `a participant whose stream has no ID still joins (${r.participants})`);
  assert.ok(!r.participants.includes('noid'), 'a connection without an ID is ignored');
  assert.deepEqual(r.rejected, ['notJson'], 'a signal whose data is not a string is rejected');
  assertNothingLeft(r, 'wrong types');
});

test('an abort while getUserMedia asks rejects join() and stops the camera', async () => {
  const r = await run('abortDuringGetUserMedia');
  assert.equal(r.joinError?.code, 'aborted', JSON.stringify(r));
  assert.equal(r.callState, null, 'no call');
  assert.ok(r.tracks > 0, 'getUserMedia gave tracks');
  assert.equal(r.liveTracks, 0, 'every track the SDK obtained is stopped');
  assert.equal(r.connects, 0, 'nothing was connected');
  assert.equal(r.sessions, 0);
});

test('join() where there is no document rejects with a typed error', async () => {
  const r = await run('joinInWorker');
  assert.equal(r.isHandoffError, true, JSON.stringify(r));
  assert.equal(r.name, 'HandoffError');
  assert.equal(r.code, 'unsupportedEnvironment');
  assert.match(r.message, /document/);
});

test('a second handler sees the events in order when the first calls moveTo', async () => {
  const r = await run('secondHandlerOrder');
  assert.deepEqual(r.seen.slice(0, 3), ['participantJoined:dave', 'handoffStarted:s2', 'stateChanged:handoff']);
  assertNothingLeft(r, 'moveTo from a handler');
});

test('joining a session again right after closing a call to it connects at once', async () => {
  const r = await run('rejoinSameSession');
  assert.equal(r.stateAfterRejoin, 'live');
  assert.deepEqual(r.failed, [], 'no failed attempt');
  assert.equal(r.connects, 2, 'one connect per call');
  assertNothingLeft(r, 'rejoin');
});

// Failures that end (issue 12): a session that does not exist and a hook that never answers
// each end in a state the app can see and an event that says why; nothing loops.
test('joining a session that does not exist rejects with the vendor\'s 1005 after one connect', async () => {
  const r = await run('joinUnknownSession');
  assert.equal(r.joinError?.code, 'connectFailed', JSON.stringify(r.joinError));
  assert.match(r.joinError.message, /OT_INVALID_SESSION_ID/);
  assert.equal(r.connects, 1, 'no retry: retrying cannot help');
  assert.deepEqual(r.failed.map((f) => [f.willRetry, f.stopped]), [[false, 'permanent']]);
  assert.ok(r.states.includes('stateChanged:closed'), JSON.stringify(r.states));
  assertNothingLeft(r, 'unknown session');
});

test('a move to a session that does not exist fails once and the call stays where it is', async () => {
  const r = await run('moveToUnknownSession');
  assert.deepEqual(r.failed.map((f) => [f.code, f.willRetry, f.stopped]), [['connectFailed', false, 'permanent']]);
  assert.equal(r.connects, 1);
  assert.deepEqual(r.after, { state: 'live', sessionId: 's1', tiles: 2 });
  assertNothingLeft(r, 'move to an unknown session');
});

test('a tokenProvider that never answers times out each attempt, then the move is given up', async () => {
  const r = await run('tokenProviderNeverAnswers');
  assert.equal(r.asked, 2, 'asked once per attempt (maxAttempts 2)');
  assert.deepEqual(
    r.failed.map((f) => [f.code, f.willRetry, f.stopped]),
    [['hookTimeout', true, null], ['hookTimeout', false, 'maxAttempts']],
  );
  assert.equal(r.connects, 0, 'the late answer connected nothing');
  assert.deepEqual(r.after, { state: 'live', sessionId: 's1', tiles: 2 });
  assertNothingLeft(r, 'hook timeout');
});

test('a tokenProvider error marked permanent is not retried', async () => {
  const r = await run('tokenProviderSaysPermanent');
  assert.equal(r.asked, 1);
  assert.deepEqual(r.failed.map((f) => [f.code, f.willRetry, f.stopped]), [['tokenProviderFailed', false, 'permanent']]);
  assert.match(r.failed[0].message, /room closed/);
  assert.equal(r.stateAfter, 'live');
  assertNothingLeft(r, 'permanent provider error');
});
