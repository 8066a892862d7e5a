// The vendor's own browser client (@vonage/client-sdk-video, unmodified) against the sandbox,
// in headless Chromium: what the sandbox must get right for the real client to work.
//   node --test --test-concurrency=1 examples/sandbox/tests/browser.test.mjs
// Needs the sandbox binary (SANDBOX_BIN, default target/debug/video-handoff-sandbox:
// `cargo build -p video-handoff-sandbox`) and /usr/bin/chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Video, MediaMode } from '@vonage/video';
import {
  APP_ID, makeTempRoot, startSandbox, stopProcess, startPageServer, launchChromium, openPage, rmTemp, waitFor,
} from './browser-helpers.mjs';

const MIN_FRAMES = 60; // 2 s of the 30 fps fake camera

let root;
let sandbox;
let pages;
let browser;
let video;
const opened = [];
const offLoopback = [];

before(async () => {
  root = await makeTempRoot();
  sandbox = await startSandbox(root);
  pages = await startPageServer();
  browser = await launchChromium(root);
  video = new Video({ applicationId: APP_ID, privateKey: sandbox.privateKey }, { videoHost: sandbox.url });
});

after(async () => {
  for (const o of opened) await o.context.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (pages) await new Promise((r) => pages.server.close(r));
  if (sandbox) await stopProcess(sandbox.child);
  await rmTemp(root);
});

async function open() {
  const o = await openPage(browser, pages.url, sandbox.url);
  opened.push(o);
  o.context.on('close', () => offLoopback.push(...o.offLoopback));
  return o;
}

async function closeAll() {
  while (opened.length) await opened.pop().context.close().catch(() => {});
}

async function newSession(mode = 'relayed') {
  const s = await video.createSession({ mediaMode: mode === 'routed' ? MediaMode.ROUTED : MediaMode.RELAYED });
  assert.match(s.sessionId, /^2_/);
  return s.sessionId;
}

function token(sessionId, data) {
  return video.generateClientToken(sessionId, { data, role: 'publisher' });
}

const admin = (path, body) => sandbox.admin('POST', path, body);

const events = (p) => p.page.evaluate(() => window.H.events);
const diag = (p) => `\npage log:\n${p.logs.join('\n')}`;

test('the vendor client loads from the app\'s origin and reaches nothing but the sandbox', { timeout: 60000 }, async () => {
  const a = await open();
  const info = await a.page.evaluate(() => ({
    req: window.__OT.checkSystemRequirements(),
    version: typeof window.__OT.version,
    pageOrigin: location.origin,
    cached: window.__OT.initSession('a', 'x') === window.__OT.initSession('a', 'x'),
    other: window.__OT.initSession('a', 'x') !== window.__OT.initSession('a', 'y'),
    fns: ['initSession', 'initPublisher', 'setLogLevel', 'setProxyUrl', 'on', 'off', 'once'].every((f) => typeof window.__OT[f] === 'function'),
  }));
  assert.equal(info.req, 1);
  assert.equal(info.version, 'string');
  assert.notEqual(info.pageOrigin, sandbox.url, 'the sandbox is another origin, as for an app');
  assert.ok(info.cached && info.other && info.fns);
  await closeAll();
});

// Both media modes: routed (the platform's default; media through the sandbox's router) and
// relayed (peer to peer).
for (const mode of ['routed', 'relayed']) test(`${mode}: two pages connect, publish, subscribe, exchange video, get a REST signal and are rotated out`, { timeout: 60000 }, async (t) => {
  const sid = await newSession(mode);
  const a = await open();
  const b = await open();

  const ca = await a.page.evaluate(([app, s, tok]) => window.H.connect(app, s, tok, { autoSubscribe: true }), [APP_ID, sid, token(sid, 'alice')]);
  assert.ok(ca.connectionId, `A connected: ${JSON.stringify(ca)}${diag(a)}`);
  assert.equal(ca.data, 'alice');
  assert.deepEqual({ p: ca.capabilities.publish, s: ca.capabilities.subscribe }, { p: 1, s: 1 });
  const pa = await a.page.evaluate(() => window.H.publish('Alice'));
  assert.ok(pa.streamId, `A published: ${JSON.stringify(pa)}${diag(a)}`);
  assert.equal(pa.streamConnectionId, ca.connectionId);

  const cb = await b.page.evaluate(([app, s, tok]) => window.H.connect(app, s, tok, { autoSubscribe: true }), [APP_ID, sid, token(sid, 'bob')]);
  assert.ok(cb.connectionId, `B connected: ${JSON.stringify(cb)}${diag(b)}`);
  const pb = await b.page.evaluate(() => window.H.publish('Bob'));
  assert.ok(pb.streamId, `B published: ${JSON.stringify(pb)}${diag(b)}`);

  // Real video both ways: frames presented by each subscriber's <video>.
  try {
    await waitFor(a.page, ([s, n]) => window.H.frames[s] > n, [pb.streamId, MIN_FRAMES], 20000);
    await waitFor(b.page, ([s, n]) => window.H.frames[s] > n, [pa.streamId, MIN_FRAMES], 20000);
  } catch (e) {
    const fa = await a.page.evaluate(() => window.H.frames);
    const fb = await b.page.evaluate(() => window.H.frames);
    assert.fail(`no video: A frames ${JSON.stringify(fa)}, B frames ${JSON.stringify(fb)}${diag(a)}${diag(b)}`);
  }
  const framesA = await a.page.evaluate((s) => window.H.frames[s], pb.streamId);
  const framesB = await b.page.evaluate((s) => window.H.frames[s], pa.streamId);
  t.diagnostic(`frames presented: A sees B ${framesA}, B sees A ${framesB}`);
  // Frame rate over one more second (the fake camera sends 30 fps).
  await new Promise((r) => setTimeout(r, 1000));
  const rateA = (await a.page.evaluate((s) => window.H.frames[s], pb.streamId)) - framesA;
  const rateB = (await b.page.evaluate((s) => window.H.frames[s], pa.streamId)) - framesB;
  t.diagnostic(`frames in the next second: A sees B ${rateA}, B sees A ${rateB}`);
  assert.ok(rateA >= 10 && rateB >= 10, `video keeps flowing: ${rateA}, ${rateB} frames/s`);
  const dims = await a.page.evaluate((s) => {
    const sub = window.H.subscribers[s];
    return { w: sub.videoWidth(), h: sub.videoHeight(), vol: sub.getAudioVolume() };
  }, pb.streamId);
  assert.ok(dims.w > 0 && dims.h > 0, `subscriber video dimensions ${JSON.stringify(dims)}`);

  // The media went where the mode says: through the sandbox's router, or between the pages.
  const state = await sandbox.admin('GET', '/admin/state');
  const session = state.sessions.find((x) => x.sessionId === sid);
  assert.equal(session.mediaMode, mode);
  if (mode === 'routed') {
    assert.ok(session.media?.framesOut > 0 && session.media.publishers === 2 && session.media.subscribers === 2, `router table: ${JSON.stringify(session.media)}`);
  } else {
    assert.equal(session.media, null, 'a relayed session has no router table');
  }

  // Event shapes.
  const ea = await events(a);
  const eb = await events(b);
  const find = (list, pred) => list.find(pred);
  for (const [list, own] of [[ea, ca.connectionId], [eb, cb.connectionId]]) {
    const sc = find(list, (e) => e.type === 'sessionConnected');
    assert.ok(sc && sc.targetOk && sc.hasPreventDefault && sc.cancelable === false, 'sessionConnected event shape');
    assert.ok(find(list, (e) => e.type === 'connectionCreated' && e.connectionId === own), 'connectionCreated for the own connection');
    assert.ok(!find(list, (e) => e.type === 'streamCreated' && e.src === 'session' && e.streamConnectionId === own),
      'no session streamCreated for the own stream');
    const ps = find(list, (e) => e.src === 'publisher' && e.type === 'streamCreated');
    assert.ok(ps && ps.streamConnectionId === own && ps.targetOk, 'publisher streamCreated with its stream');
    assert.ok(find(list, (e) => e.src === 'publisher' && e.type === 'videoElementCreated' && e.element === 'VIDEO'));
  }
  assert.ok(find(ea, (e) => e.type === 'connectionCreated' && e.connectionId === cb.connectionId && e.connectionData === 'bob'));
  assert.ok(find(eb, (e) => e.type === 'connectionCreated' && e.connectionId === ca.connectionId && e.connectionData === 'alice'),
    'connections already in the session are announced');
  const bSeesA = find(eb, (e) => e.type === 'streamCreated' && e.streamId === pa.streamId);
  assert.ok(bSeesA && bSeesA.streamName === 'Alice' && bSeesA.streamConnectionId === ca.connectionId, 'streams already in the session are announced');
  assert.ok(find(ea, (e) => e.type === 'streamCreated' && e.streamId === pb.streamId && e.streamName === 'Bob'));
  for (const [list, s] of [[ea, pb.streamId], [eb, pa.streamId]]) {
    assert.ok(find(list, (e) => e.src === `sub:${s}` && e.type === 'videoElementCreated' && e.element === 'VIDEO' && e.targetOk));
    assert.ok(find(list, (e) => e.src === `sub:${s}` && e.type === 'connected'));
    assert.ok(find(list, (e) => e.src === `sub:${s}` && e.type === 'subscribeCallback' && e.error === null));
  }
  assert.equal(await a.page.evaluate(() => window.H.sameSession), true);

  // A signal through the REST API arrives with from === null, on "signal" and "signal:TYPE".
  await video.sendSignal({ type: 'test', data: 'from the server' }, sid);
  for (const p of [a, b]) {
    await waitFor(p.page, () => window.H.events.filter((e) => e.data === 'from the server').length >= 2);
    const sig = (await events(p)).filter((e) => e.data === 'from the server');
    assert.deepEqual(sig.map((e) => [e.type, e.from, e.via || 'signal']),
      [['signal:test', null, 'signal'], ['signal:test', null, 'signal:test']]);
  }
  // A client's signal names its sender.
  const sent = await a.page.evaluate(() => window.H.session.signal({ type: 'test', data: 'from alice' }).then(() => 'ok', (e) => e.name));
  assert.equal(sent, 'ok');
  await waitFor(b.page, () => window.H.events.some((e) => e.data === 'from alice'));
  assert.equal((await events(b)).find((e) => e.data === 'from alice').from, ca.connectionId);

  // The tracks the publishers captured, to see them stopped when the rotation destroys them.
  for (const p of [a, b]) await p.page.evaluate(() => { window.H.pubTrack = window.H.publisher.getVideoSource().track; });
  // Rotation with a short notice: both are dropped with reason serverRotation.
  await admin(`/admin/sessions/${encodeURIComponent(sid)}/rotate`, { noticeMs: 300 });
  for (const p of [a, b]) {
    await waitFor(p.page, () => window.H.events.some((e) => e.type === 'sessionDisconnected'), undefined, 10000);
    await waitFor(p.page, () => window.H.events.some((e) => e.src === 'publisher' && e.type === 'destroyed'));
    const list = await events(p);
    const sd = list.filter((e) => e.type === 'sessionDisconnected');
    assert.equal(sd.length, 1);
    assert.equal(sd[0].reason, 'serverRotation');
    assert.equal(sd[0].cancelable, true);
    assert.ok(list.some((e) => e.src === 'publisher' && e.type === 'streamDestroyed' && e.reason === 'serverRotation'));
    assert.ok(list.some((e) => e.src.startsWith('sub:') && e.type === 'destroyed'), 'subscribers destroyed');
    const after = await p.page.evaluate(() => ({
      connection: window.H.session.connection,
      track: window.H.pubTrack ? window.H.pubTrack.readyState : null,
      links: window.H.peerConnections(),
    }));
    assert.equal(after.connection, null, 'the real client sets session.connection to null');
    assert.equal(after.track, 'ended', "a destroyed publisher stops its tracks");
    assert.ok(after.links.every((s) => s === 'closed' || s === 'none'), `peer connections closed: ${after.links}`);
  }
  // The rotated session is gone: connecting to it again is refused.
  const again = await a.page.evaluate(([app, s, tok]) => window.H.connect(app, s, tok), [APP_ID, sid, token(sid, 'alice')]);
  assert.equal(again.error && again.error.name, 'OT_INVALID_SESSION_ID');
  await closeAll();
});

test('a token for another session is refused with OT_AUTHENTICATION_ERROR, and no event fires', { timeout: 60000 }, async () => {
  const sid = await newSession();
  const other = await newSession();
  const a = await open();
  const res = await a.page.evaluate(([app, s, tok]) => window.H.connect(app, s, tok), [APP_ID, sid, token(other, 'mallory')]);
  assert.ok(res.error, `refused: ${JSON.stringify(res)}`);
  assert.equal(res.error.name, 'OT_AUTHENTICATION_ERROR');
  assert.equal(res.error.code, 1004);
  assert.equal(res.error.isError, true);
  assert.ok(res.error.message.length > 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await events(a), [], 'neither sessionConnected nor sessionDisconnected');
  const logs = a.logs.join('\n');
  assert.ok(!logs.includes(token(other, 'mallory').split('.')[2]), 'the token is never logged');
  await closeAll();
});

test('cut socket: networkDisconnected; disconnect(): clientDisconnected', { timeout: 60000 }, async () => {
  const sid = await newSession();
  const a = await open();
  const b = await open();
  const ca = await a.page.evaluate(([app, s, tok]) => window.H.connect(app, s, tok), [APP_ID, sid, token(sid, 'alice')]);
  const pa = await a.page.evaluate(() => window.H.publish('Alice'));
  assert.ok(pa.streamId, JSON.stringify(pa) + diag(a));
  const cb = await b.page.evaluate(([app, s, tok]) => window.H.connect(app, s, tok, { autoSubscribe: true }),
    [APP_ID, sid, token(sid, 'bob')]);
  assert.ok(cb.connectionId, JSON.stringify(cb));
  await waitFor(b.page, ([s, n]) => window.H.frames[s] > n, [pa.streamId, 10], 20000);

  // B toggles the video it receives: videoDisabled / videoEnabled.
  const toggled = await b.page.evaluate((s) => {
    const sub = window.H.subscribers[s];
    sub.subscribeToVideo(false);
    sub.subscribeToVideo(true);
    sub.setAudioVolume(20);
    return sub.getAudioVolume();
  }, pa.streamId);
  assert.equal(toggled, 20);
  const vt = (await events(b)).filter((e) => e.type === 'videoDisabled' || e.type === 'videoEnabled').map((e) => `${e.type}:${e.reason}`);
  assert.deepEqual(vt, ['videoDisabled:subscribeToVideo', 'videoEnabled:subscribeToVideo']);

  // A stops sending video: everyone sees streamPropertyChanged; B's subscriber videoDisabled.
  await a.page.evaluate(() => { window.H.publisher.publishVideo(false); });
  await waitFor(b.page, () => window.H.events.some((e) => e.type === 'videoDisabled' && e.reason === 'publishVideo'));
  await a.page.evaluate(() => { window.H.publisher.publishVideo(true); });
  await waitFor(b.page, () => window.H.events.some((e) => e.type === 'videoEnabled' && e.reason === 'publishVideo'));
  const spc = await b.page.evaluate(() => window.H.events.filter((e) => e.type === 'streamPropertyChanged'));
  // hasVideo off, then on (the real client may also report the video's dimensions changing).
  const hasVideo = spc.filter((e) => e.changedProperty === 'hasVideo').map((e) => e.newValue);
  assert.deepEqual(hasVideo, [false, true], JSON.stringify(spc));
  const spcFull = await b.page.evaluate((s) => window.H.session.streams.get(s).hasVideo, pa.streamId);
  assert.equal(spcFull, true, 'the Stream object is updated in place');

  // B unsubscribes (destroyed, reason unsubscribe) and subscribes again: video flows again.
  await b.page.evaluate((s) => window.H.session.unsubscribe(window.H.subscribers[s]), pa.streamId);
  // (The real client fires the subscriber's `destroyed` after unsubscribe() returns.)
  await waitFor(b.page, (s) => window.H.events.some((e) => e.src === `sub:${s}` && e.type === 'destroyed'), pa.streamId);
  const gone = (await events(b)).find((e) => e.src === `sub:${pa.streamId}` && e.type === 'destroyed');
  assert.equal(gone.reason, 'Unsubscribe', 'the real client capitalizes this reason');
  await b.page.evaluate((s) => window.H.subscribe(window.H.session.streams.get(s)), pa.streamId);
  await waitFor(b.page, ([s, n]) => window.H.frames[s] > n, [pa.streamId, 10], 20000);

  // The sandbox drops A's socket without a close frame.
  await admin(`/admin/connections/${encodeURIComponent(ca.connectionId)}/cut`);
  await waitFor(a.page, () => window.H.events.some((e) => e.type === 'sessionDisconnected'), undefined, 10000);
  assert.equal((await events(a)).find((e) => e.type === 'sessionDisconnected').reason, 'networkDisconnected');
  await waitFor(b.page, () => window.H.events.some((e) => e.type === 'connectionDestroyed'), undefined, 10000);
  const eb = await events(b);
  const sd = eb.find((e) => e.type === 'streamDestroyed');
  assert.ok(sd && sd.streamId === pa.streamId && sd.reason === 'networkDisconnected' && sd.cancelable, JSON.stringify(sd));
  const cd = eb.find((e) => e.type === 'connectionDestroyed');
  assert.ok(cd.connectionId === ca.connectionId && cd.reason === 'networkDisconnected');
  assert.ok(eb.indexOf(sd) < eb.indexOf(cd), 'streamDestroyed before connectionDestroyed');
  assert.ok(eb.some((e) => e.src === `sub:${pa.streamId}` && e.type === 'destroyed'), 'the subscriber is destroyed with its stream');

  // B leaves on its own: sessionDisconnected (clientDisconnected), fired asynchronously.
  const sync = await b.page.evaluate(() => {
    window.H.session.disconnect();
    return window.H.events.some((e) => e.type === 'sessionDisconnected');
  });
  assert.equal(sync, false, 'not fired synchronously inside disconnect()');
  await waitFor(b.page, () => window.H.events.some((e) => e.type === 'sessionDisconnected'));
  assert.equal((await events(b)).find((e) => e.type === 'sessionDisconnected').reason, 'clientDisconnected');
  const state = await sandbox.admin('GET', '/admin/state');
  const s = state.sessions.find((x) => x.sessionId === sid);
  assert.ok(!s || (s.connections || []).length === 0, `no connection left: ${JSON.stringify(s)}`);
  await closeAll();
});

test('MediaStreamTrack sources are published as given and stopped on destroy; default UI; destroy() unpublishes', { timeout: 60000 }, async () => {
  const sid = await newSession();
  const a = await open();
  const ca = await a.page.evaluate(([app, s, tok]) => window.H.connect(app, s, tok), [APP_ID, sid, token(sid, 'alice')]);
  assert.ok(ca.connectionId);
  const r = await a.page.evaluate(async () => {
    const OT = window.H.OT();
    const cam = (await navigator.mediaDevices.getUserMedia({ video: true })).getVideoTracks()[0];
    const clone = cam.clone();
    const ev = [];
    const notConnected = await new Promise((res) => {
      OT.initSession('x', 'never-connected').publish(OT.initPublisher(null, { insertDefaultUI: false, videoSource: cam.clone(), audioSource: null }), (e) => res(e && e.name));
    });
    const pub = OT.initPublisher('pub', { videoSource: clone, audioSource: null, name: 'custom', width: 200, height: 150 });
    pub.on({ streamCreated: (e) => ev.push(e.type), streamDestroyed: (e) => ev.push(`${e.type}:${e.reason}`), destroyed: (e) => ev.push(e.type) });
    const err = await new Promise((res) => window.H.session.publish(pub, (e) => res(e ? e.name : null)));
    const stream = pub.stream;
    const src = pub.getVideoSource();
    const out = {
      notConnected,
      err,
      hasAudio: stream.hasAudio,
      hasVideo: stream.hasVideo,
      videoType: stream.videoType,
      sameTrack: src.track === clone,
      sourceType: src.type,
      element: pub.element && pub.element.tagName,
      elementId: pub.element && pub.element.id,
      inDom: !!(pub.element && document.body.contains(pub.element) && pub.element.querySelector('video')),
      byStream: window.H.session.getPublisherForStream(stream) === pub,
      streamId: stream.streamId,
    };
    pub.destroy();
    out.cloneState = clone.readyState;
    out.camState = cam.readyState;
    out.removed = !document.body.contains(pub.element);
    out.events = ev;
    cam.stop();
    return out;
  });
  assert.equal(r.notConnected, 'OT_NOT_CONNECTED');
  assert.equal(r.err, null);
  assert.deepEqual([r.hasAudio, r.hasVideo, r.videoType, r.sameTrack, r.sourceType], [false, true, 'custom', true, 'custom']);
  assert.deepEqual([r.element, r.elementId, r.inDom, r.byStream], ['DIV', 'pub', true, true], 'default UI replaces the target element');
  assert.equal(r.cloneState, 'ended', 'the given track is stopped on destroy (not cloned)');
  assert.equal(r.camState, 'live', 'only the track given to the publisher');
  assert.equal(r.removed, true);
  // The real client's reason when destroy() ends a published stream: "reset".
  assert.deepEqual(r.events, ['streamCreated', 'streamDestroyed:reset', 'destroyed']);
  // The stream is gone from the sandbox too.
  let streams = 1;
  for (let i = 0; i < 40 && streams; i += 1) {
    const state = await sandbox.admin('GET', '/admin/state');
    const s = state.sessions.find((x) => x.sessionId === sid);
    streams = s ? (s.streams || []).length : 0;
    if (streams) await new Promise((res) => setTimeout(res, 50));
  }
  assert.equal(streams, 0, 'destroy() unpublished the stream');
  await closeAll();
});

test('no page made a request beyond 127.0.0.1', () => {
  assert.deepEqual(offLoopback, []);
});
