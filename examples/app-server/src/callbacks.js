// Session-monitoring callback bodies (the vendor's JSON shapes): parsed and checked before
// anything acts on them. A body that fails here gets a 4xx and changes nothing.

const MAX_ID = 256;
const KNOWN_EVENTS = new Set([
  'sessionCreated',
  'sessionDestroyed',
  'sessionNotification',
  'connectionCreated',
  'connectionDestroyed',
  'streamCreated',
  'streamDestroyed',
]);

/**
 * Checks a parsed callback body. Returns `{ ok: true, event }` with a normalized event, or
 * `{ ok: false, reason }`. Unknown event names with a valid envelope are accepted as
 * `{ kind: 'ignored' }` (the platform may add events; they must not be retried forever).
 */
export function parseCallback(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return fail('body must be a JSON object');
  }
  const { sessionId, event, timestamp } = body;
  if (!isId(sessionId)) {
    return fail('sessionId must be a non-empty string');
  }
  if (typeof event !== 'string' || event.length === 0 || event.length > 64) {
    return fail('event must be a non-empty string');
  }
  if (!isTime(timestamp)) {
    return fail('timestamp must be epoch milliseconds');
  }
  if (body.projectId !== undefined && typeof body.projectId !== 'string' && typeof body.projectId !== 'number') {
    return fail('projectId must be a string');
  }
  const base = { type: event, sessionId, timestamp };
  if (!KNOWN_EVENTS.has(event)) {
    return { ok: true, event: { ...base, type: 'ignored', name: event } };
  }
  switch (event) {
    case 'connectionCreated':
    case 'connectionDestroyed': {
      const connection = parseConnection(body.connection);
      if (!connection) {
        return fail('connection must be an object with a string id and string data');
      }
      return { ok: true, event: { ...base, connection, reason: optionalString(body.reason) } };
    }
    case 'streamCreated':
    case 'streamDestroyed': {
      const stream = body.stream;
      if (stream === null || typeof stream !== 'object' || !isId(stream.id)) {
        return fail('stream must be an object with a string id');
      }
      return { ok: true, event: { ...base, streamId: stream.id, reason: optionalString(body.reason) } };
    }
    case 'sessionNotification': {
      if (typeof body.reason !== 'string' || body.reason.length === 0) {
        return fail('sessionNotification needs a string reason');
      }
      const remaining = remainingMs(body);
      if (remaining === undefined) {
        return fail('sessionNotification remaining time must be a non-negative number');
      }
      return { ok: true, event: { ...base, reason: body.reason, remainingMs: remaining } };
    }
    case 'sessionDestroyed':
      if (body.reason !== undefined && typeof body.reason !== 'string') {
        return fail('reason must be a string');
      }
      return { ok: true, event: { ...base, reason: optionalString(body.reason) } };
    default:
      return { ok: true, event: base };
  }
}

// The time left before rotation in ms (`remainingTime`, as the sandbox sends it); `null` when
// the body does not say, `undefined` when it says something unusable.
function remainingMs(body) {
  if (body.remainingTime === undefined) {
    return null;
  }
  return nonNegative(body.remainingTime);
}

function nonNegative(value) {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function parseConnection(connection) {
  if (connection === null || typeof connection !== 'object' || !isId(connection.id)) {
    return null;
  }
  const data = connection.data ?? '';
  if (typeof data !== 'string' || data.length > 8192) {
    return null;
  }
  return { id: connection.id, data };
}

function isId(value) {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID;
}

function isTime(value) {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

function optionalString(value) {
  return typeof value === 'string' ? value : null;
}

function fail(reason) {
  return { ok: false, reason };
}
