// What a run printed: the summary of a rotation (events, margins, tiles), its cost beyond the
// steady call and the per-phase timeline. Prints figures; asserts nothing.

import { availableParallelism, loadavg } from 'node:os';
import { hadHeadroom, STEADY_SHARE_MAX } from './cost.mjs';
import { withinOneFrame } from './gaps.mjs';
import { departures, participantIdOf } from './scenario.mjs';

/** A session ID short enough to print and still tell apart (as the app server logs them). */
export const short = (sid) => (sid && sid.length > 16 ? `${sid.slice(0, 6)}…${sid.slice(-6)}` : String(sid));

/** Rounds for printing. */
export const ms = (x) => (x === null || x === undefined ? '-' : `${Math.round(x)}`);

/** One line per tile for the test output. */
export function describeTiles(rows, people) {
  const nameOf = (id) => people.find((p) => p.id === id)?.name ?? id;
  return rows
    .map(
      (r) =>
        `  ${r.viewer} sees ${nameOf(r.tile)}: before ${ms(r.before)} ms (${r.beforeFrames} gaps, largest ${r.beforeWhat}, page stall ${ms(r.beforeRafStall)}), ` +
        `across ${ms(r.across)} ms (${r.acrossFrames} gaps, largest at +${ms(r.acrossAtMs)} ms: ${r.acrossWhat}, page stall ${ms(r.acrossRafStall)}), ` +
        `within one frame of before: ${withinOneFrame(r) ? 'yes' : 'no'}`,
    )
    .join('\n');
}


export function loadNote() {
  const [one] = loadavg();
  return `load average ${one.toFixed(1)} on ${availableParallelism()} cores`;
}

/** Asserts-free summary of a run, for the test output. */
/**
 * Each peer connection a page made after the signal, step by step (ot-trace.js `pc`), in ms
 * after the signal: where a publish's or a subscription's time goes (the probes the vendor's
 * client makes first, its wait for ICE gathering, the server's answer, DTLS). Printed with
 * E2E_PC_TRACE=1.
 */
export function pcTimeline(page) {
  if (!page.started || !page.trace) return [];
  const t0 = page.started.at;
  const byPc = new Map();
  for (const e of page.trace) {
    if (e.what !== 'pc' || e.at < t0) continue;
    const steps = byPc.get(e.id) ?? [];
    steps.push(`${e.ev}${e.type ? ` ${e.type}` : ''} +${ms(e.at - t0)}`);
    byPc.set(e.id, steps);
  }
  return [...byPc].map(([id, steps]) => `    ${page.p.name} pc${id}: ${steps.join(', ')}`);
}

export function printRun(label, r) {
  const lines = [`${label}: ${short(r.oldSid)} -> ${short(r.newSid)} (${loadNote()})`];
  for (const [sid, log] of Object.entries(r.logs ?? {})) {
    const { leftBy } = departures(log);
    const who = Object.entries(leftBy).map(([id, why]) => `${r.people.find((p) => p.id === id)?.name ?? id} ${why}`);
    lines.push(`  ${short(sid)} destroyed; left: ${who.join(', ') || 'nobody was there'}`);
  }
  for (const page of r.pages) {
    const notable = page.events.filter((e) => /handoff|swap|recovery|Rejected|Left|Failed/i.test(e.type));
    lines.push(
      `  ${page.p.name}: handoff ${page.durationMs === null ? '-' : `${ms(page.durationMs)} ms`}, ` +
        `events ${notable
          .map((e) => {
            const rel = page.started ? ` +${ms(e.at - page.started.at)}` : '';
            const why = [e.detail?.reason ?? e.detail?.error?.code ?? e.detail?.endedBy, e.detail?.to ? `to ${short(e.detail.to)}` : null]
              .filter(Boolean)
              .join(' ');
            const gap = e.type === 'participantSwapped' ? ` sdkGap ${ms(e.detail?.frameGapMs)}` : '';
            return `${e.type}(${[why, rel.trim(), gap.trim()].filter(Boolean).join(' ')})`;
          })
          .join(', ')}`,
    );
  }
  const margins = swapMargins(r);
  if (margins.some((m) => m.marginMs !== null)) {
    lines.push(`  old stream outlived the swap by (ms): ${margins.map((m) => `${m.viewer} <- ${m.of} ${m.marginMs === null ? 'never swapped' : ms(m.marginMs)}`).join(', ')}`);
  }
  lines.push(...measuredDifferently(r));
  lines.push(describeTiles(r.tiles, r.people));
  lines.push(...costLines(r));
  lines.push(...phaseTimeline(r));
  if (process.env.E2E_PC_TRACE === '1') for (const page of r.pages) lines.push(...pcTimeline(page));
  console.log(lines.join('\n'));
}

/**
 * Where a page's browser reports what the harness measures differently from Chromium, said
 * with the figures (issue 21): Firefox has no MediaStreamTrackProcessor (frames one late
 * callback reports are taken at their worst case, never placed by their delivery) and no CDP
 * process figures (its CPU is read from /proc for its process tree).
 */
export function measuredDifferently(r) {
  const lines = [];
  const pages = (pred) => r.pages.filter(pred).map((pg) => `${pg.p.name} (${pg.p.browser ?? '?'})`);
  const noProcessor = pages((pg) => pg.media && pg.media.trackProcessor === false);
  if (noProcessor.length) {
    lines.push(`  measured differently: ${noProcessor.join(', ')}: no MediaStreamTrackProcessor, so frames one late rVFC callback reports are taken at their worst case (not placed where the track delivered them)`);
  }
  const procCpu = pages((pg) => pg.p.browser === 'firefox');
  if (procCpu.length) lines.push(`  measured differently: ${procCpu.join(', ')}: browser CPU read from /proc for Firefox's process tree (no CDP SystemInfo)`);
  return lines;
}

/**
 * What the handoff cost beyond the steady call (issue 13): per page the live subscribers,
 * publishers and media peer connections (steady -> peak), the browser's CPU seconds across the
 * handoff against an equally long steady window, and the W3C freezes per tile.
 */
export function costLines(r) {
  const lines = [];
  const live = r.pages.filter((pg) => pg.live).map((pg) => {
    const f = (k) => `${pg.live[k].steady}->${pg.live[k].peak}`;
    return `${pg.p.name} subscribers ${f('subscribers')}, publishers ${f('publishers')}, peer connections ${f('pcs')}`;
  });
  if (live.length) lines.push(`  live (steady->peak): ${live.join('; ')}`);
  // Every peer connection a page made from its handoff's start on, probes included (the
  // vendor's client makes short-lived ones that never carry media).
  const made = r.pages.filter((pg) => pg.started && pg.trace).map((pg) => {
    const n = pg.trace.filter((e) => e.what === 'pc' && e.ev === 'new' && e.at >= pg.started.at).length;
    return `${pg.p.name} (${pg.p.browser ?? '?'}) ${n}`;
  });
  if (made.length) lines.push(`  peer connections created per handoff: ${made.join(', ')}`);
  const c = r.cpu;
  if (c?.handoffCores != null && c?.steadyCores != null) {
    lines.push(
      `  browser CPU (cores busy of ${c.cores}): handoff ${c.handoffCores.toFixed(2)} over ${ms(c.spanMs)} ms, ` +
        `steady ${c.steadyCores.toFixed(2)} over ${ms(c.steadyMs)} ms, ratio ${(c.handoffCores / c.steadyCores).toFixed(2)}; ` +
        `${hadHeadroom(c) ? 'headroom for the W3C verdict' : `no headroom: the steady call alone kept more than ${STEADY_SHARE_MAX * 100}% of the cores busy`}`,
    );
  }
  const frozen = r.tiles.filter((t) => t.freezes?.length);
  lines.push(
    `  W3C freezes across the handoff: ${frozen.length} of ${r.tiles.length} tiles` +
      (frozen.length ? ` (${frozen.map((t) => `${t.viewer} sees ${r.people.find((p) => p.id === t.tile)?.name ?? t.tile}: ${t.freezes.map((x) => `${x.gap} ms >= ${x.bound} (${x.what})`).join(', ')}`).join('; ')})` : ''),
  );
  return lines;
}

/**
 * Where each page's handoff time went, from its OT trace (ot-trace.js) and its SDK events, in
 * ms after the handoff signal reached the page: connect called, connected, published in the new
 * session; per remote participant subscribed, its video element created, swapped; the moved
 * signal sent and the peers' received; the old session left; the handoff completed.
 */
export function phaseTimeline(r) {
  const lines = [];
  for (const page of r.pages) {
    const t = page.trace ?? [];
    const signal = t.find((e) => e.what === 'signalReceived' && e.session === r.oldSid && e.fromServer && e.type === 'handoff');
    if (!signal || !r.newSid) continue;
    const rel = (e) => (e ? `+${ms(e.at - signal.at)}` : '-');
    const on = (what, sid, more = () => true) => t.find((e) => e.what === what && e.session === sid && e.at >= signal.at && more(e));
    const nameOf = (streamId) => {
      const st = r.newSession?.streams?.find((x) => x.streamId === streamId);
      return r.people.find((p) => p.id === participantIdOf(st?.connection?.data))?.name ?? streamId?.slice(0, 6);
    };
    const subs = t.filter((e) => e.what === 'subscribe' && e.session === r.newSid && e.at >= signal.at);
    const perPeer = subs.map((s) => {
      const sub = on('subscribed', r.newSid, (e) => e.stream === s.stream);
      const el = on('videoElement', r.newSid, (e) => e.stream === s.stream);
      return `${nameOf(s.stream)} ${rel(s)}/${rel(sub)}/${rel(el)}`;
    });
    const swaps = page.events.filter((e) => e.type === 'participantSwapped').map((e) => {
      const k = e.detail?.key;
      const who = r.people.find((p) => p.id === participantIdOf(k) || p.name === k)?.name ?? '?';
      return `${who} +${ms(e.at - signal.at)}`;
    });
    const movedIn = t.filter((e) => e.what === 'signalReceived' && e.session === r.newSid && /-moved$/.test(e.type) && e.at >= signal.at);
    const done = page.completed ? `+${ms(page.completed.at - signal.at)}` : '-';
    lines.push(
      `  ${page.p.name} timeline (ms after the signal): connect ${rel(on('connect', r.newSid))}, ` +
        `connected ${rel(on('connected', r.newSid))}, published ${rel(on('published', r.newSid))}; ` +
        `subscribe/subscribed/video ${perPeer.join(', ') || '-'}; swapped ${swaps.join(', ') || '-'}; ` +
        `moved sent ${rel(on('signalSent', r.newSid, (e) => /-moved$/.test(e.type)))}, ` +
        `received ${movedIn.map(rel).join(' ') || '-'}; left old ${rel(on('disconnect', r.oldSid))}; completed ${done}`,
    );
  }
  return lines;
}

/**
 * For every viewer and every remote participant: how long after the viewer's tile showed the
 * participant's new stream (the rendering update that painted the swap, measure.js) the
 * participant's stream in the old session was destroyed (the sandbox's callback timestamps and
 * the pages' clocks are both this machine's epoch clock). Negative: the old stream was gone
 * before the new one was shown, so the viewer's tile froze for that long (the leave rule let a
 * participant leave before its peers had it from the new session).
 */
export function swapMargins(r) {
  if (!r.oldLog) return [];
  const out = [];
  for (const t of r.tiles) {
    const of = r.people.find((o) => o.id === t.tile);
    const gone = r.oldLog.find((e) => e.event === 'streamDestroyed' && participantIdOf(e.stream?.connection?.data) === t.tile);
    if (!of || !gone) continue;
    out.push({ viewer: t.viewer, of: of.name, marginMs: t.swapAt === null ? null : gone.timestamp - t.swapAt });
  }
  return out;
}
