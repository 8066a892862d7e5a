// Load script (prints figures, asserts no time): ROOMS rooms of 3 connections each rotate at
// once through two app-server processes sharing a real redis-server. The sandbox delivers its
// signed callbacks round robin between them (`--duplicates`: each one twice). A counting proxy
// between the app servers and the sandbox counts the REST calls they make.
//
//   node examples/app-server/bench/rotation-load.mjs [--rooms 1000] [--notice-ms 30000] [--duplicates]
//
// Prints: the time from the first rotation request until every connection had its handoff
// signal, REST calls made (by kind and status), rooms split (clients of one room told
// different sessions: must be 0), moves started twice (for one old session: must be 0),
// connections signalled more than once, and each process's CPU seconds during the rotation.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { devKeys } from '../test/helpers.mjs';
import { startRedis, freePort } from '../test/redis-server.mjs';
import { startSandbox } from '../test/sandbox-process.mjs';
import { connectClient } from '../../sandbox/tests/vendor-client.mjs';

const { values: args } = parseArgs({
  options: {
    rooms: { type: 'string', default: '1000' },
    'notice-ms': { type: 'string', default: '30000' },
    concurrency: { type: 'string', default: '50' },
    duplicates: { type: 'boolean', default: false },
  },
});
const ROOMS = Number(args.rooms);
const PER_ROOM = 3;
const NOTICE_MS = Number(args['notice-ms']);
const CONCURRENCY = Number(args.concurrency);
const APP_ID = 'load-app';
const PREFIX = 'load:';
const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.resolve(here, '../server.js');

// utime + stime of a process, in seconds (clock ticks of 10 ms on Linux).
const cpuS = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  }));
}

/** Forwards everything to the sandbox, counting REST calls by kind and status. */
async function countingProxy() {
  const counts = {};
  const proxy = { url: null, target: null, counts };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const kind = req.url === '/session/create' ? 'createSession' : /\/signal$/.test(req.url) ? 'sendSignal' : `${req.method} other`;
    const up = http.request(proxy.target + req.url, { method: req.method, headers: req.headers, agent }, (answer) => {
      const key = `${kind} ${answer.statusCode}`;
      counts[key] = (counts[key] ?? 0) + 1;
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => {
      counts[`${kind} unreachable`] = (counts[`${kind} unreachable`] ?? 0) + 1;
      res.writeHead(502).end();
    });
    up.end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  proxy.close = () => new Promise((r) => server.close(r));
  return proxy;
}

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

const dir = mkdtempSync(path.join(tmpdir(), 'rotation-load-'));
const cleanup = [];
const clients = [];
try {
  const keys = devKeys();
  writeFileSync(path.join(dir, 'private.key'), keys.privateKey, { mode: 0o600 });
  const secret = randomBytes(24).toString('base64url');
  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  const proxy = await countingProxy();
  cleanup.push(() => proxy.close());
  const ports = [await freePort(), await freePort()];
  const sandbox = await startSandbox({
    applicationId: APP_ID,
    publicKey: keys.publicKey,
    callbackUrls: ports.map((p) => `http://127.0.0.1:${p}/callbacks`),
    secret,
    duplicates: args.duplicates,
  });
  cleanup.push(() => sandbox.stop());
  proxy.target = sandbox.url;

  const env = {
    VONAGE_APPLICATION_ID: APP_ID,
    VONAGE_PRIVATE_KEY: path.join(dir, 'private.key'),
    VONAGE_VIDEO_HOST: proxy.url,
    VONAGE_SIGNATURE_SECRET: secret,
    SANDBOX_ADMIN_URL: sandbox.url,
    SANDBOX_ADMIN_TOKEN: sandbox.adminToken,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: PREFIX,
    APP_COOKIE_SECRET: randomBytes(32).toString('base64url'),
    // Every simulated browser comes from 127.0.0.1: no per-client join limits here.
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
  const store = createClient({ url: redis.url });
  await store.connect();
  cleanup.push(() => store.close());

  // ---- join: rooms x 3 participants, alternating instances ----
  const joinsStarted = performance.now();
  const people = [];
  for (let r = 0; r < ROOMS; r++) {
    for (let k = 0; k < PER_ROOM; k++) people.push({ room: `load-${r}`, name: `p${k}`, n: people.length });
  }
  // One participant per room first, so each room's session is created once; then the rest.
  const firsts = people.filter((p) => p.name === 'p0');
  const rest = people.filter((p) => p.name !== 'p0');
  const join = async (p) => {
    const url = appUrls[p.n % 2];
    const r = await fetch(`${url}/api/rooms/${p.room}/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: p.name, id: `${p.room}-${p.name}-id` }),
    });
    const body = await r.json();
    if (r.status !== 200) throw new Error(`join ${p.room}: HTTP ${r.status} ${JSON.stringify(body)}`);
    p.sessionId = body.sessionId;
    p.client = await connectClient({ sandboxUrl: sandbox.url, applicationId: APP_ID, sessionId: body.sessionId, token: body.token });
    clients.push(p.client);
  };
  await pool(firsts, CONCURRENCY, join);
  await pool(rest, CONCURRENCY, join);
  const joinSeconds = (performance.now() - joinsStarted) / 1000;
  const roomSessions = new Map(firsts.map((p) => [p.room, p.sessionId]));
  const roomsWithTwoSessions = people.filter((p) => p.sessionId !== roomSessions.get(p.room)).length;

  // Both instances know every connection once the sandbox's callbacks have drained.
  const knownStarted = performance.now();
  for (;;) {
    let known = 0;
    for (const sid of roomSessions.values()) known += await store.hLen(`${PREFIX}conns:${sid}`);
    if (known >= people.length) break;
    if (performance.now() - knownStarted > 300_000) throw new Error(`only ${known} of ${people.length} connections known after 300 s`);
    await sleep(500);
  }
  const callbacksDrainSeconds = (performance.now() - knownStarted) / 1000;
  const restBefore = { ...proxy.counts };

  // ---- rotate every room's session at once ----
  const pids = { sandbox: sandbox.pid, appA: apps[0].proc.pid, appB: apps[1].proc.pid, redis: redis.pid, loadScript: process.pid };
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid ? cpuS(pid) : NaN]));
  let lastSignal = 0;
  for (const p of people) p.client.on('signal', (s) => s.type === 'handoff' && (lastSignal = performance.now()));
  const rotateStarted = performance.now();
  await pool([...roomSessions.values()], CONCURRENCY, async (sid) => {
    const r = await sandbox.admin('POST', `/admin/sessions/${encodeURIComponent(sid)}/rotate`, { noticeMs: NOTICE_MS });
    if (r.status !== 202) throw new Error(`rotate: HTTP ${r.status}`);
  });
  const rotateRequestsSeconds = (performance.now() - rotateStarted) / 1000;
  const handoffs = (p) => p.client.signals.filter((s) => s.type === 'handoff');
  const until = rotateStarted + NOTICE_MS * 0.9;
  while (people.some((p) => handoffs(p).length === 0) && performance.now() < until) await sleep(100);
  const signalled = people.filter((p) => handoffs(p).length > 0).length;
  const allSignalledSeconds = signalled === people.length ? (lastSignal - rotateStarted) / 1000 : null;
  const cpu1 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid ? cpuS(pid) : NaN]));
  // Past the platform's second notice (and its duplicates), which must signal nobody again.
  const secondNoticeAt = rotateStarted + NOTICE_MS * 0.75 + 3000;
  while (performance.now() < secondNoticeAt) await sleep(200);

  // ---- what happened ----
  const moves = new Map(); // room -> moves started (both instances' logs; one rotation per room)
  for (const a of apps) {
    for (const line of a.lines) {
      const m = /room (\S+): rotation of \S+ announced/.exec(line);
      if (m) moves.set(m[1], (moves.get(m[1]) ?? 0) + 1);
    }
  }
  let roomsSplit = 0;
  const byRoom = new Map();
  for (const p of people) byRoom.set(p.room, [...(byRoom.get(p.room) ?? []), p]);
  for (const members of byRoom.values()) {
    const told = new Set(members.flatMap((p) => handoffs(p).map((s) => JSON.parse(s.data).sessionId)));
    if (told.size > 1) roomsSplit++;
  }
  const rest_ = {};
  for (const [k, v] of Object.entries(proxy.counts)) {
    const d = v - (restBefore[k] ?? 0);
    if (d) rest_[k] = d;
  }
  console.log(JSON.stringify({
    rooms: ROOMS,
    connections: people.length,
    appInstances: 2,
    store: 'redis',
    duplicateCallbacks: args.duplicates,
    noticeMs: NOTICE_MS,
    joinSeconds: +joinSeconds.toFixed(1),
    callbacksDrainSecondsAfterJoins: +callbacksDrainSeconds.toFixed(1),
    roomsOpenedTwice: roomsWithTwoSessions,
    rotateRequestsSeconds: +rotateRequestsSeconds.toFixed(1),
    connectionsSignalled: signalled,
    secondsUntilEveryConnectionSignalled: allSignalledSeconds === null ? null : +allSignalledSeconds.toFixed(1),
    restCallsDuringRotation: rest_,
    restCallsTotal: proxy.counts,
    roomsSplit,
    movesStartedTwice: [...moves.values()].filter((n) => n > 1).length,
    movesStarted: [...moves.values()].reduce((a, b) => a + b, 0),
    connectionsSignalledMoreThanOnce: people.filter((p) => handoffs(p).length > 1).length,
    cpuSecondsUntilAllSignalled: Object.fromEntries(
      Object.keys(pids).filter((k) => !Number.isNaN(cpu0[k])).map((k) => [k, +(cpu1[k] - cpu0[k]).toFixed(1)]),
    ),
  }, null, 2));
} finally {
  for (const c of clients) c.terminate();
  for (const step of cleanup.reverse()) {
    try {
      await step();
    } catch {
      // keep cleaning up
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
