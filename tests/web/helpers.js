// Page-side helpers shared by every browser test of the shell: the Rust tests (bound in
// tests/web/common.rs), the JS API cases (tests/web/api_cases.js) and the packaging scenario
// (tests/package/scenario.js). The OT test double itself is tests/web/ot_double.js.

import { Media } from './ot_double.js';

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `predicate()` is truthy (checked every 10 ms), rejects after `timeoutMs`. */
export function waitFor(predicate, timeoutMs = 5000, what = 'a condition') {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      let ok = false;
      try {
        ok = predicate();
      } catch (e) {
        reject(e);
        return;
      }
      if (ok) resolve(ok);
      else if (performance.now() - start > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

/**
 * Records the SDK's events (`emit` receives each event object, `{ type, ... }`) and, on every
 * event, every DOM mutation and every animation frame, checks the swap invariants on the real
 * DOM:
 * - in every tile, at most one video has data-active="true";
 * - in every tile, at most one media element is unmuted, and only the active one;
 * - for every participant in `expectShown`, exactly one active video, and it is rendering
 *   (readyState >= 2, not paused, live track; otherwise recorded in `notRendering`).
 * Also: at most one subscriber with a non-zero volume per participant key.
 */
export class Recorder {
  constructor(world, container) {
    this.world = world;
    this.container = container;
    this.events = [];
    this.violations = [];
    // A shown video that is not rendering at a check (kept apart so a long run can report
    // them as a figure; the scenario tests treat them as violations too).
    this.notRendering = [];
    this.checks = 0;
    this.expectShown = new Set();
    this.emit = (event) => {
      this.events.push({ type: event.type, payload: event });
      if (event.type === 'participantJoined') this.container.appendChild(event.participant.element);
      this.check(`event ${event.type}`);
    };
    this._observer = new MutationObserver(() => this.check('mutation'));
    this._observer.observe(container, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-active'] });
    const frame = () => {
      if (this._stopped) return;
      this.check('frame');
      this._raf = requestAnimationFrame(frame);
    };
    this._raf = requestAnimationFrame(frame);
  }
  check(when) {
    this.checks++;
    for (const tile of this.container.querySelectorAll('.video-handoff-tile')) {
      const key = tile.getAttribute('data-participant');
      const media = [...tile.querySelectorAll('video, audio')];
      const active = media.filter((v) => v.getAttribute('data-active') === 'true');
      const unmuted = media.filter((v) => !v.muted);
      if (active.length > 1) this.violations.push(`${when}: ${key}: ${active.length} active videos`);
      if (unmuted.length > 1) this.violations.push(`${when}: ${key}: ${unmuted.length} unmuted media elements`);
      if (unmuted.length === 1 && unmuted[0].getAttribute('data-active') !== 'true')
        this.violations.push(`${when}: ${key}: an inactive element is unmuted`);
      if (this.expectShown.has(key)) {
        if (active.length !== 1) this.violations.push(`${when}: ${key}: no visible video`);
        else {
          const v = active[0];
          const live = v.srcObject && v.srcObject.getVideoTracks().some((t) => t.readyState === 'live');
          if (v.readyState < 2 || v.paused || !live)
            this.notRendering.push(
              `${when}: ${key}: visible video not rendering (readyState ${v.readyState}, paused ${v.paused}, live track ${!!live}, after ${this.events.length} events: ${this.events.slice(-6).map((e) => e.type + (e.payload && e.payload.key ? ':' + e.payload.key : '') + (e.payload && e.payload.endedBy ? ':' + e.payload.endedBy : '')).join(',')}; videos in tile ${media.map((m) => m.readyState + '/' + m.getAttribute('data-active')).join(' ')})`,
            );
        }
      }
    }
    const loud = new Map();
    for (const sub of this.world._subscribers) {
      if (sub.getAudioVolume() > 0) {
        const k = sub.stream.connection.data;
        loud.set(k, (loud.get(k) || 0) + 1);
      }
    }
    for (const [k, n] of loud) if (n > 1) this.violations.push(`${when}: ${k}: ${n} audible subscribers`);
  }
  count(type) {
    return this.events.filter((e) => e.type === type).length;
  }
  last(type) {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i].type === type) return this.events[i].payload;
    return undefined;
  }
  all(type) {
    return this.events.filter((e) => e.type === type).map((e) => e.payload);
  }
  types() {
    return this.events.map((e) => e.type);
  }
  stop() {
    this._stopped = true;
    cancelAnimationFrame(this._raf);
    this._observer.disconnect();
  }
}

export function videoCount() {
  return document.querySelectorAll('video').length;
}

export function wasmMemoryBytes(memory) {
  return memory.buffer.byteLength;
}

export function container() {
  const div = document.createElement('div');
  div.style.cssText = 'position:fixed;left:0;top:0;width:640px;height:480px;display:grid;grid-template-columns:repeat(2,320px);grid-auto-rows:240px';
  document.body.appendChild(div);
  return div;
}

/** Local camera stand-in: a canvas track and no microphone (the app's own: never stopped by the SDK). */
export function localMedia() {
  const m = new Media({ _media: new Set() }, 'local');
  const track = m.stream.getVideoTracks()[0];
  const timer = setInterval(() => m.draw(), 1000 / 30);
  return { videoSource: track, audioSource: null, name: 'me', stop: () => { clearInterval(timer); track.stop(); } };
}

/** The `data` of a handoff signal as an app server sends it. */
export function handoffSignal(sessionId, token, extra = {}) {
  return JSON.stringify({ v: 1, sessionId, token, reason: 'serverRotation', ...extra });
}
