// Soak (a benchmark: prints figures, asserts nothing, not run by `npm test`): two app-server
// processes on a real redis-server with ROOM_TTL_S=60, ROOMS rooms of three connections, each
// room rotated ROTATIONS times over about ten minutes, with churn between rotations (one
// participant leaves and comes back with a token for the room's current session). Nothing a
// room uses is refreshed for longer than the TTL between a room's rotations, so every record
// that expired while in use would show here.
//
//   cargo build -p video-handoff-sandbox
//   node examples/app-server/bench/soak.mjs [--rooms 200] [--rotations 5] [--round-s 130] [--notice-ms 20000]
//
// Every connection follows its handoff signal as the SDK would (connects to the new session
// with the signal's token, then leaves the old one). Prints, among others:
// - rotationsMissed: rotations in which a connection of the old session got no handoff signal
//   before the old session ended (must be 0);
// - roomsSplit: rooms whose participants were ever told, or joined, different sessions at once
//   (must be 0);
// - identitiesReassigned: a cookie-less stranger's join with a live participant's ID that was
//   accepted (one probe per room and round; must be 0).
// The join limits are off (JOIN_LIMIT_PER_MIN=0, NEW_ROOM_LIMIT_PER_MIN=0): every simulated
// browser comes from 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { devKeys } from '../test/helpers.mjs';
import { startRedis, freePort } from '../test/redis-server.mjs';
import { startSandbox } from '../test/sandbox-process.mjs';
import { connectClient } from '../../sandbox/tests/vendor-client.mjs';

const { values: args } = parseArgs({
  options: {
    rooms: { type: 'string', default: '200' },
    rotations: { type: 'string', default: '5' },
    'round-s': { type: 'string', default: '130' },
    'notice-ms': { type: 'string', default: '20000' },
  },
});
const ROOMS = Number(args.rooms);
const ROTATIONS = Number(args.rotations);
const ROUND_MS = Number(args['round-s']) * 1000;
const NOTICE_MS = Number(args['notice-ms']);
const PER_ROOM = 3;
const TTL_S = 60;
const APP_ID = 'soak-app';
const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.resolve(here, '../server.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startAppProcess({ port, env, lines }) {
  const proc = spawn(process.execPath, [SERVER], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, PORT: String(port) } });
  const ready = new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`app server on ${port} exited (${code}): ${lines.slice(-5).join(' | ')}`)));
    for (const stream of [proc.stdout, proc.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (line.startsWith('app server listening on ')) resolve(line.slice('app server listening on '.length));
      });
    }
  });
  return { proc, ready };
}

/** A browser: its own cookie jar, JSON in and out. */
function browser(base) {
  let cookie = '';
  const keep = (res) => {
    const set = res.headers.getSetCookie().map((c) => c.split(';')[0]);
    if (set.length) cookie = set.join('; ');
  };
  return {
    async post(p, body) {
      const res = await fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(body) });
      keep(res);
      return { status: res.status, body: await res.json().catch(() => null) };
    },
    async get(p) {
      const res = await fetch(base + p, { headers: { cookie } });
      keep(res);
      return { status: res.status, body: await res.json().catch(() => null) };
    },
  };
}

const figures = {
  rooms: ROOMS,
  connectionsPerRoom: PER_ROOM,
  roomTtlS: TTL_S,
  appInstances: 2,
  store: 'redis',
  rotationsPerRoom: ROTATIONS,
  rotationsRequested: 0,
  rotationsMissed: 0,
  roomsSplit: 0,
  identitiesReassigned: 0,
  identityProbes: 0,
  churnRejoins: 0,
  churnRejoinsRefused: 0,
  handoffsFollowed: 0,
  handoffFollowFailures: 0,
  connectRetries: 0,
  recoveries: 0,
  errors: [],
};
const splitRooms = new Set();
const note = (what) => figures.errors.length < 20 && figures.errors.push(what);

const dir = mkdtempSync(path.join(tmpdir(), 'soak-'));
const cleanup = [];
const allClients = new Set();
try {
  const keys = devKeys();
  writeFileSync(path.join(dir, 'private.key'), keys.privateKey, { mode: 0o600 });
  const secret = randomBytes(24).toString('base64url');
  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  const ports = [await freePort(), await freePort()];
  const sandbox = await startSandbox({
    applicationId: APP_ID,
    publicKey: keys.publicKey,
    callbackUrls: ports.map((p) => `http://127.0.0.1:${p}/callbacks`),
    secret,
  });
  cleanup.push(() => sandbox.stop());
  const env = {
    VONAGE_APPLICATION_ID: APP_ID,
    VONAGE_PRIVATE_KEY: path.join(dir, 'private.key'),
    VONAGE_VIDEO_HOST: sandbox.url,
    VONAGE_SIGNATURE_SECRET: secret,
    SANDBOX_ADMIN_URL: sandbox.url,
    SANDBOX_ADMIN_TOKEN: sandbox.adminToken,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'soak:',
    APP_COOKIE_SECRET: randomBytes(32).toString('base64url'),
    ROOM_TTL_S: String(TTL_S),
    JOIN_LIMIT_PER_MIN: '0',
    NEW_ROOM_LIMIT_PER_MIN: '0',
  };
  const apps = ports.map((port) => {
    const lines = [];
    const started = startAppProcess({ port, env, lines });
    cleanup.push(() => started.proc.exitCode === null && started.proc.kill('SIGTERM'));
    return { ...started, lines };
  });
  const appUrls = await Promise.all(apps.map((a) => a.ready));

  /**
   * Connects `p` to `sessionId` (retried like the SDK's connects: 3 attempts, 60 s each, on
   * a machine that may be saturated), following every handoff signal it gets from then on.
   */
  async function attach(p, sessionId, token) {
    let client;
    for (let attempt = 1; ; attempt++) {
      try {
        client = await connectClient({ sandboxUrl: sandbox.url, applicationId: APP_ID, sessionId, token, timeoutMs: 60_000 });
        break;
      } catch (err) {
        figures.connectRetries++;
        if (attempt === 3) throw err;
        await sleep(1000 * attempt);
      }
    }
    allClients.add(client);
    client.sessionId = sessionId;
    p.client = client;
    client.on('signal', (s) => {
      if (s.type !== 'handoff' || p.client !== client || p.leaving) return;
      const move = JSON.parse(s.data);
      p.room.told.add(`${sessionId}->${move.sessionId}`);
      p.signalled.add(sessionId);
      // Make before break: the new session first, then leave the old one.
      p.moving = true;
      attach(p, move.sessionId, move.token)
        .then(() => {
          figures.handoffsFollowed++;
          return client.disconnect();
        })
        .catch((err) => {
          figures.handoffFollowFailures++;
          note(`follow ${p.id}: ${err.message}`);
        })
        .finally(() => {
          p.moving = false;
          allClients.delete(client);
        });
    });
    client.on('close', () => {
      // Dropped (its session ended before a failed move could complete): come back as the
      // SDK's recovery does, through the room's current session.
      if (p.client === client && !p.leaving && !p.moving) recover(p);
    });
    return client;
  }

  async function recover(p) {
    figures.recoveries++;
    p.leaving = true;
    try {
      const where = await p.web.get(`/api/rooms/${p.room.name}`);
      const sid = where.body?.sessionId;
      const t = await p.web.get(`/api/rooms/${p.room.name}/token?sessionId=${encodeURIComponent(sid)}&id=${p.id}`);
      if (t.status === 200) {
        await attach(p, sid, t.body.token);
      } else {
        const j = await p.web.post(`/api/rooms/${p.room.name}/join`, { name: p.name, id: p.id });
        if (j.status !== 200) throw new Error(`HTTP ${j.status} ${j.body?.error}`);
        await attach(p, j.body.sessionId, j.body.token);
      }
    } catch (err) {
      note(`recover ${p.id}: ${err.message}`);
    } finally {
      p.leaving = false;
    }
  }

  // ---- join: rooms x 3 participants, alternating instances ----
  const rooms = [];
  for (let r = 0; r < ROOMS; r++) {
    const room = { name: `soak-${r}`, people: [], told: new Set(), index: r };
    rooms.push(room);
    for (let k = 0; k < PER_ROOM; k++) {
      const n = r * PER_ROOM + k;
      room.people.push({ room, id: `soak-${r}-p${k}-id`, name: `p${k}`, web: browser(appUrls[n % 2]), signalled: new Set() });
    }
  }
  const joinsStarted = performance.now();
  for (let batch = 0; batch < rooms.length; batch += 20) {
    await Promise.all(rooms.slice(batch, batch + 20).map(async (room) => {
      for (const p of room.people) {
        const r = await p.web.post(`/api/rooms/${room.name}/join`, { name: p.name, id: p.id });
        if (r.status !== 200) throw new Error(`join ${room.name}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
        await attach(p, r.body.sessionId, r.body.token);
      }
      if (new Set(room.people.map((p) => p.client.sessionId)).size > 1) splitRooms.add(room.name);
    }));
  }
  figures.joinSeconds = +((performance.now() - joinsStarted) / 1000).toFixed(1);

  // ---- rounds: each room rotated once per round, its start spread over the round ----
  const soakStarted = performance.now();
  const spreadMs = Math.max(0, ROUND_MS - NOTICE_MS - 15_000);
  /** The sessions the room's settled participants are in (not mid-move, -leave or -recovery). */
  const liveSessions = (room) =>
    new Set(room.people.filter((p) => !p.client.disconnected && !p.moving && !p.leaving).map((p) => p.client.sessionId));
  async function rotateOnce(room, round) {
    // The session its participants are in now (all alike unless the room split).
    const current = liveSessions(room);
    if (current.size > 1) splitRooms.add(room.name);
    const [old] = current.size ? current : [room.people[0].client.sessionId];
    const inOld = room.people.filter((p) => p.client.sessionId === old && !p.client.disconnected);
    figures.rotationsRequested++;
    const r = await sandbox.admin('POST', `/admin/sessions/${encodeURIComponent(old)}/rotate`, { noticeMs: NOTICE_MS });
    if (r.status !== 202) {
      note(`rotate ${room.name} round ${round}: HTTP ${r.status}`);
      figures.rotationsMissed++;
      return;
    }
    await sleep(NOTICE_MS + 2000); // the old session has ended
    if (inOld.some((p) => !p.signalled.has(old))) figures.rotationsMissed++;
    const now = liveSessions(room);
    if (now.size > 1) splitRooms.add(room.name);
    // Identity probe: a cookie-less stranger claims a live participant's ID.
    const victim = room.people[round % PER_ROOM];
    if (victim.client.disconnected || victim.leaving) return; // not live now: its ID may expire
    figures.identityProbes++;
    const probe = await browser(appUrls[(round + 1) % 2]).post(`/api/rooms/${room.name}/join`, { name: 'stranger', id: victim.id });
    if (probe.status === 200) figures.identitiesReassigned++;
    else if (probe.body?.error !== 'idTaken') note(`probe ${room.name}: HTTP ${probe.status} ${probe.body?.error}`);
  }
  async function churn(room, round) {
    // One participant leaves and, 5 s later, comes back with a token for the room's current
    // session (from whichever instance), as a page reload would.
    const p = room.people[(round + 1) % PER_ROOM];
    p.leaving = true;
    const old = p.client;
    await old.disconnect();
    allClients.delete(old);
    await sleep(5000);
    const where = await p.web.get(`/api/rooms/${room.name}`);
    const sid = where.body?.sessionId;
    const t = await p.web.get(`/api/rooms/${room.name}/token?sessionId=${encodeURIComponent(sid)}&id=${p.id}`);
    figures.churnRejoins++;
    if (t.status !== 200) {
      figures.churnRejoinsRefused++;
      note(`rejoin ${p.id}: HTTP ${t.status} ${t.body?.error}`);
      // Join again instead (what the page does when its token request fails).
      const j = await p.web.post(`/api/rooms/${room.name}/join`, { name: p.name, id: p.id });
      if (j.status !== 200) {
        note(`re-join ${p.id}: HTTP ${j.status} ${j.body?.error}`);
        p.leaving = false;
        return;
      }
      await attach(p, j.body.sessionId, j.body.token);
    } else {
      await attach(p, sid, t.body.token);
    }
    p.leaving = false;
    if (liveSessions(room).size > 1) splitRooms.add(room.name);
  }
  await Promise.all(rooms.map(async (room) => {
    await sleep((room.index / rooms.length) * spreadMs);
    for (let round = 0; round < ROTATIONS; round++) {
      const roundStart = soakStarted + (room.index / rooms.length) * spreadMs + round * ROUND_MS;
      await sleep(Math.max(0, roundStart - performance.now()));
      try {
        await rotateOnce(room, round);
        // Churn in two rooms of three, halfway to the next rotation: more than a TTL after it.
        if (room.index % 3 !== 0 && round < ROTATIONS - 1) {
          await sleep(Math.max(0, roundStart + ROUND_MS / 2 - performance.now()));
          await churn(room, round);
        }
      } catch (err) {
        note(`${room.name} round ${round}: ${err.message}`);
      }
    }
  }));
  figures.soakSeconds = +((performance.now() - soakStarted) / 1000).toFixed(1);
  for (const room of rooms) {
    // Every participant ends in one session, and was never told two different targets for one source.
    const sources = new Map();
    for (const t of room.told) {
      const [from, to] = t.split('->');
      sources.set(from, [...(sources.get(from) ?? []), to]);
    }
    if ([...sources.values()].some((tos) => new Set(tos).size > 1)) splitRooms.add(room.name);
  }
  figures.roomsSplit = splitRooms.size;
  figures.movesStarted = apps.reduce((n, a) => n + a.lines.filter((l) => / rotation of \S+ announced/.test(l)).length, 0);
  console.log(JSON.stringify(figures, null, 2));
} finally {
  for (const c of allClients) c.terminate();
  for (const step of cleanup.reverse()) {
    try {
      await step();
    } catch {
      // keep cleaning up
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
