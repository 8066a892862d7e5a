// End-to-end: the vendor's own migration (`sessionMigration: true`, client 2.30+) under the
// SDK, alone and overlapping a handoff in both orders. The sandbox plays the platform's side
// (examples/sandbox/PROTOCOL.md §5): it tells each client that advertised `migrate`, which then
// opens a second socket, makes every stream and subscription again beside the old ones, and
// closes the old paths 20 s later. Three pages, routed unless E2E_MEDIA_MODE says otherwise.
//
// 1. A room the app server does not move (`rotation: migrate`): only the vendor's migration
//    moves the call. Every tile keeps showing video, no one leaves or joins, the session ID
//    stays, and each page's SDK reports `sessionMigrated` with its frame gap.
// 2. The migration first, then the app server's handoff signal (a room it moves: the platform
//    tells the clients at the start, the app server's signal follows its callback).
// 3. The handoff signal first, then the migration (the sandbox tells the clients 2.5 s after
//    the start, in the middle of the handoff).
// Both overlaps must end with everyone live in the room's new session, their video on, and
// stay so past the vendor's 20 s timer (when it closes the old session's paths and finishes
// every publisher's and subscriber's migration, in every session).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hadHeadroom } from './cost.mjs';
import { FRAME_MS, missing, sdkBuilt, sleep, startStack } from './harness.mjs';
import { all, continuity, pageLogs, participantIdOf, rotationRun } from './scenario.mjs';
import { loadNote, ms, printRun } from './report.mjs';

const NAMES = ['Ada', 'Ben', 'Cy'];
const LATENCY_MS = Number(process.env.E2E_LATENCY_MS ?? 150);
const NOTICE_MS = 30000; // longer than the vendor's 20 s migration
const MIGRATION_TIMEOUT_MS = 20000; // the vendor client's MIGRATION_TIMEOUT
/**
 * The longest a tile may stop across the vendor's migration: half its 20 s timer. Its rebind
 * of a subscriber's new stream stopped tiles for up to 3.3 s in the benchmark's vendor-only
 * runs (30 tiles, loaded machine) and 3.6 s in this file's runs (2026-12-07, three pages alone
 * on 2 cores), and it grows with the machine's load; what this bound catches is a tile that
 * stays dark until the vendor's timer closes the path it was left on. A tile the SDK tore down
 * would show a new element. The stop is the vendor's cost, not the handoff's; the handoff's
 * own bounds are in gaps.mjs.
 */
const VENDOR_REBIND_MS = MIGRATION_TIMEOUT_MS / 2;

let stack;

before(async () => {
  const why = missing();
  if (why) throw new Error(`e2e cannot run: ${why}`);
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

async function scenario(room, joinOptions, runOptions) {
  await stack.resetHooks();
  await stack.hooks({ latencyMs: LATENCY_MS });
  const people = await stack.joinRoom(room, NAMES, { sessionMigration: true, ...joinOptions });
  try {
    const r = await rotationRun(stack, room, people, { noticeMs: NOTICE_MS, steadyMs: 6000, afterMs: 2000, ...runOptions });
    printRun(room, r);
    return r;
  } catch (err) {
    err.message += `\n${stack.tail()}\n${pageLogs(people)}`;
    await stack.leave(people);
    throw err;
  }
}

/** Every page live in `sid`, every remote tile showing video: checked now. */
async function allLive(r, sid, when) {
  await stack.waitForVideo(r.people, { timeout: 10000, frames: 20 });
  for (const p of r.people) {
    const state = await p.page.evaluate(() => window.demo.state());
    assert.equal(state, 'live', `${p.name} live ${when}`);
    assert.equal(await p.page.evaluate(() => window.demo.sessionId()), sid, `${p.name} in the room's session ${when}`);
  }
}

/**
 * Nobody was reported leaving or joining, nothing failed, no tile ever had two audible
 * sources, every tile kept its element, and no tile's video stopped for longer than the
 * vendor's own rebind is seen to take (VENDOR_REBIND_MS). The vendor's costs are printed, not
 * asserted as ours: its migration binds each subscriber's new stream into the tile's element
 * (a freeze by the W3C definition: 200-450 ms on a quiet machine, 1.6-3.2 s while its three
 * pages set up their new peer connections at once, even where the steady call left
 * headroom), and first plays that stream, sound included, in a detached buffer element of its
 * own (`_loadVideoBuffer` in its source): audio from outside the tiles beside the tile's own,
 * for half a second to two.
 */
function calm(r, what) {
  for (const page of r.pages) {
    for (const bad of ['participantLeft', 'participantJoined', 'handoffFailed', 'recoveryStarted', 'sessionEnded', 'signalRejected']) {
      assert.deepEqual(all(page.events, bad), [], `${page.p.name}: no ${bad} (${what})`);
    }
    const [detached, inTiles] = [true, false].map((d) => page.media.audioViolations.filter((v) => (v.what === 'detached element') === d));
    assert.deepEqual(inTiles, [], `${page.p.name}: never two audible sources in a tile (${what})`);
    if (detached.length) {
      const span = detached.at(-1).at - detached[0].at;
      console.log(`e2e: ${page.p.name}: audio from the vendor's detached buffer element, ${detached.length} checks over ${ms(span)} ms (${what})`);
    }
  }
  assert.equal(r.tiles.length, 6, 'three viewers, two remote tiles each');
  for (const t of r.tiles) {
    assert.equal(t.elementIds.length, 1, `${t.viewer}: a tile stayed the same element (${what})`);
    assert.ok(t.across < VENDOR_REBIND_MS, `${t.viewer}: a tile's video stopped for ${ms(t.across)} ms (${what}); ${loadNote()}`);
  }
  const frozen = r.tiles.filter((t) => t.freezes.length);
  console.log(
    `e2e: ${frozen.length} of ${r.tiles.length} tiles froze (W3C) ${what}` +
      `${hadHeadroom(r.cpu) ? '' : ' (no headroom)'}: ${frozen.map((t) => `${t.viewer} ${t.freezes.map((f) => `${f.gap} ms (${f.what})`).join(', ')}`).join('; ')}`,
  );
}

test("the vendor's migration under the SDK: same session, every tile on, nobody leaves, sessionMigrated with its gap", { timeout: 180000 }, async () => {
  assert.ok(sdkBuilt(), 'the SDK is not built');
  const r = await scenario('e2e-vendor-migration', { rotation: 'migrate' }, {});
  try {
    assert.equal(r.newSid, r.oldSid, 'the session ID stays');
    assert.equal(r.oldSession.destroyed, false, 'the platform keeps the session');
    const ids = r.oldSession.connections.map((c) => participantIdOf(c.data)).sort();
    assert.deepEqual(ids, r.people.map((p) => p.id).sort(), 'the same three connections, migrated');
    for (const page of r.pages) {
      const done = all(page.events, 'sessionMigrated');
      assert.equal(done.length, 1, `${page.p.name}: one sessionMigrated`);
      assert.equal(done[0].detail.sessionId, r.oldSid);
      const sdkGap = done[0].detail.frameGapMs;
      assert.equal(typeof sdkGap, 'number', `${page.p.name}: sessionMigrated carries its frame gap`);
      // The SDK's figure against the harness's own measure of the same tiles from the same
      // frame callbacks (measure.js `rvfc`: what the SDK's meter sees), within one frame. The
      // SDK keeps its gaps per span of a second, so its window is the 21 s before the event
      // and up to 1 s more: between the harness's figures over 21 s and over 22 s.
      const over = async (s) => Math.max(...(await continuity(page.p, { startAt: done[0].at - s * 1000, endAt: done[0].at })).map((t) => t.acrossRvfc));
      const [least, most] = [await over(21), await over(22)];
      console.log(`e2e: ${page.p.name}: sessionMigrated frameGapMs ${ms(sdkGap)}; the harness's largest gap over the 21 s before it ${ms(least)} ms, over 22 s ${ms(most)} ms`);
      // Asserted where the run had headroom, as the W3C verdict: never more than the harness
      // saw. Not the other way: in 4 runs on 2026-12-07, 11 of 12 pages' figures equalled the
      // harness's and one was 130 ms below it (3038/3168 ms): the vendor's rebind gives the
      // tile's element a new stream, and the meter, which knows nothing of it, may read its
      // first frames' callbacks as the old stream's.
      if (hadHeadroom(r.cpu)) {
        assert.ok(sdkGap > 0 && sdkGap <= most + FRAME_MS, `${page.p.name}: the SDK's ${ms(sdkGap)} ms against the harness's ${ms(least)}-${ms(most)} ms`);
      }
      assert.deepEqual(all(page.events, 'handoffStarted'), [], `${page.p.name}: no handoff`);
      assert.ok(done[0].at - r.rotatedAt >= MIGRATION_TIMEOUT_MS - 1000, `${page.p.name}: the vendor's migration took its 20 s`);
    }
    calm(r, "across the vendor's migration");
    await allLive(r, r.oldSid, 'after the migration');
  } finally {
    await stack.leave(r.people);
  }
});

for (const [order, runOptions] of [
  ['the migration first, then the handoff signal', {}],
  [
    'the handoff signal first, then the migration',
    { rotate: ({ oldSid }) => stack.rotateSession(oldSid, NOTICE_MS, { migrationDelayMs: 2500 }) },
  ],
]) {
  test(`a handoff and the vendor's migration overlapping, ${order}: everyone live in the new session, video on`, { timeout: 180000 }, async () => {
    const room = `e2e-overlap-${Object.keys(runOptions).length}`;
    // The old session is not destroyed at the notice's end when it has migrated clients.
    const r = await scenario(room, {}, { ...runOptions, destroyed: () => [] });
    try {
      assert.notEqual(r.newSid, r.oldSid, 'the app server moved the room');
      for (const page of r.pages) {
        assert.equal(all(page.events, 'handoffCompleted').length, 1, `${page.p.name}: one handoffCompleted`);
        assert.equal(page.completed.detail.to, r.newSid);
      }
      calm(r, `across the handoff (${order})`);
      // Past the vendor's 20 s timer, started by the notification in the old session: it
      // finishes the migration of every publisher and subscriber, of every session.
      await sleep(Math.max(0, r.rotatedAt + MIGRATION_TIMEOUT_MS + 5000 - Date.now()));
      await allLive(r, r.newSid, "after the vendor's migration timer");
      for (const page of r.pages) {
        const late = (await page.p.page.evaluate(() => window.demo.events)).filter((e) => e.at > page.completed.at);
        for (const bad of ['participantLeft', 'handoffFailed', 'recoveryStarted', 'sessionEnded']) {
          assert.deepEqual(all(late, bad), [], `${page.p.name}: no ${bad} after the handoff`);
        }
      }
    } finally {
      await stack.leave(r.people);
    }
  });
}
