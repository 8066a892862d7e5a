// The app server: HTTP routes over `Rooms`, plus the demo page and the SDK files.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rooms } from './rooms.js';
import { parseCallback } from './callbacks.js';
import { Router, HttpError, sendJson, readJson } from './http.js';
import { resolveInside, sendFile } from './static.js';
import {
  identityData,
  validateDisplayName,
  validateParticipantId,
  validateRoomName,
} from './identity.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '../../..');

// URL prefix -> folder. `/sdk/js/index.js` imports `../pkg/video_handoff.js`, so the SDK's
// `js/` and `pkg/` keep their relative layout under `/sdk/`.
const DEFAULT_STATIC = [
  ['/sdk/js/', path.join(REPO_ROOT, 'js')],
  ['/sdk/pkg/', path.join(REPO_ROOT, 'pkg')],
  ['/vendor/', path.join(REPO_ROOT, 'node_modules/@vonage/client-sdk-video/dist/js')],
  ['/', path.join(REPO_ROOT, 'examples/demo')],
];

const DEFAULT_NOTICE_MS = 5000;
const MAX_NOTICE_MS = 3600_000;

/**
 * Builds the app server (not listening yet).
 * @param {object} options
 * @param {object} options.config  from `loadConfig()`
 * @param {object} options.video   an `@vonage/video` `Video`
 * @param {(line: string) => void} [options.log]
 * @param {typeof fetch} [options.fetch] used for the sandbox admin proxy
 * @returns {{ server: http.Server, rooms: Rooms }}
 */
export function createAppServer({ config, video, log = console.log, fetch = globalThis.fetch, staticRoots = DEFAULT_STATIC }) {
  const rooms = new Rooms({ video, log });
  const router = new Router();

  router.add('GET', '/api/config', (req, res) =>
    sendJson(res, 200, {
      applicationId: config.applicationId,
      otScriptUrl: config.otScriptUrl,
      otProxyUrl: config.otProxyUrl,
      sandbox: config.sandboxAdminUrl !== null,
      signalType: 'handoff',
    }),
  );

  router.add('GET', '/api/rooms/:room', (req, res, { room }) => {
    const name = roomParam(room);
    sendJson(res, 200, { room: name, sessionId: rooms.currentSession(name) });
  });

  router.add('POST', '/api/rooms/:room/join', async (req, res, { room }) => {
    const name = roomParam(room);
    const body = await readJson(req);
    const identity = identityFrom(body?.name, body?.id);
    let sessionId;
    try {
      sessionId = await rooms.openRoom(name);
    } catch (err) {
      if (err?.status === 503) throw new HttpError(503, 'tooManyRooms', err.message);
      log(`room ${name}: creating its session failed: ${err?.response?.status ? `HTTP ${err.response.status}` : err?.message}`);
      throw new HttpError(502, 'videoApiFailed', 'the video API did not create a session');
    }
    const data = identityData(identity);
    log(`room ${name}: ${identity.id} joins`);
    sendJson(res, 200, {
      room: name,
      applicationId: config.applicationId,
      sessionId,
      token: rooms.token(sessionId, data),
      identity,
      data,
    });
  });

  // The SDK's `tokenProvider`: tokens only for the room's current session (which is also the
  // session a rotation is moving the room to).
  router.add('GET', '/api/rooms/:room/token', (req, res, { room }, url) => {
    const name = roomParam(room);
    const sessionId = url.searchParams.get('sessionId');
    if (!sessionId) {
      throw new HttpError(400, 'missingSessionId', 'sessionId is required');
    }
    const identity = identityFrom(url.searchParams.get('name'), url.searchParams.get('id'));
    const current = rooms.currentSession(name);
    if (current === null) {
      throw new HttpError(404, 'unknownRoom', `room ${name} has no session`);
    }
    if (sessionId !== current) {
      const known = rooms.describeSession(sessionId);
      if (!known) {
        throw new HttpError(404, 'unknownSession', 'no such session');
      }
      if (known.room !== name) {
        throw new HttpError(403, 'otherRoom', 'that session belongs to another room');
      }
      throw new HttpError(403, 'notCurrentSession', "that is not the room's current session", {
        currentSessionId: current,
      });
    }
    sendJson(res, 200, { sessionId, token: rooms.token(sessionId, identityData(identity)) });
  });

  router.add('POST', '/api/rooms/:room/rotate', async (req, res, { room }) => {
    const name = roomParam(room);
    if (config.sandboxAdminUrl === null) {
      throw new HttpError(404, 'notSandbox', 'rotation on demand needs the sandbox (SANDBOX_ADMIN_URL)');
    }
    const body = await readJson(req);
    const noticeMs = body?.noticeMs ?? DEFAULT_NOTICE_MS;
    if (!Number.isInteger(noticeMs) || noticeMs < 0 || noticeMs > MAX_NOTICE_MS) {
      throw new HttpError(400, 'badNotice', `noticeMs must be an integer 0..${MAX_NOTICE_MS}`);
    }
    const sessionId = rooms.currentSession(name);
    if (sessionId === null) {
      throw new HttpError(404, 'unknownRoom', `room ${name} has no session`);
    }
    const answer = await adminPost(`/admin/sessions/${encodeURIComponent(sessionId)}/rotate`, { noticeMs });
    log(`room ${name}: rotation of its session requested (notice ${noticeMs} ms)`);
    sendJson(res, answer.status, { sessionId, noticeMs, sandbox: answer.body });
  });

  // Added signaling latency, so a person can see what make-before-break buys on a slow network.
  router.add('POST', '/api/sandbox/latency', async (req, res) => {
    if (config.sandboxAdminUrl === null) {
      throw new HttpError(404, 'notSandbox', 'latency control needs the sandbox');
    }
    const body = await readJson(req);
    const latencyMs = body?.latencyMs;
    if (!Number.isInteger(latencyMs) || latencyMs < 0 || latencyMs > 5000) {
      throw new HttpError(400, 'badLatency', 'latencyMs must be an integer 0..5000');
    }
    const answer = await adminPost('/admin/hooks', { latencyMs });
    sendJson(res, answer.status, { latencyMs, sandbox: answer.body });
  });

  router.add('POST', '/callbacks', async (req, res) => {
    const body = await readJson(req);
    const parsed = parseCallback(body);
    if (!parsed.ok) {
      throw new HttpError(400, 'badCallback', parsed.reason);
    }
    // State changes now, REST calls in the background: the platform wants a fast 200.
    const outcome = rooms.handle(parsed.event);
    sendJson(res, 200, { ok: true, outcome });
  });

  async function adminPost(pathname, body) {
    let response;
    try {
      response = await fetch(config.sandboxAdminUrl + pathname, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${config.sandboxAdminToken}` },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new HttpError(502, 'sandboxUnreachable', `sandbox admin API unreachable: ${err.message}`);
    }
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: response.ok ? 200 : 502, body: parsed };
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://app.invalid');
    const route = router.match(req.method, url.pathname);
    if (route?.handler) {
      await route.handler(req, res, route.params, url);
      return;
    }
    if (route?.allowed) {
      res.setHeader('allow', [...new Set(route.allowed)].join(', '));
      throw new HttpError(405, 'methodNotAllowed', `use ${route.allowed.join(' or ')}`);
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && !url.pathname.startsWith('/api/')) {
      for (const [prefix, root] of staticRoots) {
        if (url.pathname.startsWith(prefix)) {
          const file = await resolveInside(root, url.pathname.slice(prefix.length));
          if (file) {
            await sendFile(req, res, file);
            return;
          }
          break;
        }
      }
    }
    throw new HttpError(404, 'notFound', 'no such resource');
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!(err instanceof HttpError)) {
        log(`${req.method} ${req.url.split('?')[0]} failed: ${err?.stack ?? err}`);
        err = new HttpError(err?.status ?? 500, 'internal', 'internal error');
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, err.status, { error: err.code, message: err.message, ...err.extra });
    });
  });
  return { server, rooms };
}

function roomParam(room) {
  const checked = validateRoomName(room);
  if (!checked.ok) {
    throw new HttpError(400, 'badRoom', checked.reason);
  }
  return checked.value;
}

function identityFrom(name, id) {
  const n = validateDisplayName(name);
  if (!n.ok) {
    throw new HttpError(400, 'badName', n.reason);
  }
  const i = validateParticipantId(id ?? undefined);
  if (!i.ok) {
    throw new HttpError(400, 'badId', i.reason);
  }
  return { id: i.value, name: n.value };
}
