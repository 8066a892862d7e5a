// Scenario building blocks on a running stack (harness.mjs): waiting for everyone to be in a
// session, reading a page's events, the frame figures of its tiles, and `rotationRun`, the
// common shape of every rotation scenario.

import { cpuFigures, freezes, peaks } from './cost.mjs';
import { largestShownGap, rafStall, shownGaps, swapFigure } from './gaps.mjs';
import { pageEvents, pageState, sleep, snapshot, tilesByParticipant, toPage, until } from './harness.mjs';


/** Waits until every participant's page is live in `sessionId` and the sandbox agrees. */
export async function waitAllIn(stack, people, sessionId, { timeout = 45000, what = 'everyone in the new session' } = {}) {
  await until(
    async () => {
      for (const p of people) {
        const s = await pageState(p);
        if (s.sessionId !== sessionId || s.state !== 'live') return false;
      }
      const session = await stack.session(sessionId);
      if (!session || session.destroyed) return false;
      const ids = session.connections.map((c) => participantIdOf(c.data));
      return people.every((p) => ids.filter((id) => id === p.id).length === 1);
    },
    { timeout, what },
  );
}

/** Waits until the sandbox has destroyed `sessionId`; returns its event log. */
export async function waitDestroyed(stack, sessionId, { timeout = 45000 } = {}) {
  return until(
    async () => {
      const events = await stack.events(sessionId);
      return events.some((e) => e.event === 'sessionDestroyed') ? events : null;
    },
    { timeout, what: `session ${sessionId.slice(0, 12)}… to be destroyed` },
  );
}

/** The participant ID in a connection's data (the app's `{"id","name"}`), or the data. */
export function participantIdOf(data) {
  try {
    return JSON.parse(data).id ?? data;
  } catch {
    return data;
  }
}

/**
 * Checks a destroyed session's log: every connection that was created left before
 * `sessionDestroyed`, and how. Returns `{ leftBy: {participantId: reason}, problems: [...] }`.
 */
export function departures(events) {
  const destroyedAt = events.findIndex((e) => e.event === 'sessionDestroyed');
  const leftBy = {};
  const problems = [];
  if (destroyedAt < 0) problems.push('no sessionDestroyed in the log');
  for (const [i, e] of events.entries()) {
    if (e.event !== 'connectionCreated') continue;
    const id = participantIdOf(e.connection.data);
    const gone = events.findIndex((d, j) => j > i && d.event === 'connectionDestroyed' && d.connection.id === e.connection.id);
    if (gone < 0) {
      problems.push(`${id}: never left`);
      continue;
    }
    leftBy[id] = events[gone].reason;
    if (destroyedAt >= 0 && gone > destroyedAt) problems.push(`${id}: left after sessionDestroyed`);
  }
  return { leftBy, problems };
}

/** The first event of `type` in a page's events (optionally matching `pred`). */
export function first(events, type, pred = () => true) {
  return events.find((e) => e.type === type && pred(e)) ?? null;
}

export function all(events, type, pred = () => true) {
  return events.filter((e) => e.type === type && pred(e));
}

/**
 * Frame continuity of every remote tile of `p` around its handoff.
 * `startAt`/`endAt` are epoch ms (the handoff window); the "before" window is the `beforeMs`
 * before `startAt`. Returns `[{ viewer, tile, before, across, frames, elementIds }]`.
 */
export async function continuity(p, { startAt, endAt, beforeMs = 5000, only = null }) {
  const snap = await snapshot(p);
  const from = toPage(snap, startAt);
  const to = Math.min(toPage(snap, endAt), snap.now);
  const out = [];
  for (const [id, rec] of Object.entries(tilesByParticipant(snap))) {
    if (only && !only.includes(id)) continue;
    const before = largestShownGap(rec, from - beforeMs, from, { within: true });
    const across = largestShownGap(rec, from, to);
    out.push({
      viewer: p.name,
      tile: id,
      before: before.largest,
      beforeFrames: before.count,
      beforeRafStall: rafStall(snap, from - beforeMs, from),
      across: across.largest,
      acrossFrames: across.count,
      // where the largest gap began, ms after the window's start (page clock)
      acrossAtMs: across.at === null ? null : across.at - from,
      acrossWhat: across.what,
      beforeWhat: before.what,
      // the page's own longest rendering stall in each window: a frozen page, not a swap
      acrossRafStall: rafStall(snap, from, to),
      elementIds: rec.elementIds,
      swapAt: firstSwap(rec, from, to, snap.timeOrigin),
      // the tile's first swap measured as the SDK's meter defines its figure, from the frame
      // callbacks alone (as the SDK sees them)
      swap: swapFigure({ shown: rec.rvfc }, from, to),
      // the largest gap across, from the frame callbacks alone (what the SDK's meter sees)
      acrossRvfc: largestShownGap({ shown: rec.rvfc }, from, to, { within: true }).largest,
      // W3C freezes across the handoff (cost.mjs): the verdict issue 13 holds the SDK to
      freezes: freezes(shownGaps(rec), rec.frames?.at(-1), from, to),
    });
  }
  return out;
}

/**
 * When the tile first showed another video in [from, to] (page clock) after showing one: the
 * rendering update that painted the swap, as epoch ms; null when it did not swap.
 */
function firstSwap(rec, from, to, timeOrigin) {
  const { tops } = rec;
  for (let i = 2; i < tops.length; i += 2) {
    const [at, video, was] = [tops[i], tops[i + 1], tops[i - 1]];
    if (at >= from && at <= to && video && was && video !== was) return at + timeOrigin;
  }
  return null;
}

/** Audio and attribute checks of a page's whole recording. */
export async function mediaChecks(p) {
  const snap = await snapshot(p, Number.POSITIVE_INFINITY);
  return {
    audioViolations: snap.audioViolations,
    maxAudible: snap.maxAudible,
    audibleNow: snap.audibleNow,
    mismatchCount: snap.mismatchCount,
    mismatches: snap.mismatches,
    trackProcessor: snap.trackProcessor,
  };
}


/** Last lines of each page's console, for failure messages. */
export function pageLogs(people, n = 15) {
  return people.map((p) => `--- ${p.name} console:\n${p.logs.slice(-n).join('\n')}`).join('\n');
}

/**
 * The common shape of a scenario: `people` are in `room`; after `steadyMs` of steady call,
 * `rotate()` (default: the room's session through the app server, `noticeMs`), then wait until
 * everyone is live in the room's current session, every session in `destroyed()` (default the
 * old one) is destroyed, and `afterMs` passed after the last handoffCompleted. Returns what each
 * page and the sandbox saw; `tiles` are the frame figures of every remote tile over the
 * handoff window (first handoffStarted or recoveryStarted of the page, or the rotation, until
 * the end), against a "before" window as long as that (at least `beforeMinMs`, at most
 * `steadyMs - 500`).
 */
export async function rotationRun(stack, room, people, opts = {}) {
  const {
    noticeMs = 6000,
    steadyMs = 6000,
    beforeMinMs = 5000,
    afterMs = 3000,
    rotate = () => stack.rotateRoom(room, noticeMs),
    // A room of the vendor's migration: the session stays; the run ends when every page's
    // client said so (`migrated` from the vendor's client, `sessionMigrated` from the SDK).
    migrate = stack.rotations?.get(room) === 'migrate',
    destroyed = (ctx) => (migrate ? [] : [ctx.oldSid]),
    timeout = noticeMs + 30000,
  } = opts;
  const oldSid = await stack.roomSession(room);
  await waitAllIn(stack, people, oldSid, { what: 'everyone in the first session' });
  const steadyFrom = Date.now();
  await sleep(steadyMs);
  const ctx = { oldSid, steadyFrom, rotatedAt: Date.now() };
  await rotate(ctx);
  const migrated = async () => {
    for (const p of people) {
      if (!(await pageEvents(p)).some((e) => /^(migrated|sessionMigrated)$/.test(e.type) && e.at >= ctx.rotatedAt)) return null;
    }
    return oldSid;
  };
  const newSid = migrate
    ? await until(migrated, { timeout, interval: 250, what: `${people.map((p) => p.name).join(', ')} migrated` })
    : await until(
    async () => {
      const s = await stack.roomSession(room);
      if (!s || s === oldSid) return null;
      // The room's current session may still change (a second rotation): settle on the one
      // everyone is live in.
      try {
        await waitAllIn(stack, people, s, { timeout: 1000 });
      } catch {
        return null;
      }
      return (await stack.roomSession(room)) === s ? s : null;
    },
    { timeout, interval: 200, what: `${people.map((p) => p.name).join(', ')} live in the room's new session` },
  );
  ctx.newSid = newSid;
  const logs = {};
  let destroyedAt = 0;
  for (const sid of destroyed(ctx)) {
    logs[sid] = await waitDestroyed(stack, sid, { timeout });
    destroyedAt = Math.max(destroyedAt, logs[sid].find((e) => e.event === 'sessionDestroyed').timestamp);
  }
  const pages = [];
  let endAt = destroyedAt + 1000;
  // This rotation's events only: a page that went through earlier rotations (the benchmark)
  // still holds theirs.
  const eventsOf = async (p) => (await pageEvents(p)).filter((e) => e.at >= ctx.rotatedAt);
  for (const p of people) {
    const events = await eventsOf(p);
    const page = {
      p,
      events,
      started: first(events, 'handoffStarted') ?? first(events, 'recoveryStarted') ?? first(events, 'migrationStarted'),
    };
    page.completed = all(events, 'handoffCompleted').at(-1) ?? all(events, 'migrated').at(-1) ?? all(events, 'sessionMigrated').at(-1) ?? null;
    if (page.completed) endAt = Math.max(endAt, page.completed.at + afterMs);
    pages.push(page);
  }
  await sleep(Math.max(0, endAt - Date.now() + 200));
  const tiles = [];
  for (const page of pages) {
    page.events = await eventsOf(page.p);
    const startAt = page.started?.at ?? ctx.rotatedAt;
    const beforeMs = Math.min(steadyMs - 500, Math.max(beforeMinMs, endAt - startAt));
    page.tiles = await continuity(page.p, { startAt, endAt, beforeMs });
    page.media = await mediaChecks(page.p);
    page.trace = await page.p.page.evaluate(() => window.__otTrace ?? []);
    page.live = peaks(page.trace, startAt, endAt);
    const firstDone = first(page.events, 'handoffCompleted');
    page.durationMs = firstDone?.detail?.durationMs ?? (firstDone && page.started ? firstDone.at - page.started.at : null);
    tiles.push(...page.tiles);
  }
  const newSession = await stack.session(newSid);
  const oldSession = await stack.session(oldSid);
  // The browser's CPU across the handoff (the first page's start to 1 s after the last page's
  // completion: the old session's teardown counts), as cores busy, against the steady call just
  // before it (as long as the handoff when the steady call allows, never reaching back past the
  // steady call's start into the joins or an earlier rotation). Not to the old session's end:
  // the platform destroys it at the notice's end, long after everyone left.
  const handoffFrom = Math.min(...pages.map((pg) => pg.started?.at ?? ctx.rotatedAt));
  const handoffTo = Math.max(...pages.map((pg) => (pg.completed?.at ?? destroyedAt) + 1000));
  const cpu = cpuFigures(stack.cpu, handoffFrom, handoffTo, Math.min(handoffTo - handoffFrom, handoffFrom - ctx.steadyFrom - 500));
  return { room, people, oldSid, newSid, oldLog: logs[oldSid] ?? null, logs, newSession, oldSession, pages, tiles, rotatedAt: ctx.rotatedAt, destroyedAt, ctx, cpu };
}

/**
 * The machine's load, printed with every figure: frame timing means little on a machine whose
 * cores are busy with something else (a build), and the figures should say so.
 */
