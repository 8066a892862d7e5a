// The end-to-end harness: the real sandbox (Video API emulator), the real sample app server
// (a separate `node examples/app-server/server.js` process), one Debian Chromium driven by
// playwright-core, and one browser context per participant on the demo page.
//
// Between the app server and the sandbox sits a small pass-through proxy owned by the test
// (`proxy.mjs`): REST calls and callbacks go through it unchanged unless a test sets a hook.
//
// Everything is started on free ports (port 0), with keys made at run time in a temp folder,
// and torn down by `stop()` (call it from `after`, it never throws).
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSampler } from './cost.mjs';
import { Proxy } from './proxy.mjs';
import { devKeys } from '../../examples/app-server/test/helpers.mjs';
import { stopProcess } from '../../examples/sandbox/tests/browser-helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '../..');
export const SANDBOX_BIN =
  process.env.SANDBOX_BIN ||
  path.join(process.env.CARGO_TARGET_DIR || path.join(REPO_ROOT, 'target'), 'debug/video-handoff-sandbox');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const MEASURE_SCRIPT = path.join(here, 'measure.js');
export const OT_TRACE_SCRIPT = path.join(here, 'ot-trace.js');
export const APP_ID = 'e2e-app';
/** The temp folder as the process started: a stack points TMPDIR into its own folder. */
const BASE_TMPDIR = tmpdir();
/**
 * The media mode the suite runs in (`E2E_MEDIA_MODE`): `routed`, the platform's default and
 * where server rotations happen (media through the sandbox's media router), or `relayed`
 * (peer to peer).
 */
export const MEDIA_MODE = process.env.E2E_MEDIA_MODE || 'routed';
if (MEDIA_MODE !== 'routed' && MEDIA_MODE !== 'relayed') {
  throw new Error(`E2E_MEDIA_MODE must be routed or relayed, got ${JSON.stringify(MEDIA_MODE)}`);
}
export const FPS = 30;
/** One frame interval of the fake camera, rounded up (ms). */
export const FRAME_MS = 33.4;
/**
 * The camera size the pages ask for (the demo's `?video=WxH`; people get 640x480). Three
 * publishers in one browser, each encoding once per subscriber in relayed mode, is six VP8
 * encoders and six decoders, twelve of each during a handoff's overlap, on two cores: at
 * 640x480 that alone keeps both cores at 85-100% (vmstat), the pages' own rendering stalls for
 * 300-500 ms during the overlap and their frame gaps then measure the machine, not the SDK. At
 * 320x240 the same scenario leaves the cores room. `E2E_VIDEO=640x480` runs at people's size.
 */
export const VIDEO_SIZE = process.env.E2E_VIDEO || '320x240';

/** Why the e2e tests cannot run here, or `false`. */
export function missing() {
  if (!existsSync(SANDBOX_BIN)) return `sandbox not built (${SANDBOX_BIN}; cargo build -p video-handoff-sandbox)`;
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}`;
  return false;
}

/** Whether the SDK's browser build is there (the demo's SDK mode imports /sdk/js/index.js). */
export function sdkBuilt() {
  return existsSync(path.join(REPO_ROOT, 'js/index.js')) && existsSync(path.join(REPO_ROOT, 'pkg/video_handoff.js'));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` (sync or async) until it returns a truthy value; throws `what` on timeout. */
export async function until(fn, { timeout = 30000, interval = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      const detail = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${detail}`);
    }
    await sleep(interval);
  }
}

// ---- processes --------------------------------------------------------------------------------

function waitForLine(child, pattern, name, timeout = 20000) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start in ${timeout} ms:\n${out}`)), timeout);
    const onData = (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
}

/** Keeps the last lines of a child's output (shown when a test fails). */
function keepLines(child, lines, prefix, echo) {
  for (const s of [child.stdout, child.stderr]) {
    let rest = '';
    s.on('data', (d) => {
      rest += d;
      const parts = rest.split('\n');
      rest = parts.pop();
      for (const line of parts) {
        lines.push(`${prefix}${line}`);
        if (lines.length > 2000) lines.shift();
        if (echo) process.stderr.write(`${prefix}${line}\n`);
      }
    });
  }
}

/**
 * Debian's Chromium with the flags WebRTC tests need (docs/toolchain.md), its temp files and
 * profile under `tmp` (a folder of the test's own).
 */
export async function launchBrowser(tmp) {
  const { chromium } = await import('playwright-core');
  process.env.TMPDIR = tmp; // Playwright makes Chromium's profile under the launcher's TMPDIR
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream=fps=30', '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      // Several pages share one browser: none of them may be throttled as "in the background".
      '--disable-renderer-backgrounding', '--disable-background-timer-throttling',
      '--disable-backgrounding-occluded-windows',
      // Remote audio must really play, or "never two audible sources" would prove nothing.
      '--autoplay-policy=no-user-gesture-required',
      // Nothing leaves the machine, even a URL that escaped the vendor client's proxy setting;
      // every page also records such requests and `Stack.offLoopback()` reports them.
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
    ],
    ignoreDefaultArgs: ['--headless'],
    env: { ...process.env, TMPDIR: tmp },
  });
}

/**
 * Diagnosis only (env `E2E_PKG_DIR`): the pages load the SDK's wasm package from another
 * folder than `pkg/` (e.g. a `--no-opt` build, to tell an optimizer problem from an SDK one).
 */
async function servePkgFrom(context, dir) {
  const { readFile } = await import('node:fs/promises');
  await context.route('**/sdk/pkg/**', async (route) => {
    const file = path.basename(new URL(route.request().url()).pathname);
    try {
      const body = await readFile(path.join(dir, file));
      await route.fulfill({ body, contentType: file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' });
    } catch {
      await route.fulfill({ status: 404, body: 'not in E2E_PKG_DIR' });
    }
  });
}

// ---- the stack ----------------------------------------------------------------------------------

/**
 * Starts proxy, sandbox, app server and Chromium. Returns the `Stack`; call `stop()` in
 * `after` whatever happened.
 */
export async function startStack({ echo = Boolean(process.env.E2E_LOG), mode = MEDIA_MODE } = {}) {
  const stack = new Stack(echo, mode);
  try {
    await stack.start();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

class Stack {
  root = null;
  lines = [];
  /** Every request any page made to a host other than 127.0.0.1 (must stay empty). */
  offLoopback = [];
  participants = [];
  browser = null;
  sandbox = null;
  app = null;

  constructor(echo, mode) {
    this.echo = echo;
    /** The media mode of every session the app server creates: `routed` or `relayed`. */
    this.mode = mode;
    this.proxy = new Proxy();
  }

  async start() {
    this.root = await mkdtemp(path.join(BASE_TMPDIR, 'vh-e2e-'));
    await mkdir(path.join(this.root, 'tmp'));
    const { privateKey, publicKey } = devKeys();
    this.privateKey = privateKey;
    await writeFile(path.join(this.root, 'private.key'), privateKey, { mode: 0o600 });
    await writeFile(path.join(this.root, 'public.pem'), publicKey);

    // The application's signature secret: the sandbox signs callbacks, the app server checks them.
    const signatureSecret = randomBytes(24).toString('base64url');
    await this.proxy.start();
    // Last resort if the test process dies without its `after` hooks: no orphaned servers.
    this.onExit = () => {
      for (const child of [this.sandbox, this.app]) {
        if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    };
    process.once('exit', this.onExit);

    this.adminToken = randomBytes(24).toString('hex');
    this.sandbox = spawn(
      SANDBOX_BIN,
      [
        '--host', '127.0.0.1', '--port', '0',
        '--application-id', APP_ID,
        '--public-key-file', path.join(this.root, 'public.pem'),
        '--callback-url', `${this.proxy.url}/callbacks`,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, SANDBOX_ADMIN_TOKEN: this.adminToken, SANDBOX_SIGNATURE_SECRET: signatureSecret },
      },
    );
    keepLines(this.sandbox, this.lines, '[sandbox] ', this.echo);
    this.sandboxUrl = await waitForLine(this.sandbox, /sandbox listening on (http:\/\/[0-9.]+:\d+)/, 'sandbox');
    this.proxy.sandboxUrl = this.sandboxUrl;

    this.app = spawn(process.execPath, [path.join(REPO_ROOT, 'examples/app-server/server.js')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        VONAGE_APPLICATION_ID: APP_ID,
        VONAGE_PRIVATE_KEY: path.join(this.root, 'private.key'),
        VONAGE_SIGNATURE_SECRET: signatureSecret,
        VONAGE_VIDEO_HOST: this.proxy.url,
        // The pages load the vendor's client from the app server (/vendor/opentok.js) and
        // point it at the sandbox directly (OT.setProxyUrl), not through the test's proxy.
        OT_PROXY_URL: this.sandboxUrl,
        SANDBOX_ADMIN_URL: this.sandboxUrl,
        SANDBOX_ADMIN_TOKEN: this.adminToken,
        HOST: '127.0.0.1',
        PORT: '0',
        MEDIA_MODE: this.mode,
        // Every page of every scenario comes from 127.0.0.1: one client address for the limits.
        JOIN_LIMIT_PER_MIN: '0',
        NEW_ROOM_LIMIT_PER_MIN: '0',
      },
    });
    keepLines(this.app, this.lines, '[app] ', this.echo);
    this.appUrl = await waitForLine(this.app, /app server listening on (http:\/\/[0-9.]+:\d+)/, 'app server');
    this.proxy.appUrl = this.appUrl;

    const { Video } = await import('@vonage/video');
    // The test's own server SDK client, straight to the sandbox (for signals the app never sends).
    this.video = new Video({ applicationId: APP_ID, privateKey }, { videoHost: this.sandboxUrl });

    console.log(`e2e: media mode ${this.mode} (sessions the app server creates; E2E_MEDIA_MODE)`);
    this.browser = await launchBrowser(path.join(this.root, 'tmp'));
    this.cpu = await cpuSampler(this.browser);
  }

  /** Stops everything; never throws. */
  async stop() {
    const step = async (fn) => {
      try {
        await fn();
      } catch {
        // keep tearing down
      }
    };
    for (const p of this.participants) await step(() => p.context.close());
    this.participants = [];
    await step(() => this.cpu?.stop());
    await step(() => this.browser?.close());
    await step(() => stopProcess(this.app));
    await step(() => stopProcess(this.sandbox));
    await step(() => this.proxy.close());
    if (this.root) await step(() => rm(this.root, { recursive: true, force: true }));
    if (this.onExit) process.off('exit', this.onExit);
  }

  // ---- sandbox admin API ----

  async admin(method, pathname, body) {
    const r = await fetch(this.sandboxUrl + pathname, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    const parsed = text ? JSON.parse(text) : null;
    if (!r.ok) throw new Error(`sandbox ${method} ${pathname}: HTTP ${r.status} ${text}`);
    return parsed;
  }

  state() {
    return this.admin('GET', '/admin/state');
  }

  async session(sessionId) {
    return (await this.state()).sessions.find((s) => s.sessionId === sessionId) ?? null;
  }

  async events(sessionId) {
    return (await this.admin('GET', `/admin/sessions/${encodeURIComponent(sessionId)}/events`)).events;
  }

  hooks(body) {
    return this.admin('POST', '/admin/hooks', body);
  }

  resetHooks() {
    return this.admin('DELETE', '/admin/hooks');
  }

  /** Rotates a session directly at the sandbox (not through the app server's route). */
  rotateSession(sessionId, noticeMs, { migrationDelayMs } = {}) {
    return this.admin('POST', `/admin/sessions/${encodeURIComponent(sessionId)}/rotate`, { noticeMs, migrationDelayMs });
  }

  // ---- app server ----

  async roomSession(room) {
    const r = await fetch(`${this.appUrl}/api/rooms/${encodeURIComponent(room)}`);
    return (await r.json()).sessionId;
  }

  /**
   * Rotates the room's session the way the demo's button does (app server -> sandbox admin).
   * The button is for the room's members only, so the harness joins the room once as a
   * member of its own (a participant ID and cookie, no connection).
   */
  async rotateRoom(room, noticeMs) {
    const id = `e2e-harness-${room}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
    // A room of the vendor's migration takes members of its own kind only.
    const rotation = this.rotations?.get(room) ?? 'handoff';
    // The same member every time (its cookie holds its ID: a second join without it is
    // someone else claiming the ID, refused).
    this.memberCookies ??= new Map();
    const known = this.memberCookies.get(room);
    const joined = await fetch(`${this.appUrl}/api/rooms/${encodeURIComponent(room)}/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(known ? { cookie: known } : {}) },
      body: JSON.stringify({ name: 'e2e harness', id, rotation }),
    });
    if (!joined.ok) throw new Error(`rotate ${room}: join as a member: HTTP ${joined.status}`);
    const fresh = joined.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const cookie = fresh || known;
    this.memberCookies.set(room, cookie);
    const r = await fetch(`${this.appUrl}/api/rooms/${encodeURIComponent(room)}/rotate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ noticeMs, id }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(`rotate ${room}: HTTP ${r.status} ${JSON.stringify(body)}`);
    return body;
  }

  // ---- participants ----

  /**
   * Opens one browser context per name, on the demo page in `mode` (`sdk`, `naive`: the
   * baseline client, `vendor`: the vendor's migration; `naive: true` is `mode: 'naive'`;
   * `rotation`: the room's, when these pages open it, `handoff` or `migrate`;
   * `sessionMigration`: the SDK joins with the vendor's migration on;
   * `params[name]`: more of that page's URL parameters),
   * joins them to `room` one after the other, and waits until every page sees every other
   * participant's video.
   */
  async joinRoom(room, names, { naive = false, mode = naive ? 'naive' : 'sdk', params = {}, rotation = mode === 'vendor' ? 'migrate' : 'handoff', sessionMigration = false } = {}) {
    naive = mode === 'naive';
    this.rotations ??= new Map();
    this.rotations.set(room, rotation);
    const people = [];
    for (const name of names) {
      const id = `${name.toLowerCase()}-${Math.random().toString(36).slice(2, 12)}`;
      const context = await this.browser.newContext({ viewport: { width: 1280, height: 900 } });
      if (process.env.E2E_PKG_DIR) await servePkgFrom(context, process.env.E2E_PKG_DIR);
      const page = await context.newPage();
      const p = { name, id, room, naive, mode, context, page, logs: [], requests: [], offLoopback: [] };
      page.on('console', (m) => {
        p.logs.push(`[${m.type()}] ${m.text()}`);
        if (p.logs.length > 500) p.logs.shift();
      });
      page.on('pageerror', (e) => p.logs.push(`[pageerror] ${e.message}`));
      page.on('response', (r) => {
        if (r.status() >= 400) p.logs.push(`[http ${r.status()}] ${r.request().method()} ${r.url()}`);
      });
      context.on('request', (r) => {
        const u = new URL(r.url());
        if (!['data:', 'blob:'].includes(u.protocol) && u.hostname !== '127.0.0.1') {
          p.offLoopback.push(r.url());
          this.offLoopback.push(`${name}: ${r.url()}`);
        }
        if (u.pathname.startsWith('/api/')) p.requests.push({ at: Date.now(), method: r.method(), path: u.pathname, query: u.search });
      });
      await page.addInitScript({ path: MEASURE_SCRIPT });
      await page.addInitScript({ path: OT_TRACE_SCRIPT });
      const q = new URLSearchParams({ room, id, video: VIDEO_SIZE });
      if (mode !== 'sdk') q.set('mode', mode);
      q.set('rotation', rotation);
      if (sessionMigration) q.set('sessionMigration', '1');
      for (const [k, v] of Object.entries(params[name] ?? {})) q.set(k, v);
      await page.goto(`${this.appUrl}/?${q}`);
      await page.waitForFunction(() => window.demo !== undefined);
      this.participants.push(p);
      people.push(p);
      const joined = await page.evaluate(async ([n, r]) => {
        try {
          await window.demo.join({ name: n, room: r });
          return { sessionId: window.demo.sessionId(), key: JSON.stringify(window.demo.identity) };
        } catch (err) {
          return { error: `${err?.name}: ${err?.message}` };
        }
      }, [name, room]);
      if (joined.error) {
        throw new Error(`${name} could not join ${room}: ${joined.error}\n${p.logs.slice(-20).join('\n')}`);
      }
      p.key = (await page.evaluate(() => window.demo.identity)).id;
    }
    await this.waitForVideo(people);
    return people;
  }

  /** Waits until every page shows every other participant's video (frames presented). */
  async waitForVideo(people, { timeout = 30000, frames = 20 } = {}) {
    for (const p of people) {
      const others = people.filter((o) => o !== p).map((o) => o.id);
      await until(
        async () => {
          const snap = await recentSnapshot(p, 2000);
          const seen = tilesByParticipant(snap);
          return others.every((id) => (seen[id]?.frames.length ?? 0) >= frames);
        },
        { timeout, what: `${p.name} to see video of everyone else` },
      );
    }
  }

  /** Closes the given participants' contexts (between scenarios). */
  async leave(people) {
    for (const p of people) {
      try {
        await p.page.evaluate(() => window.demo.leave());
      } catch {
        // closing the context is enough
      }
      await p.context.close().catch(() => {});
      this.participants = this.participants.filter((x) => x !== p);
    }
  }

  /** The last lines of the sandbox and app server output, for failure messages. */
  tail(n = 40) {
    return this.lines.slice(-n).join('\n');
  }
}

// ---- reading a page ---------------------------------------------------------------------------------

/** The measurement (tests/e2e/measure.js) of one page, frames since `since` (page's ms). */
export function snapshot(p, since = 0) {
  return p.page.evaluate((s) => window.__e2e.snapshot(s), since);
}

/** The measurement of one page, frames of the last `agoMs` only. */
export function recentSnapshot(p, agoMs) {
  return p.page.evaluate((ago) => window.__e2e.snapshot(performance.now() - ago), agoMs);
}

/** Tiles of a snapshot keyed by participant ID (the `id` in the token data). */
export function tilesByParticipant(snap) {
  const out = {};
  for (const [key, rec] of Object.entries(snap.tiles)) {
    let id = key;
    try {
      id = JSON.parse(key).id ?? key;
    } catch {
      // not the app's JSON identity
    }
    out[id] = rec;
  }
  return out;
}

/**
 * The page's timeline (`window.demo.events`) as plain data: `{at (epoch ms), type, detail}`,
 * Errors as `{name, code, message}`.
 */
export function pageEvents(p) {
  return p.page.evaluate(() => {
    const plain = (v, depth = 0) => {
      if (v instanceof Error) return { name: v.name, code: v.code ?? null, message: v.message };
      if (v === null || typeof v !== 'object' || depth > 3) return v;
      if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1));
      if (v instanceof HTMLElement) return `<${v.tagName.toLowerCase()}>`;
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x, depth + 1)]));
    };
    return window.demo.events.map((e) => ({ at: e.at, type: e.type, detail: plain(e.detail) }));
  });
}

/** `{ state, sessionId }` as the page reports it. */
export function pageState(p) {
  return p.page.evaluate(() => ({ state: window.demo.state(), sessionId: window.demo.sessionId() }));
}

/** Epoch ms -> the page's performance.now() ms. */
export function toPage(snap, epochMs) {
  return epochMs - snap.timeOrigin;
}
