// The frame figures of a tile: the gaps a person saw between frames (from measure.js's
// recording) and the rules a tile's largest gap across a handoff is held to.

import { hadHeadroom } from './cost.mjs';
import { FRAME_MS } from './harness.mjs';

/** A display refresh of headless Chromium (its begin-frame source runs at 60 Hz). */
export const VSYNC_MS = 1000 / 60;

/**
 * The gaps between the frames a person saw in a tile (`rec.shown` from measure.js:
 * presentation time, frames that video presented since its previous entry, video serial,
 * timed by delivery), each `[start, end, gap, what, frames]` (`frames`: how many frames the
 * entry's end stands for):
 * - frames a late callback reported together (the page's main thread was busy: the video kept
 *   playing, only the callbacks waited) come placed where the track delivered them (measure.js
 *   `place`); where they could not be, as one entry of k frames T ms after the previous one,
 *   counted at its worst case: the compositor shows at most one per refresh, so the largest
 *   gap among them is at most T - (k - 1) refreshes.
 * - A swap (the next picture is another video's): from the old video's last frame counted
 *   before the rendering update that made the swap to the picture the new video already held,
 *   counted one refresh after that update (measure.js `shownIn`); the old video's frames
 *   presented until the swap was painted are not counted.
 * Both windows (before and across a handoff) are measured the same way.
 */
export function shownGaps(rec) {
  const out = [];
  const s = rec.shown ?? [];
  for (let i = 4; i < s.length; i += 4) {
    const a = s[i - 4];
    const [b, k, video, timed] = [s[i], s[i + 1], s[i + 2], s[i + 3]];
    const t = b - a;
    if (video !== s[i - 2]) out.push([a, b, t, 'swap', 1]);
    else if (k > 1) out.push([a, b, Math.max(t / k, t - (k - 1) * VSYNC_MS), `${k} frames in ${Math.round(t)} ms, worst case`, k]);
    else out.push([a, b, t, timed || s[i - 1] ? 'one frame, timed by delivery' : 'one frame', 1]);
  }
  return out;
}

/**
 * The largest gap a person saw in a tile (`rec` from measure.js) over [from, to], with where
 * it began and what it was. `within`: only gaps that lie entirely in [from, to]; otherwise
 * every gap that overlaps [from, to], plus the time from the last frame to `to` when the
 * video stopped before `to` (a stall still going on counts).
 */
export function largestShownGap(rec, from, to, { within = false } = {}) {
  let largest = 0;
  let at = null;
  let what = null;
  let count = 0;
  for (const [a, b, gap, kind] of shownGaps(rec)) {
    if (!(within ? a >= from && b <= to : b >= from && a <= to)) continue;
    count++;
    if (gap > largest) [largest, at, what] = [gap, a, kind];
  }
  const last = rec.frames?.at(-1);
  if (!within && (last === undefined || last < to)) {
    const since = last === undefined ? from : Math.max(from, last);
    if (to - since > largest) [largest, at, what] = [to - since, since, 'no frame since'];
  }
  return { largest, count, at, what };
}

/**
 * The tile's first swap in [from, to], measured as the SDK's meter defines a swap's figure
 * (src/web/effects/meter.rs): the largest gap from the old video's last frame to the first
 * picture of the new one, and on until the new video has shown `framesAfter` frames. `null`
 * when the tile did not swap in the window. Given the pictures from the frame callbacks alone
 * (measure.js `rvfc`), it sees what the SDK sees: a late callback's frames counted at their
 * worst case, not placed by when the track delivered them.
 */
export function swapFigure(rec, from, to, framesAfter = 3) {
  let figure = null;
  let frames = 0;
  for (const [a, b, gap, kind, k] of shownGaps(rec)) {
    if (figure === null) {
      if (kind !== 'swap' || b < from || a > to) continue;
      figure = { gap, at: a };
      frames = 1;
    } else {
      if (frames >= framesAfter) break;
      figure.gap = Math.max(figure.gap, gap);
      frames += k;
    }
  }
  return figure;
}

/** The page's longest animation-frame stall overlapping [from, to] (ms, page clock). */
export function rafStall(snap, from, to) {
  let largest = 0;
  for (const s of snap.rafStalls ?? []) {
    if (s.at <= to && s.at + s.gap >= from) largest = Math.max(largest, s.gap);
  }
  return largest;
}

// What a tile's largest gap across a handoff is held to. The main handoff scenario asserts that
// no tile froze by the W3C definition (cost.mjs `freezes`: about 185 ms at 30 fps) wherever the
// steady call left the machine room for a handoff (cost.mjs `hadHeadroom`), and FREEZE_MS
// otherwise, printing the W3C verdict either way (issue 13). The failure scenarios, where a
// move is refused, retried or falls back while the call goes on, hold every tile to FREEZE_MS
// (0.4 s, a freeze anyone notices; a reconnect shows 1.7-3.8 s here). E2E_STRICT=1 holds every
// tile instead to the W3C verdict and the strict criterion: its largest gap across within one
// frame interval of its largest gap before. Three pages on two shared cores do not always meet
// that (gaps of 100-200 ms while the new peer connections are set up, where the steady call
// shows 50-100 ms; smaller tiles did not change it), so it is printed and counted for every
// tile, and asserted only when asked.
export const STRICT_CONTINUITY = process.env.E2E_STRICT === '1';
export const FREEZE_MS = 400;
/**
 * The bound where the run measured no headroom (`hadHeadroom`): the steady call alone kept more
 * than 65% of the cores busy, and the old session's frames then arrive 400-700 ms late at times
 * while the new peer connections are set up (measured over 30 rotations on 2026-12-02). Still
 * a third of what a reconnect shows here (3.4-3.8 s), so a break-before-make fails it.
 */
export const SATURATED_FREEZE_MS = 1000;

/** The largest gap a tile may show across a handoff; `cpu` is the run's (rotationRun). */
export function continuityLimit(t, cpu = null) {
  if (STRICT_CONTINUITY) return t.before + FRAME_MS;
  return (cpu && !hadHeadroom(cpu) ? SATURATED_FREEZE_MS : FREEZE_MS) - 1;
}

/**
 * A tile's W3C freezes (`t.freezes`) as seen in `browser`: those measured, and those that are
 * only a bound. Firefox times no frame's delivery (no MediaStreamTrackProcessor), so there the
 * frames of a late callback are counted at their worst case: a bound, not a measured freeze.
 * The verdicts assert the measured ones and print the bounds.
 */
export function measuredFreezes(t, browser) {
  const bounds = t.freezes.filter((f) => browser === 'firefox' && f.what?.includes('worst case'));
  return { measured: t.freezes.filter((f) => !bounds.includes(f)), bounds };
}

/** Whether a tile meets the strict criterion (printed in every run). */
export function withinOneFrame(t) {
  return t.across <= t.before + FRAME_MS;
}

/** Continuity failures: tiles whose gap across the handoff exceeds `continuityLimit`. */
export function interrupted(tiles, { viewers = null, of = null, cpu = null } = {}) {
  return tiles.filter(
    (t) => (!viewers || viewers.includes(t.viewer)) && (!of || of.includes(t.tile)) && !(t.across <= continuityLimit(t, cpu)),
  );
}
