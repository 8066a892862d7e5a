// The baseline (`?naive=1`): what most apps do today when the server says "move", using the
// OT API directly: disconnect from the old session, then connect to the new one, publish and
// subscribe again. It exists so the end-to-end tests can measure the SDK against it; its tiles
// use the SDK's markup (`.video-handoff-tile[data-participant]`, `video[data-active="true"]`)
// so both are measured the same way.
//
// The vendor's migration (`?mode=vendor`, `startVendorCall`): the same client made with
// `sessionMigration: true`, in a room the app server does not move. At a server rotation the
// vendor's client moves itself (a second socket, every stream and subscription made again,
// the old ones closed 20 s later) and keeps the session ID. It raises only `migrated`, at the
// end; its start is seen here as the session's `currentState` turning `migrating`.

const TILE_GRACE_MS = 5000;

export function startNaiveCall(options) {
  return startCall(options, false);
}

export function startVendorCall(options) {
  return startCall(options, true);
}

const MIGRATION_POLL_MS = 100;

async function startCall({ OT, joined, room, identity, media, ui }, sessionMigration) {
  const call = new NaiveCall({ OT, applicationId: joined.applicationId, room, identity, media, ui, sessionMigration });
  ui.localTile(call.localElement);
  await call.connect(joined.sessionId, joined.token);
  return {
    call,
    get state() {
      return call.state;
    },
    get sessionId() {
      return call.sessionId;
    },
    stats: () => ({ state: call.state, sessionId: call.sessionId, handoffsCompleted: call.handoffs, tiles: [] }),
    close: () => call.close(),
  };
}

class NaiveCall {
  state = 'idle';
  sessionId = null;
  handoffs = 0;
  localElement;
  #OT;
  #applicationId;
  #room;
  #identity;
  #media;
  #ui;
  #session = null;
  #publisher = null;
  #moving = false;
  #closed = false;
  #sessionMigration;
  #migrationPoll = 0;
  /** key -> { element, videos: Map<streamId, { video, session }>, reap } */
  #tiles = new Map();

  constructor({ OT, applicationId, room, identity, media, ui, sessionMigration }) {
    this.#OT = OT;
    this.#sessionMigration = sessionMigration;
    this.#applicationId = applicationId;
    this.#room = room;
    this.#identity = identity;
    this.#media = media;
    this.#ui = ui;
    this.localElement = document.createElement('div');
    this.localElement.className = 'video-handoff-tile';
    this.localElement.dataset.local = 'true';
    const preview = document.createElement('video');
    preview.muted = true;
    preview.autoplay = true;
    preview.playsInline = true;
    preview.dataset.active = 'true';
    preview.srcObject = new MediaStream([media.video, media.audio].filter(Boolean));
    this.localElement.append(preview);
  }

  async connect(sessionId, token) {
    this.#setState(this.#moving ? 'handoff' : this.sessionId ? 'recovering' : 'connecting');
    const session = this.#OT.initSession(this.#applicationId, sessionId, { sessionMigration: this.#sessionMigration });
    this.#session = session;
    this.sessionId = sessionId;
    this.#ui.sessionChanged(sessionId);
    if (this.#sessionMigration) {
      this.#watchMigration(session);
    }
    session.on({
      streamCreated: (e) => this.#subscribe(session, e.stream),
      streamDestroyed: (e) => this.#removeVideo(e.stream.streamId),
      sessionDisconnected: (e) => this.#onDisconnected(session, e.reason),
      'signal:handoff': (e) => {
        this.#onHandoff(session, e).catch((err) => this.#ui.event('handoffFailed', { error: err }, 'error'));
      },
    });
    await new Promise((resolve, reject) => session.connect(token, (err) => (err ? reject(err) : resolve())));
    const publisher = this.#OT.initPublisher(undefined, {
      insertDefaultUI: false,
      // Each publisher stops its tracks when destroyed: give it clones.
      videoSource: this.#media.video ? this.#media.video.clone() : null,
      audioSource: this.#media.audio ? this.#media.audio.clone() : null,
      publishVideo: Boolean(this.#media.video),
      publishAudio: Boolean(this.#media.audio),
      name: this.#identity.name,
    });
    this.#publisher = publisher;
    await new Promise((resolve, reject) => session.publish(publisher, (err) => (err ? reject(err) : resolve())));
    this.#setState('live');
  }

  // The vendor's client says nothing when it starts to migrate; its state says it.
  #watchMigration(session) {
    let migrating = false;
    let started = 0;
    clearInterval(this.#migrationPoll);
    this.#migrationPoll = setInterval(() => {
      if (session !== this.#session) return;
      if (!migrating && session.currentState === 'migrating') {
        migrating = true;
        started = performance.now();
        this.#setState('handoff');
        this.#ui.event('migrationStarted', { sessionId: this.sessionId });
      }
    }, MIGRATION_POLL_MS);
    session.on('migrated', () => {
      if (session !== this.#session) return;
      migrating = false;
      this.handoffs++;
      this.#setState('live');
      this.#ui.event('migrated', { sessionId: this.sessionId, durationMs: Math.round(performance.now() - started) }, 'good');
    });
  }

  async close() {
    this.#closed = true;
    clearInterval(this.#migrationPoll);
    const session = this.#session;
    this.#session = null;
    if (session) {
      await disconnect(session);
    }
    this.#destroyPublisher();
    for (const key of [...this.#tiles.keys()]) {
      this.#dropTile(key);
    }
    this.#setState('closed');
  }

  // The server said "move": leave, then join. Video stops for as long as that takes.
  async #onHandoff(session, event) {
    if (session !== this.#session || this.#closed) {
      return;
    }
    if (event.from) {
      this.#ui.event('signalRejected', { reason: 'notFromServer' }, 'error');
      return;
    }
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      this.#ui.event('signalRejected', { reason: 'notJson' }, 'error');
      return;
    }
    if (msg?.v !== 1 || typeof msg.sessionId !== 'string' || !msg.sessionId) {
      this.#ui.event('signalRejected', { reason: 'invalid' }, 'error');
      return;
    }
    if (msg.sessionId === this.sessionId || this.#moving) {
      return;
    }
    const from = this.sessionId;
    const started = performance.now();
    this.#moving = true;
    this.#ui.event('handoffStarted', { from, to: msg.sessionId, reason: msg.reason ?? null });
    this.#setState('handoff');
    try {
      await disconnect(session);
      this.#destroyPublisher();
      const token = msg.token ?? (await this.#fetchToken(msg.sessionId));
      await this.connect(msg.sessionId, token);
      this.handoffs++;
      this.#ui.event(
        'handoffCompleted',
        { from, to: msg.sessionId, durationMs: Math.round(performance.now() - started) },
        'good',
      );
    } catch (err) {
      this.#ui.event('handoffFailed', { to: msg.sessionId, error: err }, 'error');
      this.#setState('closed');
    } finally {
      this.#moving = false;
    }
  }

  // Dropped with no signal (it was lost): ask the app server where the room is now.
  #onDisconnected(session, reason) {
    this.#removeVideosOf(session);
    if (session !== this.#session || this.#moving || this.#closed) {
      return;
    }
    this.#ui.event('sessionDisconnected', { reason }, reason === 'clientDisconnected' ? '' : 'error');
    this.#destroyPublisher();
    if (reason !== 'serverRotation' && reason !== 'networkDisconnected') {
      this.#setState('closed');
      return;
    }
    this.#ui.event('recoveryStarted', { sessionId: this.sessionId, reason }, 'error');
    (async () => {
      const r = await fetch(`/api/rooms/${encodeURIComponent(this.#room)}`);
      const { sessionId } = await r.json();
      if (!sessionId) throw new Error('the room has no session');
      await this.connect(sessionId, await this.#fetchToken(sessionId));
    })().catch((err) => {
      this.#ui.event('recoveryFailed', { error: err }, 'error');
      this.#setState('closed');
    });
  }

  async #fetchToken(sessionId) {
    const q = new URLSearchParams({ sessionId, id: this.#identity.id, name: this.#identity.name });
    const r = await fetch(`/api/rooms/${encodeURIComponent(this.#room)}/token?${q}`);
    const body = await r.json();
    if (!r.ok) throw new Error(`token refused: ${body.error}`);
    return body.token;
  }

  #subscribe(session, stream) {
    const key = stream.connection.data;
    const tile = this.#tile(key);
    const subscriber = session.subscribe(
      stream,
      undefined,
      // Audio once the video is in its tile: the vendor's client first plays a new stream in a
      // detached buffer element of its own, which would be heard outside the tile.
      { insertDefaultUI: false, subscribeToAudio: false, subscribeToVideo: true },
      (err) => err && this.#ui.event('subscribeFailed', { who: this.#ui.nameOf(key), error: err }, 'error'),
    );
    subscriber.on('videoElementCreated', (e) => {
      const video = e.element;
      video.autoplay = true;
      video.playsInline = true;
      for (const other of tile.videos.values()) other.video.dataset.active = 'false';
      video.dataset.active = 'true';
      tile.videos.set(stream.streamId, { video, session });
      clearTimeout(tile.reap);
      tile.element.append(video);
      subscriber.subscribeToAudio(true);
    });
  }

  #tile(key) {
    let tile = this.#tiles.get(key);
    if (!tile) {
      tile = { element: tileElement(key), videos: new Map(), reap: 0 };
      this.#tiles.set(key, tile);
      this.#ui.tileAdded(key, tile.element);
      this.#ui.event('participantJoined', { who: this.#ui.nameOf(key) });
    }
    clearTimeout(tile.reap);
    return tile;
  }

  #removeVideo(streamId) {
    for (const [key, tile] of this.#tiles) {
      const entry = tile.videos.get(streamId);
      if (entry) {
        entry.video.remove();
        tile.videos.delete(streamId);
        this.#afterVideoRemoved(key, tile);
      }
    }
  }

  #removeVideosOf(session) {
    for (const [key, tile] of this.#tiles) {
      for (const [streamId, entry] of tile.videos) {
        if (entry.session === session) {
          entry.video.remove();
          tile.videos.delete(streamId);
        }
      }
      this.#afterVideoRemoved(key, tile);
    }
  }

  // A tile with no video is kept for a while: the participant is probably reconnecting.
  #afterVideoRemoved(key, tile) {
    if (tile.videos.size > 0) {
      const last = [...tile.videos.values()].at(-1);
      last.video.dataset.active = 'true';
      return;
    }
    clearTimeout(tile.reap);
    tile.reap = setTimeout(() => {
      if (tile.videos.size === 0 && this.#tiles.get(key) === tile) {
        this.#dropTile(key);
        this.#ui.event('participantLeft', { who: this.#ui.nameOf(key) });
      }
    }, TILE_GRACE_MS);
  }

  #dropTile(key) {
    const tile = this.#tiles.get(key);
    if (!tile) return;
    clearTimeout(tile.reap);
    this.#tiles.delete(key);
    this.#ui.tileRemoved(key);
  }

  #destroyPublisher() {
    try {
      this.#publisher?.destroy();
    } catch {
      // already destroyed with its session
    }
    this.#publisher = null;
  }

  #setState(state) {
    if (this.state !== state) {
      this.state = state;
      this.#ui.state(state);
    }
  }
}

function tileElement(key) {
  const el = document.createElement('div');
  el.className = 'video-handoff-tile';
  el.dataset.participant = key;
  return el;
}

function disconnect(session) {
  return new Promise((resolve) => {
    if (!session.connection) {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, 3000);
    session.once('sessionDisconnected', () => {
      clearTimeout(timer);
      resolve();
    });
    session.disconnect();
  });
}
