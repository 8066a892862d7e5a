// A mixed call (issue 21): two Chromium pages and one Firefox page in one room, routed, 150 ms
// of signaling latency per hop, the room's session rotated. Everyone follows the rotation,
// nobody's picture freezes by the W3C definition in any tile (Chromium watching Firefox,
// Firefox watching Chromium), and the figures say where Firefox differs (its peer
// connections, its phases, what it measures differently).
//
// Part of the Firefox suite (`E2E_BROWSER=firefox`); it starts its own Chromium as well.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { executableOf } from '../browsers.mjs';
import { BROWSER, missing, sdkBuilt, startStack } from './harness.mjs';
import { all, departures, pageLogs, participantIdOf, rotationRun } from './scenario.mjs';
import { ms, printRun, swapMargins } from './report.mjs';
import { assertContinuity } from './verdict.mjs';

const NAMES = ['Ada', 'Ben', 'Cy'];
const BROWSER_OF = { Ada: 'chromium', Ben: 'chromium', Cy: 'firefox' };
const LATENCY_MS = 150;
const NOTICE_MS = 20000; // as the main scenario (handoff.test.mjs) and for the same reason
const SKIP = BROWSER !== 'firefox' && 'part of the Firefox suite (E2E_BROWSER=firefox)';

let stack;

before(async () => {
  if (SKIP) return;
  const why = missing() || (!existsSync(executableOf('chromium')) && 'no Chromium');
  if (why) throw new Error(`e2e cannot run: ${why}`);
  stack = await startStack({ browsers: ['chromium', 'firefox'] });
});

after(async () => {
  await stack?.stop();
});

test('mixed call: two Chromium pages and one Firefox page follow a rotation, no W3C freeze in any tile', { timeout: 150000, skip: SKIP }, async () => {
  assert.ok(sdkBuilt(), 'the SDK is not built (js/index.js and pkg/video_handoff.js)');
  await stack.resetHooks();
  await stack.hooks({ latencyMs: LATENCY_MS });
  const people = await stack.joinRoom('e2e-mixed', NAMES, { browserOf: BROWSER_OF });
  let r;
  try {
    r = await rotationRun(stack, 'e2e-mixed', people, { noticeMs: NOTICE_MS, steadyMs: 8000, beforeMinMs: 5000, afterMs: 3000 });
  } catch (err) {
    err.message += `\n${stack.tail()}\n${pageLogs(people)}`;
    throw err;
  } finally {
    await stack.leave(people);
    await stack.resetHooks();
  }
  printRun('mixed call (Ada, Ben: Chromium; Cy: Firefox)', r);

  const ids = r.newSession.connections.map((c) => participantIdOf(c.data)).sort();
  assert.deepEqual(ids, r.people.map((p) => p.id).sort(), 'the new session holds exactly the three participants');
  assert.equal(r.newSession.streams.length, 3, 'each participant publishes in the new session');
  const { leftBy, problems } = departures(r.oldLog);
  assert.deepEqual(problems, [], 'old session log');
  for (const p of r.people) assert.equal(leftBy[p.id], 'clientDisconnected', `${p.name} left the old session by itself`);

  for (const page of r.pages) {
    const { p, events } = page;
    assert.equal(all(events, 'handoffCompleted').length, 1, `${p.name}: exactly one handoffCompleted`);
    assert.equal(page.completed.detail.endedBy, 'allMoved', `${p.name}: the overlap ended because everyone had moved`);
    const swapped = all(events, 'participantSwapped').map((e) => e.detail.key).sort();
    assert.deepEqual(swapped, r.people.filter((o) => o !== p).map((o) => o.name).sort(), `${p.name}: each remote participant swapped once`);
    for (const bad of ['handoffFailed', 'recoveryStarted', 'participantLeft', 'signalRejected']) {
      assert.deepEqual(all(events, bad), [], `${p.name}: no ${bad}`);
    }
    assert.deepEqual(page.media.audioViolations, [], `${p.name}: never two audible sources per tile`);
    assert.equal(page.media.mismatchCount, 0, `${p.name}: data-active always named the video on top`);
  }
  for (const m of swapMargins(r)) {
    assert.ok(m.marginMs > 0, `${m.of} left the old session ${ms(-m.marginMs)} ms before ${m.viewer} showed them from the new one`);
  }

  // The same verdict as the main scenario (verdict.mjs), each tile judged in its viewer's browser.
  assertContinuity(r, (viewer) => BROWSER_OF[viewer]);
});

test('mixed call: no page made a request beyond 127.0.0.1', { skip: SKIP }, () => {
  assert.ok(stack, 'the stack started');
  assert.deepEqual(stack.offLoopback, []);
});
