// Handoff benchmark: three people on the demo page with the real vendor client, 150 ms of
// signaling latency per hop, the room's session rotated N times in a row. Prints figures;
// asserts nothing (the e2e tests hold the verdicts).
//
//   npm run bench:handoff                 # 10 rotations, the SDK, routed (builds first)
//   node tests/e2e/bench.mjs [N] [--ways=sdk,naive,vendor] [--mode=routed,relayed]
//   BENCH_LATENCY_MS=0 node tests/e2e/bench.mjs 3
//
// `--ways` (or BENCH_WAYS) names the ways to move a call, measured one after another on the
// same machine: `sdk` (this SDK's handoff to a new session), `naive` (leave, then join the new
// session) and `vendor` (the vendor's own migration, `sessionMigration: true`, no SDK: the
// session ID stays). `--mode` (or BENCH_MODE) names the media modes: `routed` (the platform's
// default, media through the sandbox's media router) and/or `relayed` (peer to peer). With
// more than one way or mode, a side-by-side table ends the output.
//
// Per way and rotation: the largest gap per tile and its W3C freezes (cost.mjs), the most
// audible sources a tile had at once, when the old paths were closed (the last media peer
// connection of the page to close after the start, ms after it: the SDK leaving the old
// session, the naive client disconnecting, the vendor's client ending its migration), the
// browser's CPU across the move against an equally long steady window, and the peak of live
// peer connections per page. The start is the handoff signal (sdk, naive) or the moment the
// vendor's client turned `migrating` (sampled every 100 ms by the demo page).
//
// Per rotation: the handoff's duration per page (signal to handoffCompleted, and to leaving
// the old session), the phases, the live subscribers/publishers/peer connections per page
// (steady -> peak), the browser's CPU across the handoff against an equally long steady window
// (CDP SystemInfo.getProcessInfo), and W3C freezes per tile (cost.mjs). At the end: medians and
// totals. Run it alone on the machine: frame timing is what it measures.
import { hadHeadroom } from './cost.mjs';
import { missing, sdkBuilt, startStack } from './harness.mjs';
import { rotationRun } from './scenario.mjs';
import { loadNote, ms, printRun } from './report.mjs';

const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 150);
const NOTICE_MS = Number(process.env.BENCH_NOTICE_MS ?? 20000);
const NAMES = ['Ada', 'Ben', 'Cy'];

const median = (xs) => {
  const s = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};

/** Signal (as the page's OT trace saw it) to each phase, ms, for one page of one run. */
function phases(r, page) {
  const t = page.trace ?? [];
  const signal = t.find((e) => e.what === 'signalReceived' && e.session === r.oldSid && e.fromServer && e.type === 'handoff');
  if (!signal) return null;
  const at = (what, sid, more = () => true) => t.find((e) => e.what === what && e.session === sid && e.at >= signal.at && more(e))?.at - signal.at;
  const last = (what, sid) => {
    const xs = t.filter((e) => e.what === what && e.session === sid && e.at >= signal.at);
    return xs.length ? xs.at(-1).at - signal.at : undefined;
  };
  const swaps = page.events.filter((e) => e.type === 'participantSwapped').map((e) => e.at - signal.at);
  if (!swaps.length && !page.completed) return null;
  return {
    connected: at('connected', r.newSid),
    published: at('published', r.newSid),
    lastSubscribed: last('subscribed', r.newSid),
    lastVideo: last('videoElement', r.newSid),
    lastSwap: swaps.length ? Math.max(...swaps) : undefined,
    leftOld: at('disconnect', r.oldSid),
    completed: page.completed ? page.completed.at - signal.at : undefined,
  };
}

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 10);
const option = (name, env, dflt) => (args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? process.env[env] ?? dflt).split(',');
const MODES = option('mode', 'BENCH_MODE', 'routed');
for (const m of MODES) if (m !== 'routed' && m !== 'relayed') throw new Error(`--mode: routed or relayed, got ${m}`);
const WAYS = option('ways', 'BENCH_WAYS', 'sdk');
for (const w of WAYS) if (!['sdk', 'naive', 'vendor'].includes(w)) throw new Error(`--ways: sdk, naive or vendor, got ${w}`);

/** When the page's last media peer connection to close after `from` closed, ms after `from`. */
function oldPathsClosed(trace, from, to) {
  let last = null;
  let n = null;
  for (const e of trace) {
    if (e.what !== 'live' || e.kind !== 'pcs') continue;
    if (e.at > to) break;
    if (e.at >= from && n !== null && e.n < n) last = e.at - from;
    n = e.n;
  }
  return last;
}

/** N rotations of one three-person call, moved by `way`, in media `mode`; the rows the summary reads. */
async function measure(way, mode) {
  const stack = await startStack({ mode });
  const rows = [];
  try {
    await stack.hooks({ latencyMs: LATENCY_MS });
    const people = await stack.joinRoom(`bench-${way}`, NAMES, { mode: way });
    for (let i = 1; i <= N; i++) {
      const r = await rotationRun(stack, `bench-${way}`, people, { noticeMs: NOTICE_MS, steadyMs: 8000, beforeMinMs: 5000, afterMs: 2000 });
      printRun(`${way} ${mode} rotation ${i}/${N}`, r);
      for (const page of r.pages) {
        const from = page.started?.at ?? r.rotatedAt;
        const to = (page.completed?.at ?? from) + 2000;
        const audible = Object.values(page.media?.maxAudible ?? {});
        // Audio from outside the tiles (the vendor's client first plays a new stream, sound
        // included, in a detached buffer element of its own): checks that found it, since the
        // page joined (at most 100 are kept).
        const outside = (page.media?.audioViolations ?? []).filter((v) => v.key === null).length;
        rows.push({
          run: i,
          name: page.p.name,
          ph: phases(r, page),
          live: page.live,
          cpu: r.cpu,
          oldClosed: oldPathsClosed(page.trace ?? [], from, to),
          audible: audible.length ? Math.max(...audible) : null,
          outside,
        });
      }
      rows.push({ run: i, tiles: r.tiles, cpu: r.cpu });
    }
    await stack.leave(people);
  } finally {
    await stack.stop();
  }
  return rows;
}

const KEYS = ['connected', 'published', 'lastSubscribed', 'lastVideo', 'lastSwap', 'leftOld', 'completed'];

/** Prints one way's and mode's figures; returns its column of the side-by-side table. */
function summarize(way, media, rows) {
  const mode = `${way} ${media}`;
  const pages = rows.filter((x) => x.ph);
  const all = rows.filter((x) => x.name);
  const runs = rows.filter((x) => x.tiles);
  console.log(`\nbench ${mode}: ${N} rotations, 3 pages, ${LATENCY_MS} ms per hop (${loadNote()})`);
  console.log(`bench ${mode}: median ms after the signal: ${KEYS.map((k) => `${k} ${ms(median(pages.map((p) => p.ph[k])))}`).join(', ')}`);
  const extra = (k) => {
    const d = all.filter((p) => p.live).map((p) => p.live[k].peak - p.live[k].steady);
    return `${k} +${Math.max(...d)} max, +${median(d)} median`;
  };
  console.log(`bench ${mode}: peak extra per page: ${['subscribers', 'publishers', 'pcs'].map(extra).join('; ')}`);
  const cpus = runs.map((r) => r.cpu).filter((c) => c?.handoffCores != null && c?.steadyCores > 0);
  const ratios = cpus.map((c) => c.handoffCores / c.steadyCores);
  console.log(`bench ${mode}: browser CPU handoff/steady (cores busy): median ${median(ratios)?.toFixed(2) ?? '-'}, each ${ratios.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`bench ${mode}: steady call, cores busy of ${cpus[0]?.cores ?? '-'}: median ${median(cpus.map((c) => c.steadyCores))?.toFixed(2) ?? '-'}, each ${cpus.map((c) => c.steadyCores.toFixed(2)).join(' ')}; runs with headroom for the W3C verdict: ${runs.filter((r) => hadHeadroom(r.cpu)).length} of ${runs.length}`);
  const tiles = runs.flatMap((r) => r.tiles);
  const frozen = tiles.filter((t) => t.freezes?.length);
  const freezeCount = frozen.reduce((s, t) => s + t.freezes.length, 0);
  console.log(`bench ${mode}: W3C freezes: ${freezeCount} in ${frozen.length} of ${tiles.length} tiles; runs with none: ${runs.filter((r) => !r.tiles.some((t) => t.freezes?.length)).length} of ${runs.length}`);
  console.log(`bench ${mode}: largest gap across per run (ms): ${runs.map((r) => ms(Math.max(...r.tiles.map((t) => t.across)))).join(' ')}`);
  const gaps = tiles.map((t) => t.across);
  console.log(`bench ${mode}: largest gap per tile (ms): median ${ms(median(gaps))}, max ${ms(Math.max(...gaps))}`);
  const audible = all.map((p) => p.audible).filter((x) => x !== null);
  console.log(`bench ${mode}: audible sources per tile at once: max ${audible.length ? Math.max(...audible) : '-'}`);
  const outsideBy = {};
  for (const p of all) outsideBy[p.name] = Math.max(outsideBy[p.name] ?? 0, p.outside ?? 0);
  const outside = Object.values(outsideBy).reduce((a, b) => a + b, 0);
  console.log(`bench ${mode}: audio checks that found sound outside the tiles: ${outside} (${Object.entries(outsideBy).map(([n, c]) => `${n} ${c}`).join(', ')})`);
  const closed = all.map((p) => p.oldClosed);
  console.log(`bench ${mode}: old paths closed (ms after the start, per page): median ${ms(median(closed))}, each ${closed.map(ms).join(' ')}`);
  const live = all.filter((p) => p.live);
  return {
    mode,
    ratio: median(ratios)?.toFixed(2) ?? '-',
    tileGap: `${ms(median(gaps))} / ${ms(Math.max(...gaps))}`,
    audible: `${audible.length ? Math.max(...audible) : '-'} / ${outside}`,
    oldClosed: ms(median(closed)),
    pcs: `${median(live.map((p) => p.live.pcs.steady))} -> ${Math.max(...live.map((p) => p.live.pcs.peak))}`,
    cores: `${median(cpus.map((c) => c.steadyCores))?.toFixed(2) ?? '-'} / ${median(cpus.map((c) => c.handoffCores))?.toFixed(2) ?? '-'}`,
    freezes: `${frozen.length} of ${tiles.length}`,
    gap: ms(median(runs.map((r) => Math.max(...r.tiles.map((t) => t.across))))),
    phases: Object.fromEntries(KEYS.map((k) => [k, ms(median(pages.map((p) => p.ph[k])))])),
  };
}

async function main() {
  const why = missing();
  if (why) throw new Error(`cannot run: ${why}`);
  if (!sdkBuilt()) throw new Error('the SDK is not built: npm run build');
  const table = [];
  // Each way's figures are printed as soon as it is measured.
  for (const mode of MODES) for (const way of WAYS) table.push(summarize(way, mode, await measure(way, mode)));
  if (table.length < 2) return;
  console.log(
    '\nbench: side by side (medians; peer connections per page steady -> peak; browser cores busy steady / handoff and their ratio; ' +
      'tiles with a W3C freeze; largest gap per tile median / max and per run; most audible sources in a tile; old paths closed after the start)',
  );
  const cols = ['', ...table.map((t) => t.mode)];
  const line = (cells) => console.log(`bench: | ${cells.join(' | ')} |`);
  line(cols);
  line(cols.map(() => '---'));
  line(['peer connections', ...table.map((t) => t.pcs)]);
  line(['cores busy', ...table.map((t) => t.cores)]);
  line(['CPU handoff/steady', ...table.map((t) => t.ratio)]);
  line(['tiles frozen', ...table.map((t) => t.freezes)]);
  line(['largest gap per tile (ms)', ...table.map((t) => t.tileGap)]);
  line(['largest gap per run (ms)', ...table.map((t) => t.gap)]);
  line(['audible sources per tile / checks with sound outside tiles', ...table.map((t) => t.audible)]);
  line(['old paths closed (ms)', ...table.map((t) => t.oldClosed)]);
  for (const k of KEYS) line([`${k} (ms)`, ...table.map((t) => t.phases[k])]);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
