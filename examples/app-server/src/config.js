// Settings come from the environment only, so the same code runs against the local sandbox
// (the default) and the hosted Vonage Video API (set the variables below, nothing else).
import { readFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export const DEFAULT_VIDEO_HOST = 'http://127.0.0.1:3410';
/** Where the app server serves @vonage/client-sdk-video's browser build (hosted platform). */
export const VENDOR_CLIENT_PATH = '/vendor/opentok.js';

/**
 * Reads the app server's settings from `env` (default `process.env`).
 * Throws an Error with a message a person can act on when something required is missing.
 *
 * VONAGE_APPLICATION_ID  application ID (required)
 * VONAGE_PRIVATE_KEY     the application's private key: a file path or the PEM text (required)
 * VONAGE_VIDEO_HOST      REST base URL (default the sandbox, http://127.0.0.1:3410)
 * OT_SCRIPT_URL          browser client the page loads: default the vendor's
 *                        @vonage/client-sdk-video from node_modules, served at `/vendor/opentok.js`
 * OT_PROXY_URL           what the page passes to `OT.setProxyUrl`: default `videoHost` when that
 *                        is a loopback address (the sandbox speaks the client's protocol there),
 *                        else none (the hosted platform). `off` disables it.
 * SANDBOX_ADMIN_URL      sandbox admin base URL; default `videoHost` when that is a loopback
 *                        address and SANDBOX_ADMIN_TOKEN is set, else none. `off` disables
 *                        the rotate button.
 * SANDBOX_ADMIN_TOKEN    the sandbox admin API's bearer token (the sandbox is started with the
 *                        same one); never logged
 * HOST, PORT             where to listen (default 127.0.0.1:3000; PORT=0 picks a free port)
 * VONAGE_SIGNATURE_SECRET the application's signature secret: callbacks must be signed with it
 *                        (required; turn on signed callbacks for the application)
 * REDIS_URL              shared store for several instances (default: this process's memory)
 * REDIS_KEY_PREFIX       prefix of every key (default `video-handoff:`)
 * APP_COOKIE_SECRET      signs the browser cookie; the same on every instance (required with
 *                        REDIS_URL, at least 32 characters; default: random per process)
 * ROOM_TTL_S             rooms, sessions and participant IDs expire this long after their last
 *                        use (default 86400), never while a connection of theirs is live
 * JOIN_LIMIT_PER_MIN     joins per client address per minute, across instances (default 30; 0: off)
 * NEW_ROOM_LIMIT_PER_MIN rooms created (joins that open a session) per client address per
 *                        minute, across instances (default 10; 0: off)
 * TRUST_PROXY            `1`: behind a reverse proxy (X-Forwarded-Proto decides Secure cookies)
 * MEDIA_MODE             `routed` (default, the platform's: media through its media servers) or
 *                        `relayed` (peer to peer) for every session the server creates
 */
export function loadConfig(env = process.env) {
  const applicationId = (env.VONAGE_APPLICATION_ID ?? '').trim();
  if (!applicationId) {
    throw new Error('VONAGE_APPLICATION_ID is not set (the Vonage application ID, or the sandbox one)');
  }
  const privateKey = readPrivateKey(env.VONAGE_PRIVATE_KEY);
  const videoHost = stripSlash(env.VONAGE_VIDEO_HOST || DEFAULT_VIDEO_HOST);
  assertHttpUrl('VONAGE_VIDEO_HOST', videoHost);

  const otScriptUrl = env.OT_SCRIPT_URL || VENDOR_CLIENT_PATH;
  if (!otScriptUrl.startsWith('/')) {
    assertHttpUrl('OT_SCRIPT_URL', otScriptUrl);
  }
  let otProxyUrl = null;
  if (env.OT_PROXY_URL && env.OT_PROXY_URL !== 'off') {
    otProxyUrl = stripSlash(env.OT_PROXY_URL);
    assertHttpUrl('OT_PROXY_URL', otProxyUrl);
  } else if (env.OT_PROXY_URL !== 'off' && isLoopback(videoHost)) {
    otProxyUrl = videoHost;
  }

  let sandboxAdminUrl = null;
  if (env.SANDBOX_ADMIN_URL === 'off') {
    sandboxAdminUrl = null;
  } else if (env.SANDBOX_ADMIN_URL) {
    sandboxAdminUrl = stripSlash(env.SANDBOX_ADMIN_URL);
    assertHttpUrl('SANDBOX_ADMIN_URL', sandboxAdminUrl);
  } else if (isLoopback(videoHost)) {
    sandboxAdminUrl = videoHost;
  }

  const signatureSecret = env.VONAGE_SIGNATURE_SECRET ?? '';
  if (!signatureSecret) {
    throw new Error(
      'VONAGE_SIGNATURE_SECRET is not set (the application\'s signature secret: callbacks are accepted only when signed with it)',
    );
  }
  const redisUrl = env.REDIS_URL || null;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) {
    throw new Error('REDIS_URL must start with redis:// or rediss://');
  }
  let cookieSecret = env.APP_COOKIE_SECRET || null;
  if (cookieSecret !== null && cookieSecret.length < 32) {
    throw new Error('APP_COOKIE_SECRET must be at least 32 characters');
  }
  if (cookieSecret === null && redisUrl) {
    throw new Error('APP_COOKIE_SECRET is required with REDIS_URL (every instance must sign browser cookies alike)');
  }
  cookieSecret ??= randomBytes(32).toString('base64url');
  const roomTtlS = env.ROOM_TTL_S === undefined || env.ROOM_TTL_S === '' ? 86_400 : Number(env.ROOM_TTL_S);
  if (!Number.isInteger(roomTtlS) || roomTtlS < 60) {
    throw new Error(`ROOM_TTL_S must be an integer of at least 60, got ${JSON.stringify(env.ROOM_TTL_S)}`);
  }

  const joinLimitPerMin = limit(env, 'JOIN_LIMIT_PER_MIN', 30);
  const newRoomLimitPerMin = limit(env, 'NEW_ROOM_LIMIT_PER_MIN', 10);

  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer 0..65535, got ${JSON.stringify(env.PORT)}`);
  }
  const sandboxAdminToken = env.SANDBOX_ADMIN_TOKEN || null;
  if (sandboxAdminToken === null) {
    if (env.SANDBOX_ADMIN_URL && env.SANDBOX_ADMIN_URL !== 'off') {
      throw new Error('SANDBOX_ADMIN_URL is set but SANDBOX_ADMIN_TOKEN is not: the sandbox admin API needs its token');
    }
    sandboxAdminUrl = null; // without the token the sandbox would refuse every admin call
  }
  const mediaMode = env.MEDIA_MODE || 'routed';
  if (mediaMode !== 'routed' && mediaMode !== 'relayed') {
    throw new Error(`MEDIA_MODE must be routed or relayed, got ${JSON.stringify(env.MEDIA_MODE)}`);
  }
  return {
    applicationId,
    mediaMode,
    privateKey,
    videoHost,
    otScriptUrl,
    otProxyUrl,
    sandboxAdminUrl,
    sandboxAdminToken,
    host: env.HOST || '127.0.0.1',
    port,
    signatureSecret,
    redisUrl,
    redisPrefix: env.REDIS_KEY_PREFIX || 'video-handoff:',
    cookieSecret,
    roomTtlS,
    joinLimitPerMin,
    newRoomLimitPerMin,
    trustProxy: env.TRUST_PROXY === '1',
  };
}

function limit(env, name, fallback) {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer (0: no limit), got ${JSON.stringify(raw)}`);
  }
  return value;
}

function readPrivateKey(value) {
  if (!value) {
    throw new Error('VONAGE_PRIVATE_KEY is not set (a path to the private key file, or the PEM text)');
  }
  if (value.includes('-----BEGIN')) {
    return value.replace(/\\n/g, '\n');
  }
  if (!existsSync(value)) {
    // Say which variable, never echo the value: it may be a mangled key.
    throw new Error('VONAGE_PRIVATE_KEY is neither PEM text nor the path of an existing file');
  }
  return readFileSync(value, 'utf8');
}

function stripSlash(url) {
  return url.replace(/\/+$/, '');
}

function assertHttpUrl(name, value) {
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
}

function isLoopback(url) {
  const { hostname } = new URL(url);
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}
