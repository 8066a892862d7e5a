// The app server: Fastify routes over `Rooms`, plus the demo page and the SDK files.
//
// Every POST must be `application/json` (so no cross-site form or "simple" request reaches
// one), bodies are limited to 64 kB, and JSON schemas answer 400 with the field at fault.
// Errors are `{ error: <code>, message }`.
import path from 'node:path';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifyRateLimit from '@fastify/rate-limit';
import { Redis as IORedis } from 'ioredis';
import { Rooms } from './rooms.js';
import { retryingVideo } from './video-retry.js';
import { HttpError } from './http-error.js';
import { roomRoutes } from './routes/rooms.js';
import { callbackRoutes } from './routes/callbacks.js';
import { sandboxRoutes } from './routes/sandbox.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '../../..');
export const BODY_LIMIT = 64 * 1024;

// URL prefix -> folder. `/sdk/js/index.js` imports `../pkg/video_handoff.js`, so the SDK's
// `js/` and `pkg/` keep their relative layout under `/sdk/`.
const DEFAULT_STATIC = [
  ['/sdk/js/', path.join(REPO_ROOT, 'js')],
  ['/sdk/pkg/', path.join(REPO_ROOT, 'pkg')],
  ['/vendor/', path.join(REPO_ROOT, 'node_modules/@vonage/client-sdk-video/dist/js')],
  ['/', path.join(REPO_ROOT, 'examples/demo')],
];

// Field at fault -> error code (the field's name otherwise: `bad<Field>`).
const FIELD_CODES = { noticeMs: 'badNotice', latencyMs: 'badLatency' };

/**
 * Builds the app server (not listening yet).
 * @param {object} options
 * @param {object} options.config  from `loadConfig()`
 * @param {object} options.video   an `@vonage/video` `Video`
 * @param {object} options.store   from `openStore()`
 * @param {(line: string) => void} [options.log]
 * @param {typeof fetch} [options.fetch] used for the sandbox admin proxy
 * @param {object} [options.retry] the REST retry policy (video-retry.js)
 * @returns {Promise<{ app: import('fastify').FastifyInstance, rooms: Rooms, video: object }>}
 */
export async function createAppServer({
  config,
  video,
  store,
  log = console.log,
  fetch = globalThis.fetch,
  staticRoots = DEFAULT_STATIC,
  retry = {},
}) {
  const api = retryingVideo(video, { log, ...retry });
  const rooms = new Rooms({ video: api, store, log, mediaMode: config.mediaMode });
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    trustProxy: config.trustProxy,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
  });

  // JSON only, and the exact bytes kept: callbacks are verified against them.
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body;
    if (request.routeOptions.config?.rawBody) {
      done(null, body); // the route parses it after checking its signature
      return;
    }
    parseJson(request, body.toString('utf8'), done);
  });
  app.addHook('onRequest', async (request) => {
    if (request.method === 'POST' && !/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
      throw new HttpError(415, 'notJson', 'content-type must be application/json');
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    if (request.url.startsWith('/api/') || request.url.startsWith('/callbacks')) {
      reply.header('cache-control', 'no-store');
    }
    return payload;
  });

  await app.register(fastifyCookie, { secret: config.cookieSecret });

  // Rate limits per client address (joins, and rooms created), counted in Redis when the
  // instances share one, so a client gets the same allowance whichever instance it reaches.
  // @fastify/rate-limit's Redis store speaks ioredis, so it gets a connection of its own.
  let limiterRedis = null;
  if (config.redisUrl) {
    limiterRedis = new IORedis(config.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 5000, enableOfflineQueue: true });
    limiterRedis.on('error', (err) => log(`redis (rate limits): ${err.message}`));
    app.addHook('onClose', async () => {
      await limiterRedis.quit().catch(() => limiterRedis.disconnect());
    });
  }
  await app.register(fastifyRateLimit, {
    global: false,
    ...(limiterRedis ? { redis: limiterRedis, nameSpace: `${config.redisPrefix}rate:` } : {}),
    errorResponseBuilder: (request, context) =>
      new HttpError(429, 'rateLimited', `too many requests: retry in ${context.after}`, { retryAfterMs: context.ttl }),
  });

  app.setErrorHandler((err, request, reply) => {
    const e = toHttpError(err);
    if (e.status >= 500) {
      log(`${request.method} ${request.url.split('?')[0]} failed: ${err?.stack ?? err}`);
    }
    reply.code(e.status).send({ error: e.code, message: e.message, ...e.extra });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'notFound', message: 'no such resource' });
  });

  const deps = { config, rooms, store, fetch, log };
  await app.register(roomRoutes, deps);
  await app.register(callbackRoutes, deps);
  await app.register(sandboxRoutes, deps);

  staticRoots.forEach(([prefix, root], i) => {
    const realRoot = safeRealpath(root);
    app.register(fastifyStatic, {
      root,
      prefix,
      decorateReply: i === 0,
      dotfiles: 'ignore',
      // Nothing outside the folder, not even through a symlink inside it.
      allowedPath: (pathname) => {
        const file = safeRealpath(path.join(root, pathname));
        return realRoot !== null && file !== null && (file === realRoot || file.startsWith(realRoot + path.sep));
      },
      setHeaders: (reply, file) => {
        if (/\.m?js$/.test(file)) reply.header('content-type', 'text/javascript; charset=utf-8');
        reply.header('cache-control', 'no-cache');
      },
    });
  });

  return { app, rooms, video: api };
}

function safeRealpath(p) {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

/** Any error as the answer it becomes. */
function toHttpError(err) {
  if (err instanceof HttpError) {
    return err;
  }
  if (err?.validation) {
    const first = err.validation[0] ?? {};
    const field =
      first.params?.missingProperty ?? first.instancePath?.split('/').filter(Boolean)[0] ?? err.validationContext ?? 'body';
    const code = FIELD_CODES[field] ?? `bad${field[0].toUpperCase()}${field.slice(1)}`;
    return new HttpError(400, code, `${err.validationContext ?? 'body'}${first.instancePath || ''} ${first.message ?? 'is invalid'}`);
  }
  switch (err?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 'bodyTooLarge', `body is larger than ${BODY_LIMIT} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 'notJson', 'content-type must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError(400, 'badJson', 'body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpError(400, 'badJson', 'body is not valid JSON');
    default:
      break;
  }
  if (err instanceof SyntaxError || err?.statusCode === 400) {
    return new HttpError(400, 'badJson', 'body is not valid JSON');
  }
  if (err?.statusCode >= 400 && err.statusCode < 500) {
    return new HttpError(err.statusCode, 'badRequest', err.message);
  }
  return new HttpError(500, 'internal', 'internal error');
}
