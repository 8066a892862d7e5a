// What a handoff costs the pages beyond the steady call (issue 13), measured from outside the
// SDK: the browser's CPU time (every process: CDP `SystemInfo.getProcessInfo` in Chromium,
// /proc in Firefox), the live subscribers, publishers and media peer connections per page
// (ot-trace.js `live`), and video freezes per tile by the W3C definition (webrtc-stats
// `freezeCount`) on the frames the person saw (measure.js, `shownGaps` in gaps.mjs).

import { availableParallelism } from 'node:os';

/**
 * Samples the CPU time of `browsers` (user + system seconds, summed over their processes:
 * `cpuTimes()` of browsers.mjs, from CDP for Chromium and /proc for Firefox) every `everyMs`
 * until `stop()`. `between(from, to)` (epoch ms) interpolates the CPU seconds spent in that
 * window; null when the samples do not cover it.
 */
export async function cpuSampler(browsers, { everyMs = 200 } = {}) {
  // [epoch ms, Map(browser:process id -> cpu s)]: per process, because a page closed between
  // two samples takes its whole CPU time out of any sum.
  const samples = [];
  const MAX = 50000; // a few hours at 200 ms: a forgotten sampler stays bounded
  let stopped = false;
  let pending = null;
  const take = async () => {
    const cpu = new Map();
    for (const b of browsers) {
      for (const [id, s] of await b.cpuTimes()) cpu.set(`${b.name}:${id}`, s);
    }
    if (samples.length < MAX) samples.push([Date.now(), cpu]);
  };
  const loop = async () => {
    while (!stopped) {
      try {
        await take();
      } catch {
        return; // the browser went away: the figures end here
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  await take();
  pending = loop();
  // The sample taken last at or before `t` (null when none covers it).
  const at = (t) => {
    if (!samples.length || t < samples[0][0] || t > samples.at(-1)[0]) return null;
    let i = samples.length - 1;
    while (i > 0 && samples[i][0] > t) i--;
    return samples[i][1];
  };
  return {
    /** CPU seconds the browser spent in [from, to] (epoch ms), to the sampling interval. */
    between(from, to) {
      const a = at(from);
      const b = at(to);
      if (!a || !b) return null;
      let sum = 0;
      // A process that started within the window counts from 0; one that ended within it is
      // lost (its last figures are gone with it).
      for (const [id, cpu] of b) sum += cpu - (a.get(id) ?? 0);
      return sum;
    },
    async stop() {
      stopped = true;
      await pending;
    },
  };
}

/**
 * The browser's CPU over the handoff [from, to] against the steady call's `steadyMs` just
 * before `from`, as cores busy (CPU seconds per second), with the machine's cores: windows of
 * different lengths compare as rates. Null figures where the sampler did not cover a window.
 */
export function cpuFigures(sampler, from, to, steadyMs) {
  const rate = (a, b) => {
    const s = b > a ? sampler?.between(a, b) : null;
    return s == null ? null : s / ((b - a) / 1000);
  };
  return { spanMs: to - from, steadyMs, handoffCores: rate(from, to), steadyCores: rate(from - steadyMs, from), cores: availableParallelism() };
}

/**
 * Whether the steady call left the machine the headroom a handoff needs for the W3C freeze
 * verdict to be the SDK's rather than the machine's: at most `STEADY_SHARE_MAX` of its cores
 * busy before the handoff. The handoff's setup (new peer connections, the vendor's probe
 * connections, a second encoder and decoder per pair while the swap is pending) took 1.2-1.3
 * times the steady call's CPU where the machine had room (issue 13's bench), so a steady call
 * above 65% of the cores leaves the handoff a saturated machine: its peer-connection steps then
 * take 4-5 times as long and frames already in flight are delivered late in every tile, the
 * old session's as much as the new one's. (It was 70% until a clean-clone CI run on
 * 2026-12-07: a steady call at exactly 70%, 1.40 of 2 cores, rose to 1.77 in the handoff,
 * every page's rendering stalled 183-317 ms, and 5 of 6 tiles froze 211-288 ms.)
 */
export const STEADY_SHARE_MAX = 0.65;
export function hadHeadroom(cpu) {
  return cpu?.steadyCores != null && cpu.steadyCores <= STEADY_SHARE_MAX * cpu.cores;
}

/**
 * Freezes in one tile over [from, to] (page clock), by the W3C definition: a frame interval of
 * at least max(3 x avg, avg + 150 ms), avg being the mean of the previous 30 intervals (those
 * before the window count, so the first frames of the window are judged like any other).
 * `gaps` are the intervals the person saw (`shownGaps(rec)`: [start, end, ms, what]), swaps
 * included; `lastFrame` the tile's last frame: a video that stopped before `to` counts as a
 * freeze once the time since its last frame reaches the bound.
 */
export function freezes(gaps, lastFrame, from, to) {
  const out = [];
  const recent = [];
  let bound = Infinity;
  for (const [a, b, gap, what] of gaps) {
    if (recent.length >= 30) {
      const avg = recent.reduce((s, x) => s + x, 0) / recent.length;
      bound = Math.max(3 * avg, avg + 150);
      if (b >= from && a <= to && gap >= bound) out.push({ at: a, gap: Math.round(gap), bound: Math.round(bound), what });
      recent.shift();
    }
    recent.push(gap);
  }
  if (lastFrame !== undefined && lastFrame >= from && to - lastFrame >= bound) {
    out.push({ at: lastFrame, gap: Math.round(to - lastFrame), bound: Math.round(bound), what: 'no frame since' });
  }
  return out;
}

/**
 * Live counts of one page's trace (ot-trace.js): the count of each kind in the steady call
 * (half a second before `from`: the handoff's first steps come in the same millisecond as the
 * page's handoffStarted) and the largest count in [from, to] (epoch ms).
 */
export function peaks(trace, from, to) {
  const out = {};
  from -= 500;
  for (const kind of ['subscribers', 'publishers', 'pcs']) {
    let n = 0;
    let peak = null;
    for (const e of trace) {
      if (e.what !== 'live' || e.kind !== kind) continue;
      if (e.at > to) break;
      if (e.at < from) n = e.n;
      else peak = Math.max(peak ?? n, e.n);
    }
    out[kind] = { steady: n, peak: Math.max(peak ?? n, n) };
  }
  return out;
}
