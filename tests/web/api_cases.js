// Browser cases of the public JS API (`join()` from js/index.js) against the OT test double,
// run one at a time by tests/web/api.test.mjs in tests/web/api_page.html. Each case builds
// its own world and returns plain figures for the test to assert on.

import { join, HandoffError } from '../../js/index.js';
import { World } from './ot_double.js';
import { container, handoffSignal, localMedia, sleep, waitFor } from './helpers.js';

const EVENT_TYPES = [
  'stateChanged',
  'handoffStarted',
  'participantSwapped',
  'handoffCompleted',
  'handoffFailed',
  'subscribeFailed',
  'announceFailed',
  'recoveryStarted',
  'sessionEnded',
  'signalRejected',
  'participantJoined',
  'participantLeft',
];

function describe(e) {
  return { name: e?.name, code: e?.code, message: e?.message, isHandoffError: e instanceof HandoffError };
}

/** A world where `keys` are connected to `sid` and publish a camera each; `grid` shows the tiles. */
function setUp(keys, sid = 's1') {
  const world = new World();
  const people = new Map(keys.map((k) => [k, world.join(k, sid)]));
  for (const c of people.values()) world.publish(c, sid);
  const grid = container();
  const media = localMedia();
  const events = [];
  const on = {};
  for (const type of EVENT_TYPES) {
    on[type] = (e) => {
      events.push(e.type ?? type);
      if (type === 'participantJoined') grid.append(e.participant.element);
    };
  }
  return { world, people, grid, media, events, on };
}

/** What is left after the call closed: everything must be zero. */
async function leftovers(t, call) {
  await sleep(300); // a step of the media teardown runs every 100 ms
  const closedAt = t.events.lastIndexOf('stateChanged:closed');
  const out = {
    state: call?.state,
    listeners: t.world.listenerCount(),
    sessions: t.world.liveClientSessions(),
    subscribers: t.world.subscriberCount(),
    publishers: t.world.publisherCount(),
    videos: document.querySelectorAll('video').length,
    handlerErrors: t.world.handlerErrors.map(String),
    eventsAfterClosed: closedAt < 0 ? null : t.events.length - 1 - closedAt,
    closedEvents: t.events.filter((e) => e === 'stateChanged:closed').length,
  };
  let moveError;
  try {
    call?.moveTo('s9');
  } catch (e) {
    moveError = describe(e);
  }
  out.moveToAfterClose = moveError?.code ?? (call ? 'no error' : undefined);
  t.world.dispose();
  t.media.stop();
  t.grid.remove();
  return out;
}

/** Records `stateChanged` with its state (so the closed one can be found). */
function recordStates(t) {
  t.on.stateChanged = (e) => t.events.push(`stateChanged:${e.state}`);
}

/** Moves the participants to `to` and signals this client (the server side of a rotation). */
function rotate(t, from, to, { token = 't2', moved = true } = {}) {
  for (const [k] of t.people) {
    const c = t.world.join(k, to);
    t.world.publish(c, to);
    if (moved) {
      // Peers say they moved once they show everyone from `to`; they say it at once here.
      setTimeout(() => t.world.signal(to, 'handoff-moved', from, c), 200);
    }
  }
  t.world.signal(from, 'handoff', handoffSignal(to, token));
}

/**
 * Closes the call from inside the app handler of `type` (or from inside a hook: `hook:*`),
 * then reports what is left. `reached` tells whether the handler or hook ran at all.
 */
export async function closeInside(target) {
  const t = setUp(['alice', 'bob']);
  recordStates(t);
  let call;
  let reached = false;
  let joinError;
  const controller = new AbortController();
  const closeNow = () => {
    reached = true;
    if (call) call.close();
    else controller.abort(new Error('closed from inside a hook during join'));
  };
  const options = {
    OT: t.world.OT,
    applicationId: 'app',
    sessionId: 's1',
    token: 't1',
    publisher: t.media,
    signal: controller.signal,
    on: t.on,
  };
  if (target.startsWith('event:')) {
    const type = target.slice(6);
    const record = t.on[type];
    t.on[type] = function (e) {
      record(e);
      if (!reached && (type !== 'stateChanged' || e.state === 'live')) {
        reached = true;
        call = this; // handlers are called with the call as `this` (also before join() resolves)
        this.close();
      }
    };
  }
  if (target === 'hook:participantKey' || target === 'hook:participantKey@join') {
    const during = target.endsWith('@join');
    options.participantKey = (c) => {
      if (c.data === (during ? 'bob' : 'dave') && !reached) closeNow();
      return c.data;
    };
  }
  if (target === 'hook:tokenProvider' || target === 'hook:tokenProvider@join') {
    if (target.endsWith('@join')) delete options.token;
    options.tokenProvider = (sid) => {
      if (!reached) closeNow();
      return `token-for-${sid}`;
    };
  }
  if (target === 'hook:resolveSession') {
    options.resolveSession = () => {
      if (!reached) closeNow();
      return null;
    };
  }
  try {
    call = await join(options);
  } catch (e) {
    joinError = describe(e);
  }
  if (call && !reached) provoke(t, target);
  await waitFor(() => reached, 8000, `the handler or hook of ${target}`).catch(() => {});
  const out = await leftovers(t, call);
  return { reached, joinError, ...out };
}

/** Makes the event or hook call of `target` happen in a live call. */
function provoke(t, target) {
  const w = t.world;
  switch (target) {
    case 'event:participantJoined':
    case 'hook:participantKey':
      w.publish(w.join('dave', 's1'), 's1');
      break;
    case 'event:handoffStarted':
    case 'event:participantSwapped':
    case 'event:handoffCompleted':
      rotate(t, 's1', 's2');
      break;
    case 'event:handoffFailed':
      w.failConnects('s2', 10);
      rotate(t, 's1', 's2');
      break;
    case 'event:announceFailed':
      w.failSignals('s2');
      rotate(t, 's1', 's2');
      break;
    case 'event:subscribeFailed':
      w.failSubscribes('s1');
      w.publish(w.join('dave', 's1'), 's1');
      break;
    case 'event:signalRejected':
      w.signal('s1', 'handoff', handoffSignal('evil', 't'), t.people.get('alice'));
      break;
    case 'hook:tokenProvider':
      rotate(t, 's1', 's2', { token: null }); // a signal without a token
      break;
    case 'event:recoveryStarted':
      w.destroy('s1', 'networkDisconnected');
      break;
    case 'event:sessionEnded':
      w.destroy('s1', 'forceDisconnected');
      break;
    case 'hook:resolveSession':
      w.destroy('s1', 'serverRotation');
      break;
    case 'event:participantLeft':
      w.leave(t.people.get('alice'), 's1');
      break;
    default:
      // event:stateChanged and the @join hooks happen during join()
      break;
  }
}

/**
 * Vendor objects whose getters return values of the wrong type: a connection without an ID,
 * a stream without one, token data that is a number, a signal whose data is a number.
 * The call must ignore what it cannot read, keep working, and close cleanly.
 */
export async function wrongTypes() {
  const t = setUp(['alice']);
  const w = t.world;
  w.publish(w.join('noid', 's1', { connectionId: null }), 's1');
  w.publish(w.join('nostream', 's1'), 's1', { fields: { streamId: undefined, hasVideo: 'yes' } });
  w.publish(w.join('numeric', 's1', { data: 42 }), 's1');
  const rejected = [];
  t.on.signalRejected = (e) => rejected.push(e.reason);
  let call;
  let joinError;
  try {
    call = await join({ OT: w.OT, applicationId: 'app', sessionId: 's1', token: 't1', publisher: t.media, on: t.on });
  } catch (e) {
    joinError = describe(e);
  }
  await sleep(300);
  w.signal('s1', 'handoff', 12345);
  await sleep(200);
  const shown = [...t.grid.querySelectorAll('.video-handoff-tile')]
    .filter((tile) => tile.querySelector('video[data-active="true"]'))
    .map((tile) => tile.getAttribute('data-participant'));
  const participants = call?.participants.map((p) => p.key) ?? [];
  const stateBeforeClose = call?.state;
  await call?.close();
  const out = await leftovers(t, call);
  return { joinError, stateBeforeClose, participants, shown, rejected, ...out };
}

/** `join()` aborted while getUserMedia is still asking: the camera must not stay on. */
export async function abortDuringGetUserMedia() {
  const world = new World();
  world.publish(world.join('alice', 's1'), 's1');
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  const tracks = [];
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await real(constraints);
    tracks.push(...stream.getTracks());
    await sleep(300); // the user is still looking at the permission prompt
    return stream;
  };
  const controller = new AbortController();
  let joinError;
  let call;
  const started = join({ OT: world.OT, applicationId: 'app', sessionId: 's1', token: 't1', signal: controller.signal });
  setTimeout(() => controller.abort(new Error('the user left')), 100);
  try {
    call = await started;
  } catch (e) {
    joinError = describe(e);
  } finally {
    navigator.mediaDevices.getUserMedia = real;
  }
  await sleep(300);
  const out = {
    joinError,
    callState: call?.state ?? null,
    tracks: tracks.length,
    liveTracks: tracks.filter((tr) => tr.readyState === 'live').length,
    connects: world.calls.filter((c) => c[0] === 'connect').length,
    sessions: world.liveClientSessions(),
  };
  await call?.close();
  tracks.forEach((tr) => tr.stop());
  world.dispose();
  return out;
}

/** `join()` in a dedicated worker, where there is no document. */
export async function joinInWorker() {
  const url = new URL('./api_worker.js', import.meta.url);
  const worker = new Worker(url, { type: 'module' });
  try {
    return await new Promise((resolve, reject) => {
      worker.onmessage = (m) => resolve(m.data);
      worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
      setTimeout(() => reject(new Error('the worker did not answer')), 10_000);
    });
  } finally {
    worker.terminate();
  }
}

/**
 * Two handlers of one event type: the first calls `moveTo`. The second must still see the
 * events in the order they happened (its own event first, then what `moveTo` caused).
 */
export async function secondHandlerOrder() {
  const t = setUp(['alice']);
  const w = t.world;
  const call = await join({ OT: w.OT, applicationId: 'app', sessionId: 's1', token: 't1', publisher: t.media, on: t.on });
  const seen = [];
  call.on('participantJoined', (e) => {
    if (e.participant.key === 'dave') call.moveTo('s2', { token: 't2' });
  });
  call.on('participantJoined', (e) => seen.push(`participantJoined:${e.participant.key}`));
  call.on('handoffStarted', (e) => seen.push(`handoffStarted:${e.to}`));
  call.on('stateChanged', (e) => seen.push(`stateChanged:${e.state}`));
  w.publish(w.join('dave', 's1'), 's1');
  await waitFor(() => seen.includes('stateChanged:handoff'), 3000, 'the move').catch(() => {});
  await call.close();
  const out = await leftovers(t, call);
  return { seen, ...out };
}

let cycles;

/**
 * Joins and closes `n` calls in a row in one page (two remote participants each time, their
 * videos shown before the close), and returns what the page holds afterwards. The world, the
 * local media and the grid persist across calls of this function.
 */
export async function joinCloseCycles(n) {
  if (!cycles) {
    const world = new World();
    for (const key of ['alice', 'bob']) world.publish(world.join(key, 's1'), 's1');
    cycles = { world, media: localMedia(), grid: container(), done: 0 };
  }
  const { world, media, grid } = cycles;
  for (let i = 0; i < n; i++) {
    const call = await join({
      OT: world.OT,
      applicationId: 'app',
      sessionId: 's1',
      token: 't1',
      publisher: media,
      on: { participantJoined: ({ participant }) => grid.append(participant.element) },
    });
    await waitFor(() => grid.querySelectorAll('video[data-active="true"]').length === 2, 5000, 'both videos shown');
    await call.close();
    grid.replaceChildren();
    world.calls.length = 0; // the double's own log of calls: not the SDK's to hold
    cycles.done++;
  }
  const wasm = await import('../../pkg/video_handoff.js');
  const exports = await wasm.default();
  return {
    cycles: cycles.done,
    wasmMemoryBytes: exports.memory.buffer.byteLength,
    liveCallbacks: typeof wasm.liveCallbacks === 'function' ? wasm.liveCallbacks() : null,
    otListeners: world.listenerCount(),
    sessions: world.liveClientSessions(),
    subscribers: world.subscriberCount(),
    publishers: world.publisherCount(),
    videos: document.querySelectorAll('video').length,
    handlerErrors: world.handlerErrors.length,
  };
}

/**
 * A call closed, then the same session joined again at once: the vendor's late
 * `sessionDisconnected` of the first connection (the same cached Session object) must not
 * fail the second connect.
 */
export async function rejoinSameSession() {
  const t = setUp(['alice']);
  const first = await join({ OT: t.world.OT, applicationId: 'app', sessionId: 's1', token: 't1', publisher: t.media });
  await first.close();
  const failed = [];
  const second = await join({
    OT: t.world.OT,
    applicationId: 'app',
    sessionId: 's1',
    token: 't1',
    publisher: t.media,
    on: { ...t.on, handoffFailed: (e) => failed.push(e.error.code) },
  });
  await sleep(100);
  const connects = t.world.calls.filter((c) => c[0] === 'connect').length;
  const state = second.state;
  await second.close();
  const out = await leftovers(t, second);
  return { failed, connects, stateAfterRejoin: state, ...out };
}

/** Every `handoffFailed` as plain figures. */
function failures(list) {
  return (e) => list.push({ code: e.error.code, message: e.error.message, willRetry: e.willRetry, stopped: e.stopped });
}

/**
 * Joining a session the platform never created (the vendor's 1005): join() rejects with the
 * vendor's words, after one connect, and the call ends; nothing loops.
 */
export async function joinUnknownSession() {
  const t = setUp(['alice']);
  recordStates(t);
  const sid = t.world.unknownSessionId();
  const failed = [];
  let joinError = null;
  let call = null;
  try {
    call = await join({ OT: t.world.OT, applicationId: 'app', sessionId: sid, token: 't1', publisher: t.media, on: { ...t.on, handoffFailed: failures(failed) } });
  } catch (e) {
    joinError = describe(e);
  }
  await sleep(1500); // a retry, had there been one, would have come by now
  const connects = t.world.calls.filter((c) => c[0] === 'connect' && c[1] === sid).length;
  const out = await leftovers(t, call);
  return { joinError, failed, connects, states: t.events.filter((e) => e.startsWith('stateChanged')), ...out };
}

/**
 * A live call told to move to a session that does not exist: one attempt, handoffFailed
 * `permanent`, and the call stays live in its session, video untouched.
 */
export async function moveToUnknownSession() {
  const t = setUp(['alice', 'bob']);
  const failed = [];
  const call = await join({ OT: t.world.OT, applicationId: 'app', sessionId: 's1', token: 't1', publisher: t.media, on: { ...t.on, handoffFailed: failures(failed) } });
  await waitFor(() => call.participants.length === 2, 5000, 'both tiles');
  const sid = t.world.unknownSessionId();
  t.world.signal('s1', 'handoff', handoffSignal(sid, t.world.token(sid, 'me')));
  await waitFor(() => failed.length > 0, 5000, 'handoffFailed');
  await sleep(1500);
  const connects = t.world.calls.filter((c) => c[0] === 'connect' && c[1] === sid).length;
  const after = { state: call.state, sessionId: call.sessionId, tiles: call.participants.length };
  await call.close();
  const out = await leftovers(t, call);
  return { failed, connects, after, ...out };
}

/**
 * A move without a token whose tokenProvider never answers: each attempt ends after
 * `hookTimeoutMs` (hookTimeout), the move is given up after `maxAttempts`, the call stays
 * live in its session, and the provider's late answer changes nothing.
 */
export async function tokenProviderNeverAnswers() {
  const t = setUp(['alice', 'bob']);
  const failed = [];
  const asked = [];
  const late = [];
  const call = await join({
    OT: t.world.OT,
    applicationId: 'app',
    sessionId: 's1',
    token: 't1',
    publisher: t.media,
    hookTimeoutMs: 150,
    maxAttempts: 2,
    tokenProvider: (sid) => {
      asked.push(sid);
      return new Promise((resolve) => late.push(resolve));
    },
    on: { ...t.on, handoffFailed: failures(failed) },
  });
  await waitFor(() => call.participants.length === 2, 5000, 'both tiles');
  t.world.signal('s1', 'handoff', handoffSignal('s2', undefined));
  await waitFor(() => failed.some((f) => !f.willRetry), 15000, 'the move given up');
  for (const resolve of late) resolve('t2'); // too late: ignored
  await sleep(300);
  const connects = t.world.calls.filter((c) => c[0] === 'connect' && c[1] === 's2').length;
  const after = { state: call.state, sessionId: call.sessionId, tiles: call.participants.length };
  await call.close();
  const out = await leftovers(t, call);
  return { failed, asked: asked.length, connects, after, ...out };
}

/** A tokenProvider that rejects with `permanent: true`: one attempt, then given up. */
export async function tokenProviderSaysPermanent() {
  const t = setUp(['alice']);
  const failed = [];
  let asked = 0;
  const call = await join({
    OT: t.world.OT,
    applicationId: 'app',
    sessionId: 's1',
    token: 't1',
    publisher: t.media,
    tokenProvider: async () => {
      asked += 1;
      throw Object.assign(new Error('room closed'), { permanent: true });
    },
    on: { ...t.on, handoffFailed: failures(failed) },
  });
  t.world.signal('s1', 'handoff', handoffSignal('s2', undefined));
  await waitFor(() => failed.length > 0, 5000, 'handoffFailed');
  await sleep(1500);
  const stateAfter = call.state;
  await call.close();
  const out = await leftovers(t, call);
  return { failed, asked, stateAfter, ...out };
}
