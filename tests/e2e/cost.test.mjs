// Checks the figures of cost.mjs on made-up inputs (no browser): the W3C freeze rule, the
// live counts, and the CPU rates and headroom rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuFigures, freezes, hadHeadroom, peaks } from './cost.mjs';
import { continuityLimit, interrupted } from './gaps.mjs';

/** `n` frame intervals of `ms` from `t0`, as shownGaps gives them. */
function steady(t0, n, ms) {
  return Array.from({ length: n }, (_, i) => [t0 + i * ms, t0 + (i + 1) * ms, ms, 'one frame']);
}

test('a freeze is an interval of at least max(3 x avg, avg + 150 ms) over the previous 30', () => {
  const before = steady(0, 40, 33.3);
  const t = 40 * 33.3;
  // avg 33.3 ms: the bound is 183.3 ms.
  const gaps = [...before, [t, t + 180, 180, 'one frame'], [t + 180, t + 370, 190, 'swap'], ...steady(t + 370, 10, 33.3)];
  const found = freezes(gaps, t + 370 + 333, 0, t + 800);
  assert.deepEqual(found.map((f) => [f.gap, f.what]), [[190, 'swap']]);
  assert.equal(found[0].bound, 188); // 180 ms entered the average: (29 x 33.3 + 180) / 30 + 150
});

test('slow video sets its own bound: 3 x avg when that is larger', () => {
  const gaps = [...steady(0, 40, 100), [4000, 4290, 290, 'one frame'], [4290, 4610, 320, 'one frame']];
  const found = freezes(gaps, 4610, 0, 4700);
  assert.deepEqual(found.map((f) => f.gap), [320]);
});

test('only the window counts, and a video that stopped is a freeze once the bound has passed', () => {
  const gaps = [...steady(0, 40, 33.3), [1332, 1832, 500, 'one frame'], ...steady(1832, 40, 33.3)];
  assert.deepEqual(freezes(gaps, 1832 + 40 * 33.3, 2000, 3000), [], 'the freeze was before the window');
  const last = 1832 + 40 * 33.3;
  assert.equal(freezes(gaps, last, 2000, last + 100).length, 0, 'stopped 100 ms ago: not yet');
  assert.deepEqual(freezes(gaps, last, 2000, last + 400).map((f) => f.what), ['no frame since']);
});

test('live counts: the steady count half a second before the window, the peak inside it', () => {
  const trace = [
    { at: 100, what: 'live', kind: 'pcs', n: 4 },
    { at: 990, what: 'live', kind: 'publishers', n: 2 }, // the handoff's first step
    { at: 1500, what: 'live', kind: 'pcs', n: 7 },
    { at: 1600, what: 'live', kind: 'pcs', n: 5 },
    { at: 9000, what: 'live', kind: 'pcs', n: 9 }, // after the window
  ];
  const p = peaks(trace, 1000, 5000);
  assert.deepEqual(p.pcs, { steady: 4, peak: 7 });
  assert.deepEqual(p.publishers, { steady: 0, peak: 2 });
  assert.deepEqual(p.subscribers, { steady: 0, peak: 0 });
});

test('CPU: windows of different lengths compare as cores busy; headroom is at most 65% of the cores busy before', () => {
  // A sampler whose browser spends `rate(t)` CPU seconds per second: 1.0 before t = 10 s, 1.5 after.
  const cpuAt = (t) => (t <= 10000 ? t / 1000 : 10 + ((t - 10000) / 1000) * 1.5);
  const sampler = { between: (a, b) => cpuAt(b) - cpuAt(a) };
  const c = cpuFigures(sampler, 10000, 16000, 4000);
  assert.equal(c.handoffCores, 1.5);
  assert.equal(c.steadyCores, 1);
  assert.equal(c.spanMs, 6000);
  assert.equal(hadHeadroom({ ...c, cores: 2 }), true); // 1.0 of 2 cores
  assert.equal(hadHeadroom({ ...c, steadyCores: 1.31, cores: 2 }), false);
  assert.equal(hadHeadroom({ ...c, steadyCores: 1.4, cores: 2 }), false);
  assert.equal(hadHeadroom({ ...c, steadyCores: 1.3, cores: 2 }), true);
  // Not measured is not room.
  assert.equal(hadHeadroom(cpuFigures({ between: () => null }, 10000, 16000, 4000)), false);
  assert.equal(cpuFigures(sampler, 10000, 16000, 0).steadyCores, null);
});

test('continuity bound: 400 ms with headroom or unmeasured, 1 s where the steady call left none', { skip: process.env.E2E_STRICT === '1' && 'E2E_STRICT: the bound is the before gap + one frame' }, () => {
  const t = { viewer: 'Ada', tile: 'ben', before: 80, across: 600 };
  const roomy = { steadyCores: 1.0, cores: 2 };
  const saturated = { steadyCores: 1.8, cores: 2 };
  assert.equal(continuityLimit(t), 399);
  assert.equal(continuityLimit(t, roomy), 399);
  assert.equal(continuityLimit(t, saturated), 999);
  assert.deepEqual(interrupted([t], { cpu: roomy }).length, 1);
  assert.deepEqual(interrupted([t], { cpu: saturated }).length, 0);
  assert.deepEqual(interrupted([{ ...t, across: 1200 }], { cpu: saturated }).length, 1);
});
