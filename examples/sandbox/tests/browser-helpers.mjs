// Helpers of the sandbox's browser tests (browser.test.mjs, conformance.test.mjs): a sandbox
// process with a fresh key pair and admin token, a page server on another port that serves the
// real vendor client from node_modules, headless Chromium that cannot reach beyond 127.0.0.1,
// and the in-page harness.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../../../tests/browsers.mjs';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SANDBOX_BIN =
  process.env.SANDBOX_BIN ||
  join(process.env.CARGO_TARGET_DIR || join(REPO_ROOT, 'target'), 'debug/video-handoff-sandbox');
/** The vendor's own browser client, as the npm package ships it. */
export const VENDOR_CLIENT = join(REPO_ROOT, 'node_modules/@vonage/client-sdk-video/dist/js/opentok.js');
export const APP_ID = 'browser-test-app';

/** A temp folder of the test's own; Chromium's TMPDIR points inside it. */
export async function makeTempRoot() {
  const root = await mkdtemp(join(tmpdir(), 'vh-sandbox-browser-'));
  await mkdir(join(root, 'tmp'));
  return root;
}

/** Starts the sandbox on a free port with a key pair and admin token made now; resolves when it listens. */
export async function startSandbox(root, extraArgs = []) {
  // The application's key pair, made now (node:crypto is much faster than the debug build's
  // `keygen`; same formats: PKCS#8 private key, SPKI public key).
  const keys = join(root, 'keys');
  await mkdir(keys);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  await writeFile(join(keys, 'private.key'), privateKey, { mode: 0o600 });
  await writeFile(join(keys, 'public.pem'), publicKey);
  const adminToken = randomBytes(24).toString('hex');
  const child = spawn(SANDBOX_BIN, [
    '--port', '0', '--host', '127.0.0.1',
    '--application-id', APP_ID,
    '--public-key-file', join(keys, 'public.pem'),
    ...extraArgs,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SANDBOX_ADMIN_TOKEN: adminToken } });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandbox did not start:\n${output}`)), 15000);
    const onData = (d) => {
      output += d;
      const m = /sandbox listening on (http:\/\/[0-9.]+:\d+)/.exec(output);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => { output += d; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`sandbox exited (${code}):\n${output}`)); });
  });
  child.stdout.resume();
  child.stderr.on('data', (d) => { if (process.env.SANDBOX_LOG) process.stderr.write(d); });
  /** Calls the sandbox's admin API with the run's token; resolves to the parsed answer. */
  const admin = async (method, path, body) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return { child, url, privateKey, adminToken, admin, output: () => output };
}

export async function stopProcess(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

/**
 * Serves the test page on its own port (so the sandbox is another origin, as for an app):
 * `/page.html?sandbox=http://127.0.0.1:PORT` loads the vendor's client from `/vendor/opentok.js`
 * and points it at the sandbox with `OT.setProxyUrl`, as an app does in development.
 */
export async function startPageServer() {
  const client = await readFile(VENDOR_CLIENT);
  const server = createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/vendor/opentok.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(client);
      return;
    }
    if (u.pathname !== '/page.html') { res.writeHead(404); res.end(); return; }
    const sandbox = u.searchParams.get('sandbox');
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(sandbox || '')) { res.writeHead(400); res.end('bad sandbox'); return; }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><meta charset="utf-8"><title>sandbox client test</title></head>
<body><div id="pub"></div><script src="/vendor/opentok.js"></script>
<script>OT.setProxyUrl(${JSON.stringify(sandbox)}); window.__OT = OT; window.__loaded = 'vendor';</script></body></html>`);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

/**
 * Chromium, started the one way the tests start a browser (tests/browsers.mjs), its profile
 * and temporary files under `root`'s `tmp` (deleted with it). Returns playwright's Browser.
 */
export async function launchChromium(root) {
  return (await launchBrowser('chromium', join(root, 'tmp'))).playwright;
}

/**
 * The in-page harness (injected before the page's scripts): `window.H` records every event the
 * client fires, in a plain shape, and counts frames presented by subscribers' videos.
 */
export function pageHarness() {
  const H = { events: [], frames: {}, consoleErrors: [], publisher: null, subscribers: {}, session: null };
  window.H = H;
  const origError = console.error.bind(console);
  console.error = (...a) => { H.consoleErrors.push(a.map(String).join(' ')); origError(...a); };
  const shape = (src, ev) => ({
    src,
    type: ev.type,
    reason: ev.reason,
    cancelable: ev.cancelable,
    hasPreventDefault: typeof ev.preventDefault === 'function' && typeof ev.isDefaultPrevented === 'function',
    targetOk: ev.target === (src === 'session' ? H.session : src === 'publisher' ? H.publisher : H.subscribers[src.slice(4)]),
    streamId: ev.stream ? ev.stream.streamId : undefined,
    streamConnectionId: ev.stream ? ev.stream.connection.connectionId : undefined,
    streamName: ev.stream ? ev.stream.name : undefined,
    connectionId: ev.connection ? ev.connection.connectionId : undefined,
    connectionData: ev.connection ? ev.connection.data : undefined,
    from: ev.from === undefined ? undefined : (ev.from === null ? null : ev.from.connectionId),
    data: ev.data,
    element: ev.element ? ev.element.tagName : undefined,
    changedProperty: ev.changedProperty,
    newValue: typeof ev.newValue === 'object' ? undefined : ev.newValue,
  });
  H.OT = () => window.__OT;
  H.shape = shape;
  const SESSION_EVENTS = ['sessionConnected', 'sessionDisconnected', 'connectionCreated', 'connectionDestroyed',
    'streamCreated', 'streamDestroyed', 'streamPropertyChanged', 'signal'];

  H.connect = (appId, sessionId, token, opts = {}) => new Promise((resolve) => {
    const OT = H.OT();
    const session = OT.initSession(appId, sessionId);
    H.session = session;
    H.sameSession = OT.initSession(appId, sessionId) === session;
    const handlers = {};
    for (const name of SESSION_EVENTS) handlers[name] = (ev) => H.events.push(shape('session', ev));
    session.on(handlers);
    session.on('signal:test', (ev) => H.events.push({ ...shape('session', ev), via: 'signal:test' }));
    if (opts.throwingHandler) session.on('sessionConnected', () => { throw new Error('app handler threw on purpose'); });
    if (opts.autoSubscribe) {
      session.on('streamCreated', (ev) => H.subscribe(ev.stream));
    }
    session.connect(token, (err) => {
      if (err) resolve({ error: { name: err.name, message: err.message, code: err.code, isError: err instanceof Error } });
      else resolve({ connectionId: session.connection.connectionId, data: session.connection.data, capabilities: session.capabilities });
    });
  });

  H.publish = (name) => new Promise((resolve) => {
    const OT = H.OT();
    const publisher = OT.initPublisher(undefined, { insertDefaultUI: false, name, width: 320, height: 240 }, (err) => {
      if (err) resolve({ error: err.name });
    });
    H.publisher = publisher;
    for (const n of ['streamCreated', 'streamDestroyed', 'videoElementCreated', 'destroyed']) {
      publisher.on(n, (ev) => H.events.push(shape('publisher', ev)));
    }
    publisher.on('videoElementCreated', (ev) => { H.publisherVideo = ev.element; });
    H.session.publish(publisher, (err) => {
      if (err) resolve({ error: err.name });
      else resolve({ streamId: publisher.stream.streamId, streamConnectionId: publisher.stream.connection.connectionId, hasVideo: publisher.stream.hasVideo });
    });
  });

  H.subscribe = (stream) => {
    const sub = H.session.subscribe(stream, undefined, { insertDefaultUI: false }, (err) => {
      H.events.push({ src: `sub:${stream.streamId}`, type: 'subscribeCallback', error: err ? err.name : null });
    });
    H.subscribers[stream.streamId] = sub;
    H.frames[stream.streamId] = 0;
    for (const n of ['videoElementCreated', 'connected', 'destroyed', 'videoDisabled', 'videoEnabled']) {
      sub.on(n, (ev) => H.events.push(shape(`sub:${stream.streamId}`, ev)));
    }
    sub.on('videoElementCreated', (ev) => {
      const video = ev.element;
      video.width = 160; video.height = 120;
      document.body.appendChild(video);
      const tick = () => { H.frames[stream.streamId] += 1; video.requestVideoFrameCallback(tick); };
      video.requestVideoFrameCallback(tick);
    });
    return sub.id;
  };

  H.peerConnections = () => {
    // live RTCPeerConnections are not enumerable; the client closes them, we count subscribers' states
    return Object.values(H.subscribers).map((s) => (s._link ? s._link.pc.connectionState : 'none'));
  };
}

/**
 * Opens a page in its own browser context with the harness. `offLoopback` collects every
 * request the page tried to make to anything but 127.0.0.1 (a test asserts it stays empty).
 */
export async function openPage(browser, pageUrl, sandboxUrl) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const logs = [];
  const offLoopback = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  context.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.protocol !== 'blob:' && u.hostname !== '127.0.0.1') offLoopback.push(r.url());
  });
  await page.addInitScript(pageHarness);
  await page.goto(`${pageUrl}/page.html?sandbox=${encodeURIComponent(sandboxUrl)}`);
  await page.waitForFunction(() => window.__loaded && window.__OT);
  return { context, page, logs, offLoopback };
}

export async function rmTemp(root) {
  if (root) await rm(root, { recursive: true, force: true });
}

export async function waitFor(page, fn, arg, timeout = 15000) {
  await page.waitForFunction(fn, arg, { timeout, polling: 50 });
}
