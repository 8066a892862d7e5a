// The end-to-end tests' own measurement, injected into every page before its scripts
// (`page.addInitScript`). It trusts nothing the SDK or the demo page report about themselves:
//
// - Frames: every <video> inside a remote `.video-handoff-tile` gets its own
//   requestVideoFrameCallback loop, which records when each frame was presented
//   (`presentationTime`) and how many frames the video presented since its previous callback
//   (from `presentedFrames`). Chromium presents video frames on the compositor, not the main
//   thread: measured here, a remote WebRTC video kept presenting a frame every 33 ms while its
//   page's main thread was blocked for 400 ms, and one late callback then reported all 12. So
//   frames are timed by presentation, not by when the callbacks ran (that showed every
//   main-thread stall as a frozen video; page stalls are recorded apart, `rafStalls`).
// - Frames a late callback reports together: when the main thread is busy, one callback
//   reports k frames at once, and only the last one's presentationTime. Each watched video's
//   track is also read by a worker (MediaStreamTrackProcessor), which records when each frame
//   was delivered to the track's sinks, off the main thread (`delivered`). Measured here on a
//   remote WebRTC video with the main thread blocked 400 ms: the worker saw the 12 frames
//   delivered 31-63 ms apart, each 3-7 ms before the compositor presented it, while one late
//   callback reported all 12. The harness uses those times to tell where inside such a stretch
//   the frames were (`place`); the callbacks still decide which video was shown and how many
//   frames it presented.
// - Which video a person sees in a tile: the topmost element at the tile's centre
//   (document.elementsFromPoint, so z-index, stacking and covering elements all count), not
//   transparent. Kept as a timeline per tile (`tops`), each change timed in the rendering
//   update that paints it. A video's frames count for its tile only while it is on top (and a
//   video with no picture yet presents no frames: a black tile is a gap).
//   `data-active="true"` is only cross-checked against that (a lying attribute shows up in
//   `mismatches`, it cannot make frames count).
// - Audio: every media element that was ever given a source (also ones not in the document)
//   is checked whenever something that decides whether it is audible may have changed (see
//   below): audible = not muted, volume > 0, playing, with a live enabled audio track. More
//   than one audible element in a tile, or an audible element outside every remote tile, is
//   recorded as a violation.
//
// Cost. This runs in every page of a test that measures frame timing on a 2-core machine, so
// it must not itself starve the pages: it used to hit-test (getBoundingClientRect +
// elementsFromPoint, each forcing style and layout) on every video frame of every video, and
// poll every media element on every animation frame, which was a large share of each page's
// main thread. Now the expensive answers are cached and recomputed only when they can have
// changed:
//
// - Which video is on top of a tile can only change through the DOM: elements added, removed
//   or moved (childList), or an attribute that styles them (`style`, `class`, `hidden`), on the
//   tile, its videos, an ancestor or anything that could be painted over it. These pages have
//   no CSS animations or transitions and never edit style sheets through the CSSOM. So a
//   MutationObserver on the whole document (childList + those attributes, and `data-active`
//   for the cross-check) marks every tile's answer stale, and so do `resize` and `scroll`
//   (a tile's centre moves). The answer is recomputed in the next animation frame, the
//   rendering update that paints the change, and timed by performance.now() there: never
//   before the change is on screen. (Frames the old video presented until that paint are not
//   counted, so a swap can only look longer than it was.) A safety re-check marks everything
//   stale every RECHECK_MS anyway (layout moving a tile without a mutation of the kinds above,
//   e.g. text growing; style sheet edits).
// - Audibility changes through media events (play, playing, pause, ended, volumechange,
//   emptied, loadedmetadata: listened to on each element itself, so detached ones count too),
//   the audio tracks' own events (ended, mute, unmute), script changes that fire no event
//   (srcObject, track.enabled, track.stop(), stream.addTrack/removeTrack: hooked here), and
//   the DOM (an element moved into, out of or between tiles: the same MutationObserver). Each
//   of those schedules one check right after the current task (so an intermediate state inside
//   one script task, never heard, is not a violation, as before), and the safety re-check
//   checks every RECHECK_MS.
// - Page rendering stalls (`rafStalls`, diagnostics only): one cheap requestAnimationFrame loop
//   that records intervals over 100 ms.
//
// State lives on `window.__e2e`; the tests read it with `__e2e.snapshot()`.
(() => {
  if (window.__e2e) return;
  const RECHECK_MS = 250;
  const E = {
    timeOrigin: performance.timeOrigin,
    /** tile key -> { tops: [performance.now() ms, video serial or 0 (none), ...], elementIds: [tile element serial] } */
    tiles: {},
    /** video serial -> [presentationTime ms, frames presented since the previous callback, ...] */
    videos: {},
    /** video serial -> [when its track delivered each frame (ms, this page's clock), ...] */
    delivered: {},
    /** moments where a tile had more than one audible source, or audio played outside tiles */
    audioViolations: [],
    /** key -> largest number of audible sources seen at once */
    maxAudible: {},
    /** key -> audible sources at the last check */
    audibleNow: {},
    /** moments where data-active="true" was not the video actually on top */
    mismatches: [],
    mismatchCount: 0,
    /** visibility decided by computed style because the tile's centre was off screen */
    styleFallbacks: 0,
    /** how often the video on top of a tile was recomputed, and the audio checked */
    recomputes: 0,
    audioChecks: 0,
    polls: 0,
    /** animation-frame intervals over 100 ms: the page itself did not render (main thread busy or starved) */
    rafStalls: [],
  };
  let lastPoll = null;
  window.__e2e = E;

  const media = new Set();
  const hooked = new WeakSet();
  const listened = new WeakSet();
  const serial = new WeakMap();
  let nextSerial = 1;
  const idOf = (el) => {
    if (!serial.has(el)) serial.set(el, nextSerial++);
    return serial.get(el);
  };

  // Called whenever which video is on top of a tile may have changed.
  const stale = () => scheduleTops();

  // ---- audio checks, scheduled ----------------------------------------------------------------
  let audioScheduled = false;
  function scheduleAudio() {
    if (audioScheduled) return;
    audioScheduled = true;
    setTimeout(() => {
      audioScheduled = false;
      checkAudio(performance.now());
    }, 0);
  }

  const MEDIA_EVENTS = ['play', 'playing', 'pause', 'ended', 'volumechange', 'emptied', 'loadedmetadata'];
  function addMedia(el) {
    media.add(el);
    if (listened.has(el)) return;
    listened.add(el);
    // On the element itself: events of a detached element never reach the document.
    for (const type of MEDIA_EVENTS) el.addEventListener(type, () => checkAudio(performance.now()));
  }

  const trackListened = new WeakSet();
  function listenTrack(track) {
    if (trackListened.has(track)) return;
    trackListened.add(track);
    for (const type of ['ended', 'mute', 'unmute']) track.addEventListener(type, scheduleAudio);
  }

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
      if (value) addMedia(this);
      srcObject.set.call(this, value);
      scheduleAudio();
    },
  });
  const play = proto.play;
  proto.play = function e2ePlay(...args) {
    addMedia(this);
    scheduleAudio();
    return play.apply(this, args);
  };

  // Script changes to tracks and streams that fire no event.
  const trackProto = MediaStreamTrack.prototype;
  const enabled = Object.getOwnPropertyDescriptor(trackProto, 'enabled');
  Object.defineProperty(trackProto, 'enabled', {
    configurable: true,
    enumerable: enabled.enumerable,
    get() {
      return enabled.get.call(this);
    },
    set(value) {
      enabled.set.call(this, value);
      scheduleAudio();
    },
  });
  const stop = trackProto.stop;
  trackProto.stop = function e2eStop(...args) {
    const r = stop.apply(this, args);
    scheduleAudio();
    return r;
  };
  for (const name of ['addTrack', 'removeTrack']) {
    const original = MediaStream.prototype[name];
    MediaStream.prototype[name] = function e2eTrackChange(...args) {
      const r = original.apply(this, args);
      scheduleAudio();
      return r;
    };
  }

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
    return (E.tiles[key] ??= { tops: [], elementIds: [] });
  }

  // A decoded picture (plain property reads). It arrives without a DOM mutation: a video's
  // first frame callback marks the tiles stale too.
  const hasPicture = (video) => video.videoWidth !== 0 && video.readyState >= 2;

  // Not hidden by style, the video or any ancestor up to the tile (only at a recompute).
  function rendersPicture(video, tile) {
    if (!hasPicture(video)) return false;
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

  // The video on top of `tile` now: hit test at the tile's centre, and the data-active
  // cross-check. Costly (forces style and layout): only when something may have changed it.
  function recompute(tile, at) {
    E.recomputes++;
    let video = null;
    const r = tile.getBoundingClientRect();
    if (r.width >= 2 && r.height >= 2) {
      const cx = r.left + r.width / 2;
      const cy = r.top + r.height / 2;
      if (cx >= 0 && cy >= 0 && cx < innerWidth && cy < innerHeight) {
        // The first element at the centre that belongs to the tile decides (a video with no
        // picture yet paints nothing: the next one shows through); anything of the page's own
        // painted above the tile there (not an ancestor) means nothing of it shows.
        for (const el of document.elementsFromPoint(cx, cy)) {
          if (el === tile || el.contains(tile) || !tile.contains(el)) break;
          if (el instanceof HTMLVideoElement && !hasPicture(el)) continue;
          if (el instanceof HTMLVideoElement && rendersPicture(el, tile)) video = el;
          break;
        }
      } else {
        E.styleFallbacks++;
        video = topByStyle(tile);
      }
    }
    const claimed = tile.querySelector('video[data-active="true"]');
    // A claimed video still waiting for its first picture, nothing else showing, is no lie.
    const waiting = claimed && !video && !hasPicture(claimed);
    if (claimed !== video && !waiting) {
      E.mismatchCount++;
      if (E.mismatches.length < 50) {
        E.mismatches.push({ key: keyOf(tile), at, claimed: claimed ? idOf(claimed) : null, onTop: video ? idOf(video) : null });
      }
    }
    return video;
  }

  // The tiles' `tops` timelines, brought up to date in the animation frame after anything
  // that may have changed them (see `stale`).
  let topsScheduled = false;
  function scheduleTops() {
    if (topsScheduled) return;
    topsScheduled = true;
    requestAnimationFrame(() => {
      topsScheduled = false;
      const at = performance.now();
      const seen = new Set();
      for (const tile of document.querySelectorAll('.video-handoff-tile')) {
        if (!remoteTileOf(tile)) continue;
        const key = keyOf(tile);
        seen.add(key);
        const video = recompute(tile, at);
        setTop(key, video ? idOf(video) : 0, at);
      }
      for (const key of Object.keys(E.tiles)) if (!seen.has(key)) setTop(key, 0, at);
    });
  }
  function setTop(key, serialOfVideo, at) {
    const tops = record(key).tops;
    if (tops.length && tops[tops.length - 1] === serialOfVideo) return;
    tops.push(at, serialOfVideo);
  }

  // ---- frame deliveries, timed off the main thread ---------------------------------------
  // One worker per page reads every watched track's frames and sends their times back in
  // batches (times as epoch ms: a worker's performance.now() has its own origin).
  const WORKER = `
    const batch = [];
    onmessage = async ({ data: { id, readable } }) => {
      const reader = readable.getReader();
      for (;;) {
        let r;
        try { r = await reader.read(); } catch { return; }
        if (r.done) return;
        batch.push(id, performance.timeOrigin + performance.now());
        r.value.close();
      }
    };
    setInterval(() => { if (batch.length) postMessage(batch.splice(0)); }, 100);
  `;
  let worker = null;
  function watchTrack(video) {
    const id = idOf(video);
    const src = srcObject.get.call(video);
    const track = src instanceof MediaStream ? src.getVideoTracks()[0] : null;
    if (!track || E.delivered[id] || typeof MediaStreamTrackProcessor !== 'function') return;
    if (!worker) {
      worker = new Worker(URL.createObjectURL(new Blob([WORKER], { type: 'text/javascript' })));
      worker.onmessage = ({ data }) => {
        for (let i = 0; i < data.length; i += 2) E.delivered[data[i]]?.push(data[i + 1] - E.timeOrigin);
      };
    }
    E.delivered[id] = [];
    // A generous buffer: frames the worker has not read yet are kept, not dropped.
    const { readable } = new MediaStreamTrackProcessor({ track, maxBufferSize: 30 });
    worker.postMessage({ id, readable }, [readable]);
  }

  function hook(video) {
    if (hooked.has(video) || typeof video.requestVideoFrameCallback !== 'function') return;
    hooked.add(video);
    const frames = (E.videos[idOf(video)] = []);
    let presented = null;
    const onFrame = (_now, meta) => {
      if (presented === null) {
        stale(); // its first picture: it may now show in its tile
        watchTrack(video);
      }
      frames.push(meta.presentationTime, presented === null ? 1 : Math.max(1, meta.presentedFrames - presented));
      presented = meta.presentedFrames;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  // ---- audio ----------------------------------------------------------------------------------
  function audible(el) {
    if (el.muted || el.volume <= 0 || el.paused || el.ended) return false;
    const src = srcObject.get.call(el);
    if (src instanceof MediaStream) {
      const tracks = src.getAudioTracks();
      tracks.forEach(listenTrack);
      return tracks.some((t) => t.enabled && t.readyState === 'live');
    }
    return Boolean(el.currentSrc); // a URL source: assume it may carry sound
  }

  function checkAudio(at) {
    E.audioChecks++;
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

  // ---- finding tiles and their videos ---------------------------------------------------------
  function scan() {
    for (const tile of document.querySelectorAll('.video-handoff-tile')) {
      if (tile.dataset.local === 'true' || tile.classList.contains('video-handoff-local')) continue;
      const rec = record(keyOf(tile));
      const id = idOf(tile);
      if (rec.elementIds.at(-1) !== id) rec.elementIds.push(id);
      for (const v of tile.querySelectorAll('video')) {
        addMedia(v);
        hook(v);
      }
    }
  }

  const TILE_OR_MEDIA = '.video-handoff-tile, video, audio';
  const bringsMedia = (nodes) => {
    for (const n of nodes) {
      if (n.nodeType === Node.ELEMENT_NODE && (n.matches(TILE_OR_MEDIA) || n.querySelector(TILE_OR_MEDIA))) return true;
    }
    return false;
  };

  new MutationObserver((records) => {
    stale();
    let rescan = false;
    let audio = false;
    for (const r of records) {
      if (r.type === 'childList') {
        if (!rescan && bringsMedia(r.addedNodes)) rescan = true;
        if (!audio && (rescan || bringsMedia(r.removedNodes))) audio = true;
      } else {
        // data-local / data-participant / class decide which tile (if any) an element is in
        audio = true;
      }
    }
    if (rescan) scan();
    if (audio) scheduleAudio();
  }).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['style', 'class', 'hidden', 'data-active', 'data-local', 'data-participant', 'data-key', 'muted'],
  });
  addEventListener('resize', stale);
  addEventListener('scroll', stale, { capture: true, passive: true });

  // The safety re-check, at a low rate.
  setInterval(() => {
    stale();
    scan();
    checkAudio(performance.now());
  }, RECHECK_MS);

  // Page rendering stalls (diagnostics).
  function poll(now) {
    E.polls++;
    if (lastPoll !== null && now - lastPoll > 100 && E.rafStalls.length < 500) E.rafStalls.push({ at: lastPoll, gap: now - lastPoll });
    lastPoll = now;
    requestAnimationFrame(poll);
  }
  requestAnimationFrame(poll);

  // One display refresh (headless Chromium's begin-frame source runs at 60 Hz).
  const REFRESH_MS = 1000 / 60;
  /** How far a delivery's time may lie after its frame's presentation (see `place`). */
  const CLOCK_SLACK_MS = 2;

  // Index of the first entry of `list` (entries of `stride` numbers, the first a time,
  // nondecreasing) whose time is at or after `t`; list.length when none.
  function lowerBound(list, t, stride) {
    let [lo, hi] = [0, list.length / stride];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid * stride] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo * stride;
  }

  /**
   * Where the k frames one late callback reported (presented in (t0, t1], the last at t1) were
   * shown: the k - 1 before the last at the times the worker saw the track deliver them (each
   * is presented at the refresh after its delivery, measured 3-7 ms later), or null when it did
   * not see that many. More deliveries than frames means the compositor skipped some: the ones
   * skipped are taken where they leave the largest gap (the pessimistic choice).
   */
  function place(t0, t1, k, delivered) {
    // A delivery belongs to the presentation at or just before it: a camera's frame reaches the
    // worker 0.1-0.4 ms after its presentationTime (the worker's clock is read on another
    // thread), a remote frame 3-7 ms before it. Without this, the frame presented at t0 could
    // count as one between t0 and t1 while the one presented at t1 did not: one short, and the
    // frames fell back to the worst case (seen in CI).
    const lo = t0 + CLOCK_SLACK_MS;
    const hi = t1 + CLOCK_SLACK_MS;
    const inside = [];
    for (let i = lowerBound(delivered, lo, 1); i < delivered.length && delivered[i] <= hi; i++) {
      if (delivered[i] > lo) inside.push(delivered[i]);
    }
    if (inside.length < k) return null;
    const points = [t0, ...inside.slice(0, -1), t1];
    const skip = points.length - (k + 1);
    let at = 0;
    for (let i = 1; i + skip + 1 < points.length; i++) {
      if (points[i + skip + 1] - points[i] > points[at + skip + 1] - points[at]) at = i;
    }
    return [...points.slice(1, at + 1), ...points.slice(at + skip + 1)];
  }

  /**
   * A video's frames from about `since` on, as [time, frames, timed by delivery (0/1), ...]:
   * each callback's presentationTime and frame count, except that a late callback's frames
   * are placed one by one where the worker saw them delivered (`place`), when it did.
   */
  function framesOf(video, since, placing = true) {
    const raw = E.videos[video] ?? [];
    const delivered = placing ? E.delivered[video] : null;
    const out = [];
    for (let j = Math.max(0, lowerBound(raw, since, 2) - 2); j < raw.length; j += 2) {
      const [t1, k] = [raw[j], raw[j + 1]];
      const placed = k > 1 && j >= 2 && delivered ? place(raw[j - 2], t1, k, delivered) : null;
      if (placed) for (const t of placed) out.push(t, 1, 1);
      else out.push(t1, k, 0);
    }
    return out;
  }

  /**
   * The pictures a person saw in a tile, at or after `since`: the frames each video presented
   * while it was on top, and, where a video came on top already holding a picture (a swap to
   * a video that was playing underneath), that picture, one refresh after the rendering update
   * that put it there (unless its next frame came sooner). `shown` is [time, frames that video
   * presented since its previous entry (1 for a swap picture), video serial, timed by delivery
   * (0/1), ...]; `frames` the times alone.
   */
  function shownIn(rec, since, placing = true) {
    const shown = [];
    const { tops } = rec;
    for (let i = 0; i < tops.length; i += 2) {
      const [from, video] = [tops[i], tops[i + 1]];
      const to = i + 2 < tops.length ? tops[i + 2] : Number.POSITIVE_INFINITY;
      if (!video || to < since - 1000) continue;
      // From `since` on (what is reported), or from `from` when the swap picture is reported:
      // not the whole history of a video that has been on top for long, at every poll.
      const frames = framesOf(video, Math.max(from, since - REFRESH_MS), placing);
      const first = lowerBound(frames, from, 3);
      const swapPicture = from + REFRESH_MS;
      const hadPicture = (E.videos[video]?.[0] ?? Infinity) < from;
      if (hadPicture && swapPicture < to && swapPicture >= since && !(frames[first] < swapPicture)) shown.push(swapPicture, 1, video, 0);
      for (let j = first; j < frames.length; j += 3) {
        const at = frames[j];
        if (at >= to) break;
        if (at >= since) shown.push(at, frames[j + 1], video, frames[j + 2]);
      }
    }
    return { shown, frames: shown.filter((_, i) => i % 4 === 0) };
  }

  /** Everything recorded, as plain data; `since` (performance.now ms) trims old frames. */
  E.snapshot = (since = 0) => ({
    now: performance.now(),
    timeOrigin: E.timeOrigin,
    tiles: Object.fromEntries(
      Object.entries(E.tiles).map(([k, r]) => [
        k,
        // `rvfc`: the same pictures from the frame callbacks alone, late ones unplaced (what
        // the SDK's own meter can see), for the SDK's swap figures (gaps.mjs `swapFigure`).
        { ...shownIn(r, since), rvfc: shownIn(r, since, false).shown, tops: r.tops, elementIds: r.elementIds },
      ]),
    ),
    audioViolations: E.audioViolations,
    maxAudible: E.maxAudible,
    audibleNow: E.audibleNow,
    mismatches: E.mismatches,
    mismatchCount: E.mismatchCount,
    styleFallbacks: E.styleFallbacks,
    recomputes: E.recomputes,
    audioChecks: E.audioChecks,
    polls: E.polls,
    rafStalls: E.rafStalls.filter((x) => x.at + x.gap >= since),
    // Firefox has no MediaStreamTrackProcessor: frames one late callback reports are then
    // taken at their worst case (gaps.mjs), never placed by delivery; the harness says so.
    trackProcessor: typeof MediaStreamTrackProcessor === 'function',
  });
})();
