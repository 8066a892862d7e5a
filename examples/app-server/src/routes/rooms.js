// The page's API: config, a room's current session, joining, and tokens for the SDK's
// `tokenProvider`.
import { HttpError } from '../http-error.js';
import {
  BROWSER_COOKIE_MIN_AGE_S,
  ROOM_NAME,
  browserFromCookie,
  browserOf,
  identityData,
  validateDisplayName,
  validateParticipantId,
} from '../identity.js';

const roomParams = {
  type: 'object',
  required: ['room'],
  properties: { room: { type: 'string', pattern: ROOM_NAME.source } },
};
const participantId = { type: 'string', pattern: '^[A-Za-z0-9_-]{8,64}$' };

const MINUTE_MS = 60_000;

export async function roomRoutes(app, { config, rooms, store, log }) {
  // The cookie outlives the records it points at: a call may last longer than ROOM_TTL_S.
  const cookieAgeS = Math.max(config.roomTtlS, BROWSER_COOKIE_MIN_AGE_S);
  const clientKey = (prefix) => (request) => `${prefix}:${request.ip}`;
  // Rooms created per client: checked only when a join would open a session.
  const newRoomLimit =
    config.newRoomLimitPerMin > 0
      ? app.createRateLimit({ max: config.newRoomLimitPerMin, timeWindow: MINUTE_MS, keyGenerator: clientKey('newRoom') })
      : null;

  // A room's clients all rotate one way: a client of the other way would not move with them.
  const sameRotation = async (room, sessionId, rotation) => {
    const roomRotation = (await store.sessionInfo(sessionId))?.rotation ?? 'handoff';
    if (roomRotation !== rotation) {
      throw new HttpError(409, 'otherRotation', `room ${room} rotates by ${roomRotation}, not ${rotation}`, { rotation: roomRotation });
    }
  };

  app.get('/api/config', async () => ({
    applicationId: config.applicationId,
    otScriptUrl: config.otScriptUrl,
    otProxyUrl: config.otProxyUrl,
    sandbox: config.sandboxAdminUrl !== null,
    signalType: 'handoff',
  }));

  app.get('/api/rooms/:room', { schema: { params: roomParams } }, async (request) => {
    const { room } = request.params;
    return { room, sessionId: await rooms.currentSession(room) };
  });

  app.post(
    '/api/rooms/:room/join',
    {
      config:
        config.joinLimitPerMin > 0
          ? { rateLimit: { max: config.joinLimitPerMin, timeWindow: MINUTE_MS, keyGenerator: clientKey('join') } }
          : {},
      schema: {
        params: roomParams,
        body: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', maxLength: 256 },
            id: participantId,
            // How the room rotates, when this join opens it (see rooms.js).
            rotation: { type: 'string', enum: ['handoff', 'migrate'] },
          },
        },
      },
    },
    async (request, reply) => {
      const { room } = request.params;
      const identity = identityFrom(request.body.name, request.body.id);
      const browser = browserOf(request, reply, cookieAgeS);
      const rotation = request.body.rotation ?? 'handoff';
      const existing = await rooms.currentSession(room);
      if (newRoomLimit && existing === null) {
        const limit = await newRoomLimit(request);
        if (limit.isExceeded) {
          reply.header('retry-after', String(limit.ttlInSeconds));
          throw new HttpError(429, 'tooManyRooms', 'too many new rooms from this client: retry later', { retryAfterMs: limit.ttl });
        }
      }
      if (existing !== null) {
        await sameRotation(room, existing, rotation);
      }
      if ((await store.bindParticipant(identity.id, browser, identity.name, room)) === 'taken') {
        throw new HttpError(403, 'idTaken', 'that participant id belongs to another browser');
      }
      let sessionId;
      try {
        sessionId = await rooms.openRoom(room, rotation);
      } catch (err) {
        log(`room ${room}: creating its session failed: ${err?.response?.status ? `HTTP ${err.response.status}` : err?.message}`);
        throw new HttpError(502, 'videoApiFailed', 'the video API did not create a session');
      }
      await sameRotation(room, sessionId, rotation);
      // In use: the room, its session and the participant ID live another ROOM_TTL_S.
      await store.touch({ room, sessionId, participant: identity.id });
      const data = identityData(identity);
      log(`room ${room}: ${identity.id} joins`);
      return { room, applicationId: config.applicationId, sessionId, token: rooms.token(sessionId, data), identity, data, rotation };
    },
  );

  // The SDK's `tokenProvider`: tokens only for the room's current session (which is also the
  // session a rotation is moving the room to), and only for a participant of this browser.
  app.get(
    '/api/rooms/:room/token',
    {
      schema: {
        params: roomParams,
        querystring: {
          type: 'object',
          required: ['sessionId', 'id'],
          properties: { sessionId: { type: 'string', minLength: 1, maxLength: 256 }, id: participantId, name: { type: 'string' } },
        },
      },
    },
    async (request) => {
      const { room } = request.params;
      const { sessionId, id } = request.query;
      const browser = browserFromCookie(request);
      const held = await store.participant(id);
      if (!held || browser === null || held.browser !== browser) {
        throw new HttpError(403, 'notYourId', 'join first: tokens are issued only for a participant of this browser');
      }
      const current = await rooms.currentSession(room);
      if (current === null) {
        throw new HttpError(404, 'unknownRoom', `room ${room} has no session`);
      }
      if (sessionId !== current) {
        const known = await rooms.describeSession(sessionId);
        if (!known) {
          throw new HttpError(404, 'unknownSession', 'no such session');
        }
        if (known.room !== room) {
          throw new HttpError(403, 'otherRoom', 'that session belongs to another room');
        }
        throw new HttpError(403, 'notCurrentSession', "that is not the room's current session", { currentSessionId: current });
      }
      await store.touch({ room, sessionId, participant: id });
      // The name recorded at join, so the token data (the participant's key) stays the same.
      return { sessionId, token: rooms.token(sessionId, identityData({ id, name: held.name })) };
    },
  );
}

function identityFrom(name, id) {
  const n = validateDisplayName(name);
  if (!n.ok) {
    throw new HttpError(400, 'badName', n.reason);
  }
  const i = validateParticipantId(id);
  if (!i.ok) {
    throw new HttpError(400, 'badId', i.reason);
  }
  return { id: i.value, name: n.value };
}
