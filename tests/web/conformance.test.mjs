// Holds the shell tests' OT double (ot_double.js) to the real vendor client: the checks of
// conformance.js run in one page against the real @vonage/client-sdk-video connected to the
// sandbox, and in another against the double; each must pass in both, and the orders of
// events they record must be the same.
//   node --test tests/web/conformance.test.mjs   (needs the sandbox binary and Chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Video } from '@vonage/video';
import {
  APP_ID, VENDOR_CLIENT, launchChromium, makeTempRoot, rmTemp, startSandbox, stopProcess,
} from '../../examples/sandbox/tests/browser-helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
let root;
let sandbox;
let server;
let pageUrl;
let browser;
let video;
const results = {};

before(async () => {
  root = await makeTempRoot();
  sandbox = await startSandbox(root);
  video = new Video({ applicationId: APP_ID, privateKey: sandbox.privateKey }, { videoHost: sandbox.url });
  const files = {
    '/vendor/opentok.js': await readFile(VENDOR_CLIENT),
    '/ot_double.js': await readFile(path.join(here, 'ot_double.js')),
    '/conformance.js': await readFile(path.join(here, 'conformance.js')),
  };
  server = createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    if (files[u.pathname]) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(files[u.pathname]);
    } else if (u.pathname === '/real.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><script src="/vendor/opentok.js"></script>
        <script>OT.setProxyUrl(${JSON.stringify(sandbox.url)});</script>`);
    } else if (u.pathname === '/double.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>double</title>');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  pageUrl = `http://127.0.0.1:${server.address().port}`;
  browser = await launchChromium(root);
});

after(async () => {
  await browser?.close().catch(() => {});
  if (server) await new Promise((r) => server.close(r));
  await stopProcess(sandbox?.child);
  await rmTemp(root);
});

test('the checks pass against the real vendor client and the sandbox', { timeout: 120000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const remote = await context.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  try {
    await page.goto(`${pageUrl}/real.html`);
    await remote.goto(`${pageUrl}/real.html`);
    // The world: sessions and tokens from @vonage/video, a remote participant in another page
    // of the real client, signals and rotation through the sandbox.
    await page.exposeFunction('worldCall', async (op, args) => {
      switch (op) {
        case 'session':
          return (await video.createSession({ mediaMode: 'enabled' })).sessionId;
        case 'token':
          return video.generateClientToken(args[0], { data: args[1] });
        case 'tokenFor':
          return video.generateClientToken(args[0], { data: 'intruder' });
        case 'unknownSession': {
          const { sessionId } = await video.createSession();
          return `${sessionId.slice(0, -4)}AAAA`; // well-formed, never created
        }
        case 'remotePublishes': {
          const token = video.generateClientToken(args[0], { data: args[1] });
          return remote.evaluate(([app, sid, tok]) => new Promise((resolve, reject) => {
            const s = OT.initSession(app, sid);
            s.connect(tok, (err) => {
              if (err) return reject(err);
              const p = OT.initPublisher(undefined, { insertDefaultUI: false });
              s.publish(p, (e) => (e ? reject(e) : resolve(p.stream.streamId)));
            });
          }), [APP_ID, args[0], token]);
        }
        case 'serverSignal':
          await video.sendSignal({ type: args[1], data: args[2] }, args[0]);
          return null;
        case 'destroy':
          await sandbox.admin('POST', `/admin/sessions/${encodeURIComponent(args[0])}/rotate`, { noticeMs: 0 });
          return null;
        default:
          throw new Error(`unknown world call ${op}`);
      }
    });
    results.real = await page.evaluate(async (appId) => {
      const { conformance } = await import('/conformance.js');
      const call = (op) => (...args) => window.worldCall(op, args);
      const world = Object.fromEntries(['session', 'token', 'tokenFor', 'unknownSession', 'remotePublishes', 'serverSignal', 'destroy'].map((op) => [op, call(op)]));
      return conformance({ OT: window.OT, appId, world });
    }, APP_ID);
  } catch (err) {
    err.message += `\n${logs.slice(-30).join('\n')}`;
    throw err;
  } finally {
    await context.close();
  }
  const failed = results.real.checks.filter((c) => !c.ok);
  assert.deepEqual(failed, [], 'every check holds for the real client');
});

test('the same checks pass against the double, with the real client\'s event orders', { timeout: 60000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${pageUrl}/double.html`);
    results.double = await page.evaluate(async () => {
      const { World } = await import('/ot_double.js');
      const { conformance } = await import('/conformance.js');
      const w = new World();
      let n = 0;
      const world = {
        session: async () => `2_MXdouble${++n}`,
        token: async (sid, data) => w.token(sid, data),
        tokenFor: async (sid) => w.token(sid, 'intruder'),
        unknownSession: async () => w.unknownSessionId(),
        remotePublishes: async (sid, name) => w.publish(w.join(name, sid), sid).streamId,
        serverSignal: async (sid, type, data) => w.signal(sid, type, data),
        destroy: async (sid) => w.destroy(sid),
      };
      try {
        return await conformance({ OT: w.OT, appId: 'app', world });
      } finally {
        w.dispose();
      }
    });
  } finally {
    await context.close();
  }
  console.log(`# conformance: the real client's orders ${JSON.stringify(results.real?.orders)}`);
  console.log(`# conformance: the double's orders      ${JSON.stringify(results.double.orders)}`);
  const failed = results.double.checks.filter((c) => !c.ok);
  assert.deepEqual(failed, [], 'every check holds for the double');
  assert.ok(results.real, 'the real client ran first');
  for (const [what, order] of Object.entries(results.real.orders)) {
    assert.deepEqual(results.double.orders[what], order, `the double's order of events on ${what} is the real client's`);
  }
});
