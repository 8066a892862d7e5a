// End-to-end failure scenarios with the SDK (demo page, three participants). Each one ends with
// every participant live in the room's new session, and the call continuous (the harness's own
// frame measurement: largest gap across the handoff within one frame interval of the largest
// gap before it) unless the scenario makes an interruption unavoidable, and then the SDK says
// why. Faults come from the sandbox's admin hooks and from the test's pass-through proxy
// between the app server and the sandbox (see harness.mjs).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { APP_ID, missing, pageEvents, pageState, sdkBuilt, sleep, startStack, until } from './harness.mjs';
import { continuityLimit, interrupted } from './gaps.mjs';
import {
  all,
  continuity,
  departures,
  first,
  pageLogs,
  participantIdOf,
  rotationRun,
  waitDestroyed,
} from './scenario.mjs';
import { loadNote, ms, printRun, short } from './report.mjs';

const NAMES = ['Ada', 'Ben', 'Cy'];
// Rotation notices. The real vendor client takes seconds to set up a new session's peer
// connections on these 2-core machines with three pages (the phase timeline printed with each
// run shows where): a notice shorter than the slowest handoff ends the overlap at the
// deadline instead of with everyone moved. The platform gives an hour. Handoffs took 11-14 s
// here on a machine whose steady three-page call kept 1.8 of its 2 cores busy (2026-12-02); at
// 15 s they ran into the deadline (2 s margin) and were forced to swap to videos not yet
// created.
const NOTICE_MS = 20000;
const LONG_NOTICE_MS = 25000; // scenarios with retries or two rotations

let stack;
let people = [];

before(async () => {
  const why = missing();
  if (why) throw new Error(`e2e cannot run: ${why}`);
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

afterEach(async () => {
  stack.proxy.clearHooks();
  if (people.length) await stack.leave(people);
  people = [];
  await stack.resetHooks().catch(() => {});
});

/** Joins the three, with the SDK. */
async function join(room, { latencyMs = 0 } = {}) {
  assert.ok(sdkBuilt(), 'the SDK is not built (js/index.js and pkg/video_handoff.js): run wasm-pack build first');
  await stack.resetHooks();
  if (latencyMs) await stack.hooks({ latencyMs });
  people = await stack.joinRoom(room, NAMES, { naive: false });
  return people;
}

/** Runs `fn`, adding the processes' and pages' last lines to any failure. */
async function explained(fn) {
  try {
    return await fn();
  } catch (err) {
    err.message += `\n${stack.tail(30)}\n${pageLogs(people, 10)}`;
    throw err;
  }
}

const byName = (name) => people.find((p) => p.name === name);

/** From now on the app server's handoff signals reach the clients without their token. */
function stripTokens() {
  stack.proxy.hooks.onSignal = ({ type, data }) => {
    if (type !== 'handoff') return null;
    const msg = JSON.parse(data);
    delete msg.token;
    return { data: JSON.stringify(msg) };
  };
}

/** Everyone live in the new session, publishing, with the old log as expected. */
function assertEnded(r, { leftWith = 'clientDisconnected', except = {} } = {}) {
  const ids = r.newSession.connections.map((c) => participantIdOf(c.data)).sort();
  assert.deepEqual(ids, r.people.map((p) => p.id).sort(), 'the new session holds exactly the three participants');
  assert.equal(r.newSession.streams.length, 3, 'each participant publishes in the new session');
  for (const [sid, log] of Object.entries(r.logs)) {
    const { leftBy, problems } = departures(log);
    assert.deepEqual(problems, [], `log of ${short(sid)}`);
    for (const [id, reason] of Object.entries(leftBy)) {
      const p = r.people.find((x) => x.id === id);
      const want = except[p?.name] ?? leftWith;
      assert.equal(reason, want, `${p?.name ?? id} left ${short(sid)} with ${want}`);
    }
  }
  for (const page of r.pages) {
    assert.deepEqual(page.media.audioViolations, [], `${page.p.name}: never two audible sources per tile`);
    assert.equal(
      page.media.mismatchCount,
      0,
      `${page.p.name}: data-active always named the video on top: ${JSON.stringify(page.media.mismatches.slice(0, 5))}`,
    );
  }
}

function assertContinuous(r, opts) {
  const bad = interrupted(r.tiles, { ...opts, cpu: r.cpu });
  assert.deepEqual(
    bad.map((t) => `${t.viewer} watching ${r.people.find((p) => p.id === t.tile)?.name}: across ${ms(t.across)} ms > ${ms(continuityLimit(t, r.cpu))} ms (before ${ms(t.before)})`),
    [],
    `video continuous across the handoff (${loadNote()})`,
  );
  for (const t of r.tiles) assert.equal(t.elementIds.length, 1, `${t.viewer}: a tile stayed the same element`);
}

/** Waits until every page has `n` events of `type`. */
async function eachHas(type, n, timeout = 15000) {
  await until(
    async () => {
      for (const p of people) {
        if (all(await pageEvents(p), type).length < n) return false;
      }
      return true;
    },
    { timeout, what: `${n} ${type} event(s) on every page` },
  );
}

/** The continuity of every tile over [fromAt, now] against the `beforeMs` before it. */
async function steadySince(fromAt, beforeMs = 5000) {
  const rows = [];
  for (const p of people) rows.push(...(await continuity(p, { startAt: fromAt, endAt: Date.now(), beforeMs })));
  return rows;
}

test('a participant forges a handoff signal: everyone ignores it (notFromServer), the call is undisturbed', { timeout: 120000 }, () =>
  explained(async () => {
    await join('e2e-forged');
    const room = 'e2e-forged';
    const liveSid = await stack.roomSession(room);
    await sleep(6000);
    // A real session the forger would like everyone in, with a valid token for it: if anyone
    // obeyed, they could really move.
    const { sessionId: evil } = await stack.video.createSession({});
    const ada = byName('Ada');
    const token = stack.video.generateClientToken(evil, { data: JSON.stringify({ id: ada.id, name: 'Ada' }), role: 'publisher' });
    const forgedAt = Date.now();
    const sent = await ada.page.evaluate(
      ([appId, data]) =>
        new Promise((resolve) => {
          const session = window.OT.initSession(appId, window.demo.sessionId());
          session.signal({ type: 'handoff', data }, (err) => resolve(err ? `${err.name}: ${err.message}` : 'sent'));
        }),
      [APP_ID, JSON.stringify({ v: 1, sessionId: evil, token, reason: 'serverRotation' })],
    );
    assert.equal(sent, 'sent', 'the forged signal went out');
    await eachHas('signalRejected', 1);
    await sleep(3000);
    for (const p of people) {
      const events = await pageEvents(p);
      const rejected = all(events, 'signalRejected');
      assert.deepEqual(rejected.map((e) => e.detail.reason), ['notFromServer'], `${p.name}: rejected as notFromServer`);
      assert.deepEqual(all(events, 'handoffStarted'), [], `${p.name}: did not move`);
      assert.deepEqual(await pageState(p), { state: 'live', sessionId: liveSid }, `${p.name}: still live in the room's session`);
    }
    const evilSession = await stack.session(evil);
    assert.equal(evilSession.connections.length, 0, 'nobody connected to the forger\'s session');
    const rows = await steadySince(forgedAt);
    assert.equal(rows.length, 6, 'every tile still there');
    for (const t of rows) assert.equal(t.elementIds.length, 1, `${t.viewer}: tile unchanged`);
    assert.deepEqual(interrupted(rows).map((t) => `${t.viewer}/${t.tile}: ${ms(t.across)} > ${ms(t.before)}`), [], `call undisturbed by the forged signal (${loadNote()})`);

    // ...and the next real rotation still works.
    const r = await rotationRun(stack, room, people, { noticeMs: NOTICE_MS, steadyMs: 2000, beforeMinMs: 1500 });
    printRun('forged signal, then rotation', r);
    assertEnded(r);
    for (const page of r.pages) assert.ok(first(page.events, 'handoffCompleted'), `${page.p.name}: handoffCompleted`);
  }),
);

test('the app server sends malformed handoff signals: each rejected with its reason, the call undisturbed', { timeout: 120000 }, () =>
  explained(async () => {
    const room = 'e2e-malformed';
    await join(room);
    const liveSid = await stack.roomSession(room);
    await sleep(6000);
    const { sessionId: other } = await stack.video.createSession({});
    const cases = [
      ['not json at all', 'notJson'],
      ['[1,2,3]', 'notJson'],
      [JSON.stringify({ v: 2, sessionId: other }), 'unsupportedVersion'],
      [JSON.stringify({ sessionId: other }), 'unsupportedVersion'],
      [JSON.stringify({ v: 1 }), 'missingSessionId'],
      [JSON.stringify({ v: 1, sessionId: '' }), 'emptySessionId'],
      [JSON.stringify({ v: 1, sessionId: 'x'.repeat(300) }), 'oversizeSessionId'],
      [JSON.stringify({ v: 1, sessionId: 42 }), 'wrongType'],
      [JSON.stringify({ v: 1, sessionId: other, deadline: 'soon' }), 'wrongType'],
      [JSON.stringify({ v: 1, sessionId: other, token: 't'.repeat(5000) }), 'wrongType'],
      [JSON.stringify({ v: 1, sessionId: other, spreadMs: -1 }), 'wrongType'],
      [JSON.stringify({ v: 1, sessionId: liveSid }), 'duplicate'],
    ];
    const sentAt = Date.now();
    for (const [data] of cases) {
      await stack.video.sendSignal({ type: 'handoff', data }, liveSid);
    }
    // Over 8 kB cannot even be sent: the REST API refuses it, so no client ever sees it.
    await assert.rejects(stack.video.sendSignal({ type: 'handoff', data: 'x'.repeat(8193) }, liveSid), 'REST refuses data over 8 kB');
    await eachHas('signalRejected', cases.length);
    await sleep(3000);
    for (const p of people) {
      const events = await pageEvents(p);
      const reasons = all(events, 'signalRejected').map((e) => e.detail.reason);
      assert.deepEqual(reasons, cases.map(([, reason]) => reason), `${p.name}: every malformed signal rejected with its reason, in order`);
      for (const e of all(events, 'signalRejected')) assert.ok(e.detail.message, `${p.name}: rejection ${e.detail.reason} says why`);
      assert.deepEqual(all(events, 'handoffStarted'), [], `${p.name}: did not move`);
      assert.deepEqual(all(events, 'handoffFailed'), [], `${p.name}: nothing failed`);
      assert.deepEqual(await pageState(p), { state: 'live', sessionId: liveSid });
    }
    assert.equal((await stack.session(other)).connections.length, 0, 'nobody went to the named session');
    const rows = await steadySince(sentAt);
    assert.equal(rows.length, 6, 'every tile still there');
    for (const t of rows) assert.equal(t.elementIds.length, 1, `${t.viewer}: tile unchanged`);
    assert.deepEqual(interrupted(rows).map((t) => `${t.viewer}/${t.tile}: ${ms(t.across)} > ${ms(t.before)}`), [], `call undisturbed (${loadNote()})`);

    const r = await rotationRun(stack, room, people, { noticeMs: NOTICE_MS, steadyMs: 2000, beforeMinMs: 1500 });
    printRun('malformed signals, then rotation', r);
    assertEnded(r);
  }),
);

test('connecting to the new session fails twice, then succeeds: handoffFailed x2 (willRetry), then completed, call continuous', { timeout: 120000 }, () =>
  explained(async () => {
    const room = 'e2e-failconnects';
    await join(room);
    const ada = byName('Ada');
    let target = null;
    // The replacement session's connects fail twice, armed before the app server even knows
    // its ID; Ada's signal goes first, the others' wait until Ada is in, so the two failures
    // are hers.
    stack.proxy.hooks.onSessionCreated = async (sid) => {
      target = sid;
      await stack.hooks({ failConnects: { sessionId: sid, count: 2 } });
    };
    stack.proxy.hooks.onSignal = async ({ connectionId }) => {
      const state = await stack.state();
      const conn = state.sessions.flatMap((s) => s.connections).find((c) => c.connectionId === connectionId);
      if (!conn || participantIdOf(conn.data) === ada.id) return;
      await until(async () => (await stack.session(target))?.connections.some((c) => participantIdOf(c.data) === ada.id), {
        timeout: 15000,
        what: 'Ada in the new session before the others are signaled',
      }).catch(() => {});
    };
    const r = await rotationRun(stack, room, people, { noticeMs: LONG_NOTICE_MS });
    printRun('failing connects', r);
    assertEnded(r);
    const adaEvents = r.pages.find((pg) => pg.p === ada).events;
    const failed = all(adaEvents, 'handoffFailed');
    assert.equal(failed.length, 2, 'Ada: two handoffFailed');
    for (const f of failed) {
      assert.equal(f.detail.willRetry, true, 'Ada: will retry');
      assert.equal(typeof f.detail.nextAttemptAt, 'number', 'Ada: says when');
      assert.equal(f.detail.error?.code, 'connectFailed', 'Ada: error code');
      assert.equal(f.detail.to, r.newSid);
    }
    const done = first(adaEvents, 'handoffCompleted');
    assert.ok(done && done.at > failed[1].at, 'Ada: completed after the failures');
    for (const page of r.pages.filter((pg) => pg.p !== ada)) {
      assert.deepEqual(all(page.events, 'handoffFailed'), [], `${page.p.name}: no failures`);
    }
    assertContinuous(r);
  }),
);

test('one participant\'s handoff signal is dropped: it recovers through serverRotation when the old session is destroyed', { timeout: 120000 }, () =>
  explained(async () => {
    const room = 'e2e-dropped';
    await join(room);
    const cy = byName('Cy');
    const old = await stack.session(await stack.roomSession(room));
    const cyConn = old.connections.find((c) => participantIdOf(c.data) === cy.id);
    await stack.hooks({ dropSignals: { connectionId: cyConn.connectionId, type: 'handoff' } });
    const r = await rotationRun(stack, room, people, { noticeMs: NOTICE_MS });
    printRun('dropped signal', r);
    // Cy was dropped by the rotation (unavoidable: it never heard of the move). The others kept
    // showing Cy from the old session until the platform ended it (at the deadline's margin a
    // tile keeps its old picture while that still flows), so the rotation ended their overlap too.
    assertEnded(r, { leftWith: 'serverRotation' });
    const cyEvents = r.pages.find((pg) => pg.p === cy).events;
    const recovery = first(cyEvents, 'recoveryStarted');
    assert.ok(recovery, 'Cy: recoveryStarted');
    assert.equal(recovery.detail.reason, 'serverRotation', 'Cy: says why');
    assert.equal(recovery.detail.sessionId, r.oldSid, 'Cy: recovering from the old session');
    assert.deepEqual(all(cyEvents, 'handoffStarted'), [], 'Cy never got a handoff signal');
    const others = r.people.filter((p) => p !== cy);
    for (const page of r.pages.filter((pg) => pg.p !== cy)) {
      const done = first(page.events, 'handoffCompleted');
      assert.ok(done, `${page.p.name}: handoffCompleted`);
      assert.equal(done.detail.endedBy, 'oldSessionLost', `${page.p.name}: held the old session for Cy's picture until it ended`);
      assert.deepEqual(all(page.events, 'participantLeft'), [], `${page.p.name}: Cy never reported as leaving`);
    }
    // Between the two who got the signal, the call never stopped.
    assertContinuous(r, { viewers: others.map((p) => p.name), of: others.map((p) => p.id) });
    const cyTiles = r.tiles.filter((t) => t.tile === cy.id || t.viewer === 'Cy');
    console.log(`dropped signal: Cy's unavoidable interruption: ${cyTiles.map((t) => `${t.viewer}/${r.people.find((p) => p.id === t.tile)?.name} ${ms(t.across)} ms`).join(', ')}`);
  }),
);

test('a second rotation starts while the first handoff is under way: everyone ends in the newest session', { timeout: 150000 }, () =>
  explained(async () => {
    const room = 'e2e-double';
    await join(room, { latencyMs: 150 });
    const cy = byName('Cy');
    let first_ = null;
    let secondAsked = null;
    const secondRequested = new Promise((resolve) => {
      secondAsked = resolve;
    });
    stack.proxy.hooks.onSessionCreated = async (sid) => {
      first_ ??= sid;
    };
    // Cy's first signal waits until the second rotation was asked for: the first handoff is
    // then certainly under way for someone (Cy has not even started).
    stack.proxy.hooks.onSignal = async ({ sessionId, connectionId }) => {
      const s = await stack.session(sessionId);
      const conn = s?.connections.find((c) => c.connectionId === connectionId);
      if (conn && participantIdOf(conn.data) === cy.id && sessionId !== first_) await Promise.race([secondRequested, sleep(15000)]);
    };
    // Long notices: a loaded 2-core machine finishes both moves before each session is
    // destroyed (with 8 s, one participant was once still connecting when the middle
    // session went, and was dropped by the rotation).
    const r = await rotationRun(stack, room, people, {
      noticeMs: LONG_NOTICE_MS,
      rotate: async (ctx) => {
        await stack.rotateRoom(room, LONG_NOTICE_MS);
        // As soon as anyone is in the replacement, rotate the replacement too.
        await until(async () => first_ && (await stack.session(first_))?.connections.length > 0, { timeout: 15000, interval: 20, what: 'someone in the first replacement' });
        ctx.middle = first_;
        await stack.rotateSession(first_, LONG_NOTICE_MS);
        secondAsked();
        // The app server opens the newest session on the sandbox's sessionNotification.
        await until(async () => ![ctx.oldSid, first_].includes(await stack.roomSession(room)), { timeout: 10000, what: 'the app server to open the newest session' });
      },
      destroyed: (ctx) => [ctx.oldSid, ctx.middle],
      timeout: LONG_NOTICE_MS * 2 + 30000,
    });
    printRun('second rotation during the handoff', r);
    assert.notEqual(r.newSid, r.ctx.middle, 'the room moved on to the newest session');
    assertEnded(r);
    for (const page of r.pages) {
      assert.equal(all(page.events, 'handoffCompleted').at(-1)?.detail.to, r.newSid, `${page.p.name}: last handoff completed into the newest session`);
      assert.deepEqual(all(page.events, 'recoveryStarted'), [], `${page.p.name}: no recovery needed`);
    }
    assertContinuous(r);
  }),
);

test('a handoff signal without a token: the SDK asks the app\'s tokenProvider, and the move completes', { timeout: 120000 }, () =>
  explained(async () => {
    const room = 'e2e-tokenless';
    await join(room);
    stripTokens();
    const r = await rotationRun(stack, room, people, { noticeMs: NOTICE_MS });
    printRun('signal without token', r);
    const forwarded = stack.proxy.log.filter((e) => e.type === 'handoff' && e.forwardedData);
    assert.ok(forwarded.length >= 3 && forwarded.every((e) => !('token' in JSON.parse(e.forwardedData))), 'the signals went out without a token');
    assertEnded(r);
    for (const page of r.pages) {
      const asked = page.p.requests.filter((q) => q.path === `/api/rooms/${room}/token` && new URLSearchParams(q.query).get('sessionId') === r.newSid);
      assert.ok(asked.length >= 1, `${page.p.name}: asked the tokenProvider for the new session`);
      assert.deepEqual(all(page.events, 'handoffFailed'), [], `${page.p.name}: no failure`);
      assert.ok(first(page.events, 'handoffCompleted'), `${page.p.name}: handoffCompleted`);
    }
    assertContinuous(r);
  }),
);

test('a handoff signal without a token, and no tokenProvider: noToken reported, the others move, that participant tries every way back, then the call ends and says why', { timeout: 120000 }, () =>
  explained(async () => {
    const room = 'e2e-no-provider';
    assert.ok(sdkBuilt(), 'the SDK is not built');
    await stack.resetHooks();
    people = await stack.joinRoom(room, NAMES, { params: { Ben: { tokenProvider: '0' } } });
    stripTokens();
    const oldSid = await stack.roomSession(room);
    await stack.rotateRoom(room, 6000);
    const log = await waitDestroyed(stack, oldSid, { timeout: 40000 });
    const ben = byName('Ben');
    // Every way back is bounded: Ben's call ends (closed) within a few attempts.
    await until(async () => (await pageState(ben)).state === 'closed', { timeout: 30000, what: 'Ben\'s call to end' });
    const events = await pageEvents(ben);
    console.log(`no provider: Ben's events: ${events.map((e) => `${e.type}(${e.detail?.error?.code ?? e.detail?.reason ?? e.detail?.state ?? ''})`).join(', ')}`);
    const failed = all(events, 'handoffFailed');
    assert.ok(failed.length >= 1, 'Ben: handoffFailed');
    assert.equal(failed[0].detail.error.code, 'noToken', 'Ben: the reason is noToken');
    assert.equal(failed[0].detail.willRetry, false, 'Ben: no retry without a way to get a token');
    const newSid = await stack.roomSession(room);
    const newSession = await stack.session(newSid);
    const inNew = newSession.connections.map((c) => participantIdOf(c.data));
    for (const name of ['Ada', 'Cy']) assert.ok(inNew.includes(byName(name).id), `${name} moved to the new session`);
    assert.ok(!inNew.includes(ben.id), 'Ben could not join the new session');
    // Ben stayed in the old session until it was destroyed: never dropped early by the SDK.
    const { leftBy } = departures(log);
    assert.notEqual(leftBy[ben.id], 'clientDisconnected', `Ben did not leave the old session himself (${leftBy[ben.id]})`);
    // Then, the old session gone (serverRotation): recovery, as the design has it. The app's
    // resolveSession names the new session, which again needs a token Ben cannot get
    // (noToken, permanent); the SDK falls back to rejoining the old session ID (the platform
    // moves a rotated session to a new server), which the sandbox destroyed: the vendor's 1005,
    // permanent too. No way back is left: sessionEnded says why, and the call is closed.
    const recovery = first(events, 'recoveryStarted');
    assert.ok(recovery, 'Ben: recoveryStarted');
    assert.equal(recovery.detail.reason, 'serverRotation');
    const after = events.filter((e) => e.at >= recovery.at && e.type === 'handoffFailed');
    assert.ok(after.some((e) => e.detail.error.code === 'noToken' && e.detail.stopped === 'permanent'), 'Ben: the resolved session was refused for want of a token');
    assert.ok(
      after.some((e) => e.detail.error.code === 'connectFailed' && /OT_INVALID_SESSION_ID/.test(e.detail.error.message) && e.detail.stopped === 'permanent'),
      'Ben: the rejoin of the destroyed session ID refused by the vendor (1005), not retried',
    );
    assert.ok(after.length <= 6, `Ben: a bounded number of attempts (${after.length})`);
    const ended = first(events, 'sessionEnded');
    assert.ok(ended && ended.at >= recovery.at, 'Ben: sessionEnded');
    assert.equal(ended.detail.reason, 'serverRotation', 'Ben: sessionEnded says the session was rotated away');
  }),
);

test('no page made a request beyond 127.0.0.1 (the vendor client stayed on the sandbox)', () => {
  assert.ok(stack, 'the stack started');
  assert.deepEqual(stack.offLoopback, []);
});
