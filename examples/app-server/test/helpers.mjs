// Starts the app server in-process against a given video host, with a fresh key pair, and
// talks to it as browsers (each with its own cookie jar) and as the platform (signed callbacks).
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { Video } from '@vonage/video';
import { createAppServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openStore } from '../src/store/index.js';
import { signCallback } from '../src/signed-callbacks.js';

export function devKeys() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** A per-run signature secret (never a fixed one: it is a credential). */
export function newSecret() {
  return randomBytes(24).toString('base64url');
}

/**
 * @param {object} o
 * @param {string} [o.redisUrl]   share rooms through this Redis (else the memory store)
 * @param {string} [o.prefix]     Redis key prefix (one per test, so tests never see each other's keys)
 * @param {object} [o.retry]      REST retry policy overrides (video-retry.js)
 * @param {number} [o.storeTtlS]  the store's record TTL, below ROOM_TTL_S's floor of 60 s (tests only)
 */
export async function startApp({
  videoHost,
  privateKey,
  applicationId = randomUUID(),
  signatureSecret = newSecret(),
  cookieSecret = newSecret() + newSecret(),
  redisUrl,
  prefix,
  env = {},
  staticRoots,
  port = 0,
  retry = { baseMs: 10, capMs: 50 },
  storeTtlS,
}) {
  const config = loadConfig({
    VONAGE_APPLICATION_ID: applicationId,
    VONAGE_PRIVATE_KEY: privateKey,
    VONAGE_VIDEO_HOST: videoHost,
    VONAGE_SIGNATURE_SECRET: signatureSecret,
    APP_COOKIE_SECRET: cookieSecret,
    PORT: '0',
    ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix ?? `test-${randomUUID()}:` } : {}),
    ...env,
  });
  const lines = [];
  const log = (l) => lines.push(l);
  const store = await openStore(storeTtlS === undefined ? config : { ...config, roomTtlS: storeTtlS }, log);
  const video = new Video({ applicationId, privateKey: config.privateKey }, { videoHost: config.videoHost });
  const { app, rooms, video: api } = await createAppServer({ config, video, store, log, staticRoots, retry });
  try {
    await app.listen({ port, host: '127.0.0.1' });
  } catch (err) {
    // A store left open (a Redis connection) would keep the test process alive after it failed.
    await app.close();
    await store.close();
    throw err;
  }
  const url = `http://127.0.0.1:${app.server.address().port}`;
  const browser = newBrowser(url);
  return {
    url,
    rooms,
    store,
    api,
    lines,
    config,
    signatureSecret,
    /** A new browser: its own cookie jar. */
    browser: () => newBrowser(url),
    post: browser.post,
    get: browser.get,
    /** POSTs a callback body signed as the platform signs it (or with `authorization` given). */
    async callback(body, { authorization, secret = signatureSecret, claims } = {}) {
      const rawBody = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const auth = authorization === undefined ? signCallback({ rawBody, secret, applicationId, claims }) : authorization;
      const headers = { 'content-type': 'application/json' };
      if (auth !== null) headers.authorization = auth;
      const res = await fetch(url + '/callbacks', { method: 'POST', headers, body: rawBody });
      return { status: res.status, body: await res.json().catch(() => null) };
    },
    async close() {
      await rooms.idle();
      await app.close();
      await store.close();
    },
  };
}

/** A browser's view of the app server: JSON in and out, cookies kept. */
function newBrowser(url) {
  const jar = new Map();
  const keep = (res) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  return {
    jar,
    async post(path, body, headers = { 'content-type': 'application/json' }) {
      const res = await fetch(url + path, {
        method: 'POST',
        headers: { ...headers, cookie: cookie() },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      keep(res);
      return { status: res.status, headers: res.headers, body: await res.json().catch(() => null) };
    },
    async get(path) {
      const res = await fetch(url + path, { headers: { cookie: cookie() } });
      keep(res);
      const type = res.headers.get('content-type') ?? '';
      return {
        status: res.status,
        type,
        headers: res.headers,
        body: type.startsWith('application/json') ? await res.json() : await res.text(),
      };
    },
  };
}

/** A session-monitoring callback body, as the platform sends it. */
export function callback(event, sessionId, fields = {}) {
  return { sessionId, projectId: 'p', event, timestamp: Date.now(), ...fields };
}
