// The demo page: join a room, see everyone, rotate the session, watch the frame gaps.
//
// Query parameters: `room`, `name`, `autojoin=1` (join at once with them), `mode`: `sdk`
// (default), `naive` (`naive=1` too: leave, then rejoin) or `vendor` (the vendor's own
// migration, no SDK), see naive-call.js; `sessionMigration=1` and `rotation=migrate` (see
// below); `id` (participant ID; default one per tab),
// `video=WxH` (camera capture size asked for, default 640x480; the end-to-end tests ask for
// 320x240 so that three pages in one browser fit on a 2-core machine).
//
// Test hooks on `window.demo` (for people and for the end-to-end tests):
//   mode              'sdk' | 'naive' | 'vendor'
//   ready             Promise: resolves with the call controller after the first successful
//                     join, rejects if that join fails
//   join({name, room}) / leave() / rotate(noticeMs) / setLatency(ms)   what the buttons do
//   call()            the SDK's HandoffCall (sdk mode) or the naive client, null before joining
//   state()           'idle' | 'connecting' | 'live' | 'handoff' | 'recovering' | 'closed'
//   sessionId()       the live session's ID
//   identity          { id, name } once joined; a participant's key is its token data
//   events            [{ at: epoch ms, type, detail }] everything shown in the timeline
//   frames()          per tile: { key, frames, largestGapMs, stallMs, samples: [{at, gapMs}] }
//                     measured with requestVideoFrameCallback on the tile's
//                     `video[data-active="true"]`; frames().reset via resetFrames()
//   tiles()           { key: element } of the remote participants' tiles
import { FrameMeter } from './frame-meter.js';
import { GapChart } from './gap-chart.js';
import { Timeline } from './timeline.js';
import { startSdkCall } from './sdk-call.js';
import { startNaiveCall, startVendorCall } from './naive-call.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const MODES = { sdk: startSdkCall, naive: startNaiveCall, vendor: startVendorCall };
const mode = params.get('naive') === '1' ? 'naive' : Object.hasOwn(MODES, params.get('mode')) ? params.get('mode') : 'sdk';
const ROOM = /^[A-Za-z0-9_-]{1,64}$/;
const VIDEO_SIZE = videoSize(params.get('video'));
// `?tokenProvider=0`: join without a tokenProvider, as an app that has none (what the SDK
// reports when a handoff signal then comes without a token).
const TOKEN_PROVIDER = params.get('tokenProvider') !== '0';
// `?sessionMigration=1` (SDK mode): the SDK joins with `sessionMigration: true`, so the
// vendor's client also migrates at a rotation, beside the app server's handoff signal.
const SESSION_MIGRATION = params.get('sessionMigration') === '1';
// How the room rotates when this page opens it (app server: `handoff` or `migrate`); the
// vendor's mode needs `migrate`, and `?rotation=migrate` gives the SDK a room the app server
// does not move (with `?sessionMigration=1`, only the vendor's migration moves it).
const ROTATION = params.get('rotation') ?? (mode === 'vendor' ? 'migrate' : 'handoff');

/** `?video=WxH` (e.g. 320x240) as getUserMedia constraints; 640x480 when absent or not a size. */
function videoSize(param) {
  const m = /^(\d{2,4})x(\d{2,4})$/.exec(param ?? '');
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: 640, height: 480 };
}

const timeline = new Timeline($('timeline'));
const meter = new FrameMeter();
const names = new Map();
const tileFrames = new Map(); // key -> <figure>
const chart = new GapChart({ canvas: $('chart'), legend: $('legend'), meter, labelOf: nameOf });

let config = null;
let controller = null;
let media = null;
let state = 'idle';
let identity = null;
let room = null;
let resolveReady;
let rejectReady;
const ready = new Promise((resolve, reject) => {
  resolveReady = resolve;
  rejectReady = reject;
});
ready.catch(() => {}); // a failed first join is shown on the page; the promise is for tests

/** A participant's display name from its key (the token data `{"id","name"}`). */
function nameOf(key) {
  if (!names.has(key)) {
    let name = key;
    try {
      const v = JSON.parse(key);
      if (typeof v?.name === 'string') name = v.name;
    } catch {
      // not our JSON: show the key itself
    }
    names.set(key, name);
  }
  return names.get(key);
}

const ui = {
  nameOf,
  state(s) {
    state = s;
    const chip = $('state');
    chip.textContent = s;
    chip.dataset.state = s;
  },
  event(type, detail = {}, tone = '') {
    timeline.add(type, detail, tone);
    if (type === 'handoffStarted' || type === 'migrationStarted') chart.mark('move');
    if (type === 'handoffCompleted' || type === 'migrated' || type === 'sessionMigrated') {
      chart.mark('done');
      const stats = controller?.stats?.();
      $('handoffs').textContent = String(stats?.handoffsCompleted ?? Number($('handoffs').textContent) + 1);
    }
  },
  tileAdded(key, element) {
    const figure = document.createElement('figure');
    figure.className = 'tile-frame';
    figure.dataset.key = key;
    const caption = document.createElement('figcaption');
    const label = document.createElement('span');
    label.className = 'name';
    label.textContent = nameOf(key);
    const gap = document.createElement('span');
    gap.className = 'gap';
    caption.append(label, gap);
    figure.append(element, caption);
    $('tiles').append(figure);
    tileFrames.get(key)?.remove();
    tileFrames.set(key, figure);
    meter.watch(key, element);
    updateEmpty();
  },
  tileRemoved(key) {
    tileFrames.get(key)?.remove();
    tileFrames.delete(key);
    meter.unwatch(key);
    updateEmpty();
  },
  localTile(element) {
    $('local-slot').replaceChildren(element);
    $('local-name').textContent = identity?.name ?? '';
    $('local-frame').hidden = false;
  },
  sessionChanged(sessionId) {
    $('session-id').textContent = sessionId ?? '–';
    $('session-id').title = sessionId ?? '';
  },
};

function updateEmpty() {
  $('empty').hidden = !controller || tileFrames.size > 0;
}

function showNotice(message) {
  $('notice').textContent = message;
  $('notice').hidden = !message;
}

async function api(path, options = {}) {
  const r = await fetch(path, {
    ...options,
    headers: options.body ? { 'content-type': 'application/json' } : undefined,
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) {
    throw new Error(body.message ? `${body.message} (${body.error})` : `HTTP ${r.status}`);
  }
  return body;
}

function participantId() {
  const given = params.get('id');
  if (given) return given;
  let id = sessionStorage.getItem('video-handoff-demo-id');
  if (!id) {
    id = crypto.randomUUID();
    sessionStorage.setItem('video-handoff-demo-id', id);
  }
  return id;
}

let otPromise = null;
/**
 * Loads the vendor's client (@vonage/client-sdk-video) once. Against the sandbox the app server
 * names a proxy: the client then sends everything (session info, its messaging socket, logging)
 * to the sandbox, which speaks the client's protocol. Against the hosted platform there is none.
 */
function loadOT(src, proxyUrl) {
  otPromise ??= new Promise((resolve, reject) => {
    const ready = () => {
      if (!window.OT) return reject(new Error(`${src} defined no OT`));
      if (proxyUrl) window.OT.setProxyUrl(proxyUrl);
      resolve(window.OT);
    };
    if (window.OT) return ready();
    const script = document.createElement('script');
    script.src = src;
    script.onload = ready;
    script.onerror = () => reject(new Error(`could not load the OT client from ${src}`));
    document.head.append(script);
  });
  return otPromise;
}

async function getMedia() {
  if (media) return media;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { ...VIDEO_SIZE }, audio: true });
  } catch {
    stream = await navigator.mediaDevices.getUserMedia({ video: { ...VIDEO_SIZE } });
  }
  media = { stream, video: stream.getVideoTracks()[0] ?? null, audio: stream.getAudioTracks()[0] ?? null };
  return media;
}

async function join({ name, room: roomName }) {
  if (controller) throw new Error('already in a call; leave first');
  if (!ROOM.test(roomName ?? '')) throw new Error('room: 1 to 64 letters, digits, - or _');
  showNotice('');
  setBusy(true);
  try {
    config ??= await api('/api/config');
    const joined = await api(`/api/rooms/${encodeURIComponent(roomName)}/join`, {
      method: 'POST',
      body: JSON.stringify({ name, id: participantId(), rotation: ROTATION }),
    });
    identity = joined.identity;
    room = roomName;
    names.set(joined.data, identity.name);
    timeline.add('joining', { room, as: identity.name, mode });
    const [OT, localMedia] = await Promise.all([loadOT(config.otScriptUrl, config.otProxyUrl), getMedia()]);
    controller = await MODES[mode]({
      OT,
      joined,
      room,
      identity,
      media: localMedia,
      ui,
      tokenProvider: TOKEN_PROVIDER,
      sessionMigration: SESSION_MIGRATION,
    });
    timeline.add('joined', { sessionId: controller.sessionId }, 'good');
    const url = new URL(location.href);
    url.searchParams.set('room', room);
    history.replaceState(null, '', url);
    updateEmpty();
    resolveReady(controller);
    return controller;
  } catch (err) {
    controller = null;
    ui.state('closed');
    timeline.add('joinFailed', { error: err }, 'error');
    showNotice(`Could not join: ${err.message}`);
    rejectReady(err);
    throw err;
  } finally {
    setBusy(false);
  }
}

async function leave() {
  const c = controller;
  controller = null;
  setBusy(true);
  try {
    await c?.close();
  } finally {
    for (const key of [...tileFrames.keys()]) ui.tileRemoved(key);
    $('local-frame').hidden = true;
    media?.stream.getTracks().forEach((t) => t.stop());
    media = null;
    ui.state('idle');
    timeline.add('left', { room });
    setBusy(false);
  }
}

async function rotate(noticeMs = Number($('notice-ms').value)) {
  if (!room) throw new Error('join a room first');
  const r = await api(`/api/rooms/${encodeURIComponent(room)}/rotate`, {
    method: 'POST',
    body: JSON.stringify({ noticeMs, id: identity?.id }),
  });
  timeline.add('rotationRequested', { sessionId: r.sessionId, noticeMs });
  return r;
}

async function setLatency(latencyMs) {
  if (!room || !identity) throw new Error('join a room first');
  const r = await api('/api/sandbox/latency', { method: 'POST', body: JSON.stringify({ latencyMs, room, id: identity.id }) });
  timeline.add('latencySet', { latencyMs });
  return r;
}

function setBusy(busy) {
  const inCall = Boolean(controller);
  $('join').disabled = busy || inCall;
  $('name').disabled = busy || inCall;
  $('room').disabled = busy || inCall;
  $('leave').disabled = busy || !inCall;
  $('rotate').disabled = busy || !inCall || !config?.sandbox;
  $('latency').disabled = !inCall || !config?.sandbox;
}

// Caption figures: each tile's largest frame gap, and the largest of all. The DOM is written
// only when a figure changes (and not while the page is hidden): every write means style and
// layout work on the main thread the call's video needs.
const setText = (el, text) => {
  if (el && el.textContent !== text) el.textContent = text;
};
setInterval(() => {
  if (document.hidden) return;
  let largest = null;
  for (const s of meter.stats()) {
    setText(tileFrames.get(s.key)?.querySelector('.gap'), s.largestGapMs === null ? '' : `max gap ${Math.round(s.largestGapMs)} ms`);
    if (s.largestGapMs !== null) largest = Math.max(largest ?? 0, s.largestGapMs);
  }
  setText($('largest-gap'), largest === null ? '–' : `${Math.round(largest)} ms`);
}, 500);

$('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  join({ name: $('name').value, room: $('room').value.trim() }).catch(() => {});
});
$('leave').addEventListener('click', () => leave().catch((err) => showNotice(err.message)));
$('rotate').addEventListener('click', () => {
  $('rotate').disabled = true;
  rotate()
    .catch((err) => {
      timeline.add('rotationFailed', { error: err }, 'error');
      showNotice(`Rotation failed: ${err.message}`);
    })
    .finally(() => setTimeout(() => setBusy(false), 1000));
});
$('latency').addEventListener('change', () => {
  setLatency(Number($('latency').value)).catch((err) => showNotice(`Latency: ${err.message}`));
});

window.demo = {
  mode,
  ready,
  join,
  leave,
  rotate,
  setLatency,
  call: () => controller?.call ?? null,
  state: () => state,
  sessionId: () => controller?.sessionId ?? null,
  get identity() {
    return identity;
  },
  events: timeline.events,
  frames: () => meter.stats(),
  resetFrames: () => meter.reset(),
  tiles: () => Object.fromEntries([...tileFrames].map(([k, f]) => [k, f.querySelector('.video-handoff-tile')])),
};

// Start-up: fill the form from the URL, show the mode, load the config.
$('mode').textContent = { sdk: 'SDK', naive: 'naive baseline', vendor: "vendor's migration" }[mode];
$('mode').classList.toggle('naive', mode !== 'sdk');
if (params.get('room')) $('room').value = params.get('room');
if (params.get('name')) $('name').value = params.get('name');
if (!meter.supported) timeline.add('note', 'this browser has no requestVideoFrameCallback: no frame-gap chart', 'error');
api('/api/config')
  .then((c) => {
    config = c;
    setBusy(false);
    if (!c.sandbox) $('rotate').title = 'Rotation on demand needs the sandbox';
    if (params.get('autojoin') === '1' && params.get('name')) {
      join({ name: params.get('name'), room: $('room').value.trim() }).catch(() => {});
    }
  })
  .catch((err) => showNotice(`The app server did not answer: ${err.message}`));
