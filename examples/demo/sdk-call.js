// The product: the call joined through video-handoff, which follows the server's handoff
// signals make-before-break. The page only places the tiles the SDK hands out.

const EVENTS = [
  'handoffStarted',
  'sessionEnded',
  'participantSwapped',
  'handoffCompleted',
  'handoffFailed',
  'recoveryStarted',
  'subscribeFailed',
  'announceFailed',
  'signalRejected',
  'sessionMigrated',
];

/**
 * Joins with the SDK. `ui` receives `state(s)`, `event(type, detail, tone)`,
 * `tileAdded(key, element)`, `tileRemoved(key)`, `localTile(element)`.
 */
export async function startSdkCall({ OT, joined, room, identity, media, ui, tokenProvider = true, sessionMigration = false }) {
  let sdk;
  try {
    sdk = await import('/sdk/js/index.js');
  } catch (err) {
    throw new Error(`the video-handoff SDK did not load (is pkg/ built? npm run demo builds it): ${err.message}`);
  }
  const tokenUrl = (sessionId) =>
    `/api/rooms/${encodeURIComponent(room)}/token?` +
    new URLSearchParams({ sessionId, id: identity.id, name: identity.name });

  // Handlers go in with join() (`on`), so nothing before it resolves is missed, such as the
  // participantJoined of the people already in the room.
  const shown = new Set();
  const show = (p) => {
    if (!shown.has(p.key)) {
      shown.add(p.key);
      ui.tileAdded(p.key, p.element);
    }
  };
  const handlers = {
    stateChanged: (e) => ui.state(e.state),
    participantJoined: (e) => {
      show(e.participant);
      ui.event('participantJoined', { who: ui.nameOf(e.participant.key) });
    },
    participantLeft: (e) => {
      shown.delete(e.key);
      ui.tileRemoved(e.key);
      ui.event('participantLeft', { who: ui.nameOf(e.key) });
    },
  };
  for (const type of EVENTS) {
    handlers[type] = (e) => {
      const detail = { ...e };
      if (detail.key !== undefined) detail.key = ui.nameOf(detail.key);
      const tone = type === 'handoffCompleted' || type === 'sessionMigrated' ? 'good' : /Failed|Rejected|recovery|Ended/.test(type) ? 'error' : '';
      ui.event(type, detail, tone);
      if (type === 'handoffCompleted') ui.sessionChanged(e.to);
    };
  }

  ui.state('connecting');
  const call = await sdk.join({
    OT,
    applicationId: joined.applicationId,
    sessionId: joined.sessionId,
    token: joined.token,
    // For a handoff signal without a token (this app server always sends one).
    tokenProvider: tokenProvider
      ? async (sessionId) => {
          const r = await fetch(tokenUrl(sessionId));
          const body = await r.json();
          if (!r.ok) throw new Error(`token refused: ${body.error}: ${body.message}`);
          return body.token;
        }
      : undefined,
    // The rotation signal was lost: ask the app server which session the room is in now.
    resolveSession: async (oldSessionId) => {
      const r = await fetch(`/api/rooms/${encodeURIComponent(room)}`);
      const body = await r.json();
      return body.sessionId && body.sessionId !== oldSessionId ? { sessionId: body.sessionId } : null;
    },
    publisher: { videoSource: media.video, audioSource: media.audio, name: identity.name },
    // `?sessionMigration=1`: the vendor's migration too, beside the handoff signals.
    sessionMigration,
    on: handlers,
  });
  ui.localTile(call.localElement);
  call.participants.forEach(show);
  ui.state(call.state);
  ui.sessionChanged(call.sessionId);

  return {
    call,
    get state() {
      return call.state;
    },
    get sessionId() {
      return call.sessionId;
    },
    stats: () => call.stats(),
    async close() {
      for (const [type, handler] of Object.entries(handlers)) {
        call.off(type, handler);
      }
      await call.close();
      ui.state('closed');
    },
  };
}
