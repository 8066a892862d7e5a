// End-to-end: three participants in a room through the app server, 150 ms of signaling latency
// per hop in the sandbox, the room's session rotated with a short notice. Once with the SDK
// (the demo page), once with the naive baseline (`?naive=1`), in the same run, and the two
// printed side by side:
//
//   e2e: largest frame gap handoff X ms, naive Y ms, before-handoff Z ms
//
// The frame gaps are the harness's own (tests/e2e/measure.js: requestVideoFrameCallback on the
// video actually on top in each tile), not the SDK's meter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BROWSER, FRAME_MS, missing, sdkBuilt, startStack } from './harness.mjs';
import { withinOneFrame } from './gaps.mjs';
import { all, departures, pageLogs, participantIdOf, rotationRun } from './scenario.mjs';
import { loadNote, ms, printRun, swapMargins } from './report.mjs';
import { assertContinuity } from './verdict.mjs';

const NAMES = ['Ada', 'Ben', 'Cy'];
const LATENCY_MS = Number(process.env.E2E_LATENCY_MS ?? 150);
// The real vendor client takes several seconds to set up the new session's peer connections on
// these 2-core machines (three pages; see the phase timeline it prints): the notice leaves
// room for the handoff to end with everyone moved, as the platform's hour does.
const NOTICE_MS = 20000;
const STEADY_MS = 8000; // steady call before the rotation
// The "before" window: at least 5 s, and as long as the handoff window when the steady call
// allows, so both windows get the same chance of an ordinary hiccup of a loaded machine.
const BEFORE_MS = 5000;
const AFTER_MS = 3000; // measured after the handoff completed

let stack;
const results = {};

before(async () => {
  const why = missing();
  if (why) throw new Error(`e2e cannot run: ${why}`);
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

/**
 * Joins three people to `room`, rotates the room's session through the app server and waits
 * until everyone is live in the new one and the old one is destroyed. Returns what each page
 * and the sandbox saw (see `rotationRun`).
 */
async function rotationScenario(room, { naive }) {
  await stack.resetHooks();
  await stack.hooks({ latencyMs: LATENCY_MS });
  const people = await stack.joinRoom(room, NAMES, { naive });
  try {
    return await rotationRun(stack, room, people, { noticeMs: NOTICE_MS, steadyMs: STEADY_MS, beforeMinMs: BEFORE_MS, afterMs: AFTER_MS });
  } catch (err) {
    err.message += `\n${stack.tail()}\n${pageLogs(people)}`;
    throw err;
  } finally {
    await stack.leave(people);
    await stack.resetHooks();
  }
}

const maxOf = (xs) => (xs.length ? Math.max(...xs) : null);

test('SDK: three participants follow a rotation with 150 ms signaling latency, video continuous, nobody dropped', { timeout: 150000 }, async () => {
  assert.ok(sdkBuilt(), 'the SDK is not built (js/index.js and pkg/video_handoff.js): run wasm-pack build first');
  const r = await rotationScenario('e2e-sdk', { naive: false });
  results.sdk = r;
  printRun('SDK handoff', r);

  // Everyone ended in the new session, each exactly once, publishing.
  const ids = r.newSession.connections.map((c) => participantIdOf(c.data)).sort();
  assert.deepEqual(ids, r.people.map((p) => p.id).sort(), 'the new session holds exactly the three participants');
  assert.equal(r.newSession.streams.length, 3, 'each participant publishes in the new session');

  // The media mode held: routed, each page keeps one peer connection that sends and one that
  // receives per remote participant (counted from the page's RTCPeerConnections that carried
  // media), and the sandbox's media router carried the frames; relayed, one each way per
  // remote participant, and the router carried nothing.
  for (const page of r.pages) {
    const steady = page.live?.pcs?.steady;
    const want = stack.mode === 'routed' ? 1 + (NAMES.length - 1) : 2 * (NAMES.length - 1);
    assert.equal(steady, want, `${page.p.name}: ${want} live peer connections in the steady ${stack.mode} call, got ${steady}`);
  }
  for (const [what, s] of [['old', r.oldSession], ['new', r.newSession]]) {
    assert.equal(s.mediaMode, stack.mode, `the ${what} session is ${stack.mode}`);
  }
  if (stack.mode === 'routed') {
    const media = r.newSession.media;
    assert.ok(media && media.framesOut > 0 && media.framesIn > 0, `the new session's media went through the router: ${JSON.stringify(media)}`);
    console.log(`e2e: new session's router: ${JSON.stringify(media)}`);
  } else {
    assert.equal(r.newSession.media, null, 'a relayed session has no router table');
  }

  // The old session saw every connection leave by itself before it was destroyed.
  const { leftBy, problems } = departures(r.oldLog);
  assert.deepEqual(problems, [], 'old session log');
  for (const p of r.people) {
    assert.equal(leftBy[p.id], 'clientDisconnected', `${p.name} left the old session with clientDisconnected (not dropped by the rotation)`);
  }

  for (const page of r.pages) {
    const { p, events } = page;
    assert.equal(page.started?.type, 'handoffStarted', `${p.name}: handoffStarted`);
    assert.equal(page.started.detail.to, r.newSid, `${p.name}: handoffStarted names the new session`);
    assert.equal(all(events, 'handoffCompleted').length, 1, `${p.name}: exactly one handoffCompleted`);
    assert.equal(page.completed.detail.to, r.newSid);
    assert.equal(page.completed.detail.endedBy, 'allMoved', `${p.name}: the overlap ended because everyone had moved`);
    const swapped = all(events, 'participantSwapped').map((e) => e.detail.key).sort();
    const others = r.people.filter((o) => o !== p).map((o) => o.name).sort();
    assert.deepEqual(swapped, others, `${p.name}: each remote participant swapped exactly once`);
    for (const bad of ['handoffFailed', 'recoveryStarted', 'participantLeft', 'signalRejected']) {
      assert.deepEqual(all(events, bad), [], `${p.name}: no ${bad}`);
    }
    // Never two audible sources for one participant (nor audio outside the tiles), and the
    // check was not vacuous: every remote tile had its audio playing.
    assert.deepEqual(page.media.audioViolations, [], `${p.name}: never two audible sources per tile`);
    for (const other of r.people.filter((o) => o !== p)) {
      const key = Object.keys(page.media.audibleNow).find((k) => participantIdOf(k) === other.id);
      assert.equal(page.media.audibleNow[key], 1, `${p.name} hears ${other.name} from exactly one source at the end`);
    }
    assert.equal(page.media.mismatchCount, 0, `${p.name}: data-active always named the video on top ${JSON.stringify(page.media.mismatches.slice(0, 5))}`);
  }

  // The frame gap the SDK reports for each swap (participantSwapped's frameGapMs, what an app
  // reads) against the harness's own measure of that tile across the same swap, from the frame
  // callbacks alone (gaps.mjs `swapFigure`): within one frame interval at the tile's rate
  // (30 fps: FRAME_MS). Both date the swap by the animation frame after it and read the
  // callbacks' frames against it (meter.rs; measure.js `shownIn`). Asserted in Chromium (36 of
  // 36 swaps within a frame over 6 runs, most to the millisecond, 2026-12-07); printed in
  // Firefox (29 of 30 over 5 runs, the miss 38 ms apart: there the harness's animation frame
  // after a swap sometimes ran a refresh after the SDK's, so the two dated the paint apart).
  const figures = [];
  for (const page of r.pages) {
    for (const e of all(page.events, 'participantSwapped')) {
      const tile = page.tiles.find((t) => r.people.find((o) => o.id === t.tile)?.name === e.detail.key);
      figures.push({ viewer: page.p.name, of: e.detail.key, sdk: e.detail.frameGapMs, harness: tile?.swap?.gap ?? null });
    }
  }
  const agree = (f) => typeof f.sdk === 'number' && f.harness !== null && Math.abs(f.sdk - f.harness) <= FRAME_MS;
  console.log(`e2e: swap figures, SDK against harness (ms): ${figures.map((f) => `${f.viewer}<-${f.of} ${ms(f.sdk)}/${ms(f.harness)}`).join(', ')}; within one frame: ${figures.filter(agree).length} of ${figures.length}`);
  assert.equal(figures.length, 6, 'a swap figure for every viewer and participant');
  for (const f of figures.filter(() => BROWSER === 'chromium')) {
    assert.ok(
      agree(f),
      `${f.viewer} watching ${f.of}: the SDK reported ${ms(f.sdk)} ms for the swap, the harness measured ${ms(f.harness)} ms (more than one frame, ${FRAME_MS} ms, apart)`,
    );
  }

  // Nobody left the old session while a peer still showed them from it: each old stream
  // outlived every viewer's swap to the new one (a negative margin is a frozen picture).
  const margins = swapMargins(r);
  assert.equal(margins.length, 6, 'every viewer swapped every participant');
  for (const m of margins) {
    assert.ok(m.marginMs > 0, `${m.of} left the old session ${ms(-m.marginMs)} ms before ${m.viewer} showed them from the new one`);
  }

  // Frame continuity, by the harness's own measurement (verdict.mjs). Three pages on two cores
  // often leave no headroom: the steady call alone keeps 1.3-1.8 of the 2 cores busy (measured
  // per process and thread in the notes of issue 13).
  for (const t of r.tiles) {
    const who = `${t.viewer} watching ${r.people.find((p) => p.id === t.tile)?.name}`;
    assert.deepEqual(t.elementIds.length, 1, `${who}: the tile stayed the same element`);
  }
  assertContinuity(r, () => BROWSER);
});

test('naive baseline: the same rotation, disconnect then reconnect (measured, not held to continuity)', { timeout: 150000 }, async () => {
  const r = await rotationScenario('e2e-naive', { naive: true });
  results.naive = r;
  printRun('naive handoff', r);
  const ids = r.newSession.connections.map((c) => participantIdOf(c.data)).sort();
  assert.deepEqual(ids, r.people.map((p) => p.id).sort(), 'the naive clients also end in the new session');
  for (const page of r.pages) {
    assert.ok(page.completed, `${page.p.name}: naive handoffCompleted`);
    assert.deepEqual(page.media.audioViolations, [], `${page.p.name}: never two audible sources per tile`);
  }
});

test('side by side: the handoff\'s largest frame gap is smaller than the naive one\'s', () => {
  const handoff = results.sdk ? maxOf(results.sdk.tiles.map((t) => t.across)) : null;
  const naive = results.naive ? maxOf(results.naive.tiles.map((t) => t.across)) : null;
  const beforeGap = results.sdk ? maxOf(results.sdk.tiles.map((t) => t.before)) : results.naive ? maxOf(results.naive.tiles.map((t) => t.before)) : null;
  console.log(`e2e: largest frame gap handoff ${ms(handoff)} ms, naive ${ms(naive)} ms, before-handoff ${ms(beforeGap)} ms`);
  if (results.sdk) {
    const met = results.sdk.tiles.filter(withinOneFrame).length;
    console.log(`e2e: within one frame interval of the same tile's largest gap before: ${met} of ${results.sdk.tiles.length} SDK tiles`);
  }
  console.log(`e2e: (${loadNote()})`);
  if (results.sdk && results.naive) {
    const durations = (r) => r.pages.map((pg) => `${pg.p.name} ${ms(pg.durationMs)}`).join(', ');
    console.log(`e2e: handoff durations (ms): SDK ${durations(results.sdk)}; naive ${durations(results.naive)}`);
  }
  assert.ok(handoff !== null, 'the SDK scenario produced no figures');
  assert.ok(naive !== null, 'the naive scenario produced no figures');
  assert.ok(handoff < naive, `make-before-break (${ms(handoff)} ms) should show a smaller largest gap than break-before-make (${ms(naive)} ms)`);
});

test('no page made a request beyond 127.0.0.1 (the vendor client stayed on the sandbox)', () => {
  assert.ok(stack, 'the stack started');
  assert.deepEqual(stack.offLoopback, []);
});
