// The end-to-end tests' own measurement, injected into every page before its scripts
// (`page.addInitScript`). It trusts nothing the SDK or the demo page report about themselves:
//
// - Frames: every <video> inside a remote `.video-handoff-tile` gets its own
//   requestVideoFrameCallback loop. A frame counts for the tile only if, at that frame, this
//   video is the one a person would see: the topmost element at the tile's centre
//   (document.elementsFromPoint, so z-index, stacking and covering elements all count), not
//   transparent, with a decoded picture. `data-active="true"` is only cross-checked against
//   that (a lying attribute shows up in `mismatches`, it cannot make frames count).
// - Audio: every media element that was ever given a source (also ones not in the document)
//   is polled every animation frame and on every play/pause/volumechange: audible = not muted,
//   volume > 0, playing, with a live enabled audio track. More than one audible element in a
//   tile, or an audible element outside every remote tile, is recorded as a violation.
//
// State lives on `window.__e2e`; the tests read it with `__e2e.snapshot()`.
(() => {
  if (window.__e2e) return;
  const E = {
    timeOrigin: performance.timeOrigin,
    /** key -> { frames: [performance.now() ms], elementIds: [tile element serial] } */
    tiles: {},
    /** moments where a tile had more than one audible source, or audio played outside tiles */
    audioViolations: [],
    /** key -> largest number of audible sources seen at once */
    maxAudible: {},
    /** key -> audible sources at the last poll */
    audibleNow: {},
    /** moments where data-active="true" was not the video actually on top */
    mismatches: [],
    mismatchCount: 0,
    /** visibility decided by computed style because the tile's centre was off screen */
    styleFallbacks: 0,
    polls: 0,
    /** animation-frame intervals over 100 ms: the page itself did not render (main thread busy or starved) */
    rafStalls: [],
  };
  let lastPoll = null;
  window.__e2e = E;

  const media = new Set();
  const hooked = new WeakSet();
  const serial = new WeakMap();
  let nextSerial = 1;
  const idOf = (el) => {
    if (!serial.has(el)) serial.set(el, nextSerial++);
    return serial.get(el);
  };

  // ---- every media element that gets a source, in the document or not ----------------------
  const proto = HTMLMediaElement.prototype;
  const srcObject = Object.getOwnPropertyDescriptor(proto, 'srcObject');
  Object.defineProperty(proto, 'srcObject', {
    configurable: true,
    enumerable: srcObject.enumerable,
    get() {
      return srcObject.get.call(this);
    },
    set(value) {
      if (value) media.add(this);
      srcObject.set.call(this, value);
    },
  });
  const play = proto.play;
  proto.play = function e2ePlay(...args) {
    media.add(this);
    return play.apply(this, args);
  };

  // ---- tiles ----------------------------------------------------------------------------------
  function remoteTileOf(el) {
    const tile = el.closest('.video-handoff-tile');
    if (!tile || tile.dataset.local === 'true' || tile.classList.contains('video-handoff-local')) return null;
    return tile;
  }

  function keyOf(tile) {
    return tile.dataset.participant ?? tile.closest('[data-key]')?.dataset.key ?? `tile#${idOf(tile)}`;
  }

  function record(key) {
    return (E.tiles[key] ??= { frames: [], elementIds: [] });
  }

  function rendersPicture(video, tile) {
    if (video.videoWidth === 0 || video.readyState < 2) return false;
    for (let el = video; el && el !== tile.parentElement; el = el.parentElement) {
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.visibility === 'hidden' || Number(style.opacity) === 0) return false;
    }
    return true;
  }

  // The video on top in the tile by computed style (for a tile whose centre is off screen).
  function topByStyle(tile) {
    let best = null;
    let bestZ = -Infinity;
    for (const v of tile.querySelectorAll('video')) {
      if (!rendersPicture(v, tile)) continue;
      const z = Number.parseInt(getComputedStyle(v).zIndex, 10);
      const zi = Number.isNaN(z) ? 0 : z;
      if (zi >= bestZ) {
        best = v; // later in document order wins a tie, as painting does
        bestZ = zi;
      }
    }
    return best;
  }

  const visibleCache = new WeakMap(); // tile -> { at, video }
  function visibleVideo(tile, at) {
    const cached = visibleCache.get(tile);
    if (cached && cached.at === at) return cached.video;
    let video = null;
    const r = tile.getBoundingClientRect();
    if (r.width >= 2 && r.height >= 2) {
      const cx = r.left + r.width / 2;
      const cy = r.top + r.height / 2;
      if (cx >= 0 && cy >= 0 && cx < innerWidth && cy < innerHeight) {
        // The first element at the centre that belongs to the tile decides; anything of the
        // page's own painted above the tile there (not an ancestor) means nothing of it shows.
        for (const el of document.elementsFromPoint(cx, cy)) {
          if (el === tile || el.contains(tile)) break;
          if (tile.contains(el)) {
            if (el instanceof HTMLVideoElement && rendersPicture(el, tile)) video = el;
            break;
          }
          break;
        }
      } else {
        E.styleFallbacks++;
        video = topByStyle(tile);
      }
    }
    visibleCache.set(tile, { at, video });
    const claimed = tile.querySelector('video[data-active="true"]');
    if (claimed !== video && (claimed || video)) {
      E.mismatchCount++;
      if (E.mismatches.length < 50) {
        E.mismatches.push({ key: keyOf(tile), at, claimed: claimed ? idOf(claimed) : null, onTop: video ? idOf(video) : null });
      }
    }
    return video;
  }

  function hook(video) {
    if (hooked.has(video) || typeof video.requestVideoFrameCallback !== 'function') return;
    hooked.add(video);
    const onFrame = (now) => {
      const tile = video.isConnected ? remoteTileOf(video) : null;
      if (tile && visibleVideo(tile, now) === video) {
        const rec = record(keyOf(tile));
        rec.frames.push(now);
        const id = idOf(tile);
        if (rec.elementIds.at(-1) !== id) rec.elementIds.push(id);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  // ---- audio ----------------------------------------------------------------------------------
  function audible(el) {
    if (el.muted || el.volume <= 0 || el.paused || el.ended) return false;
    const src = srcObject.get.call(el);
    if (src instanceof MediaStream) {
      return src.getAudioTracks().some((t) => t.enabled && t.readyState === 'live');
    }
    return Boolean(el.currentSrc); // a URL source: assume it may carry sound
  }

  function checkAudio(at) {
    const counts = {};
    for (const el of media) {
      if (!audible(el)) continue;
      const tile = el.isConnected ? remoteTileOf(el) : null;
      if (!tile) {
        if (el.isConnected && el.closest('.video-handoff-tile')) continue; // local preview
        if (E.audioViolations.length < 100) {
          E.audioViolations.push({ at, key: null, count: 1, what: el.isConnected ? 'outside a tile' : 'detached element' });
        }
        continue;
      }
      const key = keyOf(tile);
      counts[key] = (counts[key] ?? 0) + 1;
    }
    for (const key of Object.keys(E.tiles)) counts[key] ??= 0;
    for (const [key, n] of Object.entries(counts)) {
      E.maxAudible[key] = Math.max(E.maxAudible[key] ?? 0, n);
      if (n > 1 && E.audioViolations.length < 100) E.audioViolations.push({ at, key, count: n });
    }
    E.audibleNow = counts;
  }

  // ---- the poll: find new videos, check audio -------------------------------------------------
  function poll(now) {
    E.polls++;
    if (lastPoll !== null && now - lastPoll > 100 && E.rafStalls.length < 500) E.rafStalls.push({ at: lastPoll, gap: now - lastPoll });
    lastPoll = now;
    for (const tile of document.querySelectorAll('.video-handoff-tile')) {
      if (tile.dataset.local === 'true' || tile.classList.contains('video-handoff-local')) continue;
      const rec = record(keyOf(tile));
      const id = idOf(tile);
      if (rec.elementIds.at(-1) !== id) rec.elementIds.push(id);
      for (const v of tile.querySelectorAll('video')) {
        media.add(v);
        hook(v);
      }
    }
    checkAudio(now);
    requestAnimationFrame(poll);
  }
  requestAnimationFrame(poll);
  new MutationObserver(() => {
    for (const v of document.querySelectorAll('.video-handoff-tile video')) {
      media.add(v);
      hook(v);
    }
    checkAudio(performance.now());
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-active', 'style', 'muted'] });
  for (const type of ['play', 'playing', 'pause', 'volumechange']) {
    document.addEventListener(type, () => checkAudio(performance.now()), true);
  }

  /** Everything recorded, as plain data; `since` (performance.now ms) trims old frames. */
  E.snapshot = (since = 0) => ({
    now: performance.now(),
    timeOrigin: E.timeOrigin,
    tiles: Object.fromEntries(
      Object.entries(E.tiles).map(([k, r]) => [k, { frames: r.frames.filter((t) => t >= since), elementIds: r.elementIds }]),
    ),
    audioViolations: E.audioViolations,
    maxAudible: E.maxAudible,
    audibleNow: E.audibleNow,
    mismatches: E.mismatches,
    mismatchCount: E.mismatchCount,
    styleFallbacks: E.styleFallbacks,
    polls: E.polls,
    rafStalls: E.rafStalls.filter((x) => x.at + x.gap >= since),
  });
})();
