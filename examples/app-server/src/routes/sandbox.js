// Sandbox-only controls behind the demo's buttons: rotate a room's session now, and the
// added-signaling-latency hook. 404 `notSandbox` against the hosted platform. Only a member
// of the room may press them: the request names a participant ID (`id`) that this browser
// joined the room with (403 `notAMember` otherwise).
import { HttpError } from '../http-error.js';
import { ROOM_NAME, browserFromCookie } from '../identity.js';

const DEFAULT_NOTICE_MS = 5000;
const MAX_NOTICE_MS = 3600_000;

const participantId = { type: 'string', pattern: '^[A-Za-z0-9_-]{8,64}$' };

export async function sandboxRoutes(app, { config, rooms, store, fetch, log }) {
  const requireMember = async (request, room, id) => {
    const browser = browserFromCookie(request);
    const held = await store.participant(id);
    if (browser === null || !held || held.browser !== browser || held.room !== room) {
      throw new HttpError(403, 'notAMember', 'only a participant of this room (who joined from this browser) may do this');
    }
  };

  const requireSandbox = async () => {
    if (config.sandboxAdminUrl === null) {
      throw new HttpError(404, 'notSandbox', 'this needs the sandbox (SANDBOX_ADMIN_URL)');
    }
  };

  app.post(
    '/api/rooms/:room/rotate',
    {
      preValidation: requireSandbox,
      schema: {
        params: { type: 'object', properties: { room: { type: 'string', pattern: ROOM_NAME.source } } },
        body: {
          type: 'object',
          required: ['id'],
          properties: { noticeMs: { type: 'integer', minimum: 0, maximum: MAX_NOTICE_MS }, id: participantId },
        },
      },
    },
    async (request, reply) => {
      const { room } = request.params;
      await requireMember(request, room, request.body.id);
      const noticeMs = request.body?.noticeMs ?? DEFAULT_NOTICE_MS;
      const sessionId = await rooms.currentSession(room);
      if (sessionId === null) {
        throw new HttpError(404, 'unknownRoom', `room ${room} has no session`);
      }
      const answer = await adminPost(`/admin/sessions/${encodeURIComponent(sessionId)}/rotate`, { noticeMs });
      log(`room ${room}: rotation of its session requested (notice ${noticeMs} ms)`);
      reply.code(answer.status);
      return { sessionId, noticeMs, sandbox: answer.body };
    },
  );

  // Added signaling latency, so a person can see what make-before-break buys on a slow network.
  app.post(
    '/api/sandbox/latency',
    {
      preValidation: requireSandbox,
      schema: {
        body: {
          type: 'object',
          required: ['latencyMs', 'room', 'id'],
          properties: {
            latencyMs: { type: 'integer', minimum: 0, maximum: 5000 },
            room: { type: 'string', pattern: ROOM_NAME.source },
            id: participantId,
          },
        },
      },
    },
    async (request, reply) => {
      const { latencyMs, room, id } = request.body;
      await requireMember(request, room, id);
      const answer = await adminPost('/admin/hooks', { latencyMs });
      reply.code(answer.status);
      return { latencyMs, sandbox: answer.body };
    },
  );

  async function adminPost(pathname, body) {
    let response;
    try {
      response = await fetch(config.sandboxAdminUrl + pathname, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${config.sandboxAdminToken}`,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
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
}
