// Rooms and their sessions, and the server's half of a rotation: on `sessionNotification` it
// creates the replacement session once, makes it the room's current one, and sends every
// connection of the old session its own handoff signal (docs/wire-contract.md).
//
// A room is made for one way of rotating, chosen by whoever opens it: `handoff` (the above)
// or `migrate`, for clients that use the vendor's own migration (`sessionMigration: true`):
// there the session ID stays, the clients move themselves, and a notification changes nothing.
//
// State lives in a store (store/memory.js in one process, store/redis.js shared by several
// instances), so any instance may receive any callback: the store decides, atomically, which
// caller creates a room's session, which one performs a move (a claim with a lease), and
// which one signals each connection. Duplicate and out-of-order callbacks change nothing twice.
//
// `handle()` applies a callback's state change before it answers; the REST calls it starts
// run in the background and are tracked, so `idle()` can wait for them.
import { randomUUID } from 'node:crypto';
import { parseIdentityData } from './identity.js';
import { describeError } from './video-retry.js';

const TOKEN_TTL_S = 6 * 3600;
/** How long a claimed move may take to create its session before another caller may retry. */
export const MOVE_LEASE_MS = 60_000;

export class Rooms {
  #video;
  #store;
  #log;
  #signalType;
  #now;
  #mediaMode;
  /** room name -> Promise of its session, while this process creates it */
  #opening = new Map();
  #pending = new Set();

  /**
   * @param {object} options
   * @param {object} options.video  `retryingVideo(...)`: createSession, sendSignal, generateClientToken
   * @param {object} options.store  a MemoryStore or RedisStore
   * @param {(line: string) => void} [options.log]
   * @param {string} [options.signalType] the handoff signal's type (default `handoff`)
   * @param {'routed'|'relayed'} [options.mediaMode] of every session created (default routed)
   */
  constructor({ video, store, log = () => {}, signalType = 'handoff', now = Date.now, mediaMode = 'routed' }) {
    this.#mediaMode = mediaMode;
    this.#video = video;
    this.#store = store;
    this.#log = log;
    this.#signalType = signalType;
    this.#now = now;
  }

  // ---- getters -------------------------------------------------------------------------

  /** The room's current session ID, or `null` (unknown room, or none yet). */
  currentSession(roomName) {
    return this.#store.currentSession(roomName);
  }

  /** What the server knows of a session: `{ room, current, connections, movedTo }` or `null`. */
  async describeSession(sessionId) {
    const s = await this.#store.sessionInfo(sessionId);
    if (!s) {
      return null;
    }
    const [current, connections, move] = await Promise.all([
      this.#store.currentSession(s.room),
      this.#store.connections(sessionId),
      this.#store.getMove(sessionId),
    ]);
    return { room: s.room, current: current === sessionId, connections: connections.size, movedTo: move?.to ?? null };
  }

  /** A client token for `sessionId` carrying `data` (the participant's identity) verbatim. */
  token(sessionId, data) {
    return this.#video.generateClientToken(sessionId, {
      data,
      role: 'publisher',
      expireTime: Math.floor(this.#now() / 1000) + TOKEN_TTL_S,
    });
  }

  /** Resolves once every REST call started by earlier callbacks has finished. */
  async idle() {
    while (this.#pending.size > 0) {
      await Promise.allSettled([...this.#pending]);
    }
  }

  // ---- mutators ------------------------------------------------------------------------

  /**
   * The room's current session, created on first use (concurrent callers share one), made
   * for `rotation` (`handoff` or `migrate`) when this call creates it.
   */
  async openRoom(roomName, rotation = 'handoff') {
    const current = await this.#store.currentSession(roomName);
    if (current) {
      return current;
    }
    let opening = this.#opening.get(roomName);
    if (!opening) {
      opening = (async () => {
        const created = await this.#createSession(roomName, rotation);
        // Another instance may have opened the room meanwhile: its session wins.
        const sessionId = await this.#store.openRoom(roomName, created);
        this.#log(`room ${roomName}: session ${short(sessionId)} ${sessionId === created ? 'created' : 'opened elsewhere'}`);
        return sessionId;
      })().finally(() => this.#opening.delete(roomName));
      this.#opening.set(roomName, opening);
    }
    return opening;
  }

  /** Applies one validated callback event (see `parseCallback`). Resolves to what it did. */
  async handle(event) {
    const s = await this.#store.sessionInfo(event.sessionId);
    if (!s) {
      return 'unknownSession';
    }
    const sid = event.sessionId;
    switch (event.type) {
      case 'connectionCreated': {
        // A live connection pins its room, session and participant ID until it is destroyed.
        const added = await this.#store.addConnection(sid, event.connection.id, event.connection.data, {
          room: s.room,
          participant: parseIdentityData(event.connection.data)?.id,
        });
        if (added === 'gone') {
          return 'staleConnection'; // its connectionDestroyed arrived first
        }
        const move = await this.#store.getMove(sid);
        if (move?.to) {
          // Connected to the old session after the move was announced: it gets the signal too.
          this.#track(this.#sendHandoff(sid, s.room, move, event.connection.id, event.connection.data));
          return 'lateConnectionSignaled';
        }
        return 'connectionAdded';
      }
      case 'connectionDestroyed': {
        let data = event.connection.data;
        if (!data) {
          data = (await this.#store.connections(sid)).get(event.connection.id);
        }
        await this.#store.removeConnection(sid, event.connection.id, {
          room: s.room,
          participant: parseIdentityData(data)?.id,
        });
        return 'connectionRemoved';
      }
      case 'sessionNotification':
        if (event.reason !== 'serverRotation') {
          return 'ignored';
        }
        if (s.rotation === 'migrate') {
          // The platform tells these clients itself; they keep the session ID.
          this.#log(`room ${s.room}: rotation of ${short(sid)} announced; its clients migrate themselves`);
          return 'clientsMigrate';
        }
        return this.#notified(sid, s.room, event);
      case 'sessionDestroyed':
        return this.#forget(sid, s.room, event.reason);
      default:
        return 'ignored';
    }
  }

  // ---- internals -----------------------------------------------------------------------

  async #createSession(roomName, rotation = 'handoff') {
    // @vonage/video's MediaMode: ROUTED is p2p.preference `disabled`, RELAYED `enabled`.
    const { sessionId } = await this.#video.createSession({
      mediaMode: this.#mediaMode === 'relayed' ? 'enabled' : 'disabled',
    });
    if (typeof sessionId !== 'string' || !sessionId) {
      throw new Error('the video API returned no session ID');
    }
    await this.#store.addSession(sessionId, roomName, rotation);
    return sessionId;
  }

  async #notified(sid, room, event) {
    const existing = await this.#store.getMove(sid);
    if (existing?.to) {
      // A later notice (the platform sends two, and may repeat them): signal whoever a
      // failed or interrupted fan-out missed; everyone else was signalled once already.
      this.#track(this.#fanOut(sid, room, existing));
      return 'duplicate';
    }
    // The platform's notices name one end; the first to arrive sets the deadline.
    const deadline = event.remainingMs === null ? null : Math.floor(event.timestamp + event.remainingMs);
    const move = { id: randomUUID(), deadline, startedAt: this.#now() };
    if (!(await this.#store.claimMove(sid, move, MOVE_LEASE_MS))) {
      return 'duplicate';
    }
    this.#log(`room ${room}: rotation of ${short(sid)} announced (move ${move.id})`);
    this.#track(this.#move(sid, room, move));
    return 'moveStarted';
  }

  async #move(sid, room, move) {
    let to;
    try {
      to = await this.#createSession(room);
    } catch (err) {
      // Let a later notification (the platform sends more than one) try again.
      await this.#store.abandonMove(sid, move.id);
      this.#log(`room ${room}: creating the replacement of ${short(sid)} failed: ${describeError(err)}`);
      return;
    }
    if (!(await this.#store.finishMove(sid, move.id, to, room))) {
      this.#log(`room ${room}: the move of ${short(sid)} was taken over (its lease ran out); ${short(to)} unused`);
      return;
    }
    this.#log(`room ${room}: ${short(sid)} -> ${short(to)}`);
    await this.#fanOut(sid, room, { ...move, to });
  }

  async #fanOut(sid, room, move) {
    const connections = await this.#store.connections(sid);
    await Promise.all([...connections].map(([cid, data]) => this.#sendHandoff(sid, room, move, cid, data)));
  }

  async #sendHandoff(sid, room, move, connectionId, data) {
    if (!(await this.#store.claimSignal(sid, connectionId))) {
      return; // signalled already, by this instance or another
    }
    if (!parseIdentityData(data)) {
      // Not one of our tokens: we cannot say who it is, so we cannot mint its new token.
      this.#log(`room ${room}: connection ${connectionId} has no identity; not signaled`);
      return;
    }
    const payload = { v: 1, sessionId: move.to, token: this.token(move.to, data), reason: 'serverRotation' };
    if (move.deadline !== null && move.deadline !== undefined) {
      payload.deadline = move.deadline;
    }
    payload.id = move.id;
    const signal = { type: this.#signalType, data: JSON.stringify(payload) };
    try {
      await this.#video.sendSignal(signal, sid, connectionId, move.deadline);
      this.#log(`room ${room}: handoff signal sent to ${connectionId}`);
    } catch (err) {
      const status = err?.response?.status;
      this.#log(`room ${room}: handoff signal to ${connectionId} failed after ${err.attempts ?? 1} attempt(s): ${describeError(err)}`);
      if (status === undefined || status === 429 || status >= 500) {
        // Worth another try: the next notice's sweep will pick this connection up.
        await this.#store.releaseSignal(sid, connectionId);
      }
    }
  }

  async #forget(sid, room, reason) {
    // Whoever the platform did not report leaving is gone with the session: unpin them.
    for (const [cid, data] of await this.#store.connections(sid)) {
      await this.#store.removeConnection(sid, cid, { room, participant: parseIdentityData(data)?.id });
    }
    const move = await this.#store.getMove(sid);
    if (reason !== 'serverRotation' && !move) {
      // Everyone left; the platform lets clients reconnect to the same session later.
      await this.#store.clearConnections(sid);
      return 'sessionIdle';
    }
    // Rotated away with no replacement: the next join opens a new session.
    await this.#store.forgetSession(sid, room);
    this.#log(`room ${room}: session ${short(sid)} destroyed (${reason ?? 'no reason'})`);
    return 'sessionForgotten';
  }

  #track(promise) {
    const p = promise.catch((err) => this.#log(`background task failed: ${describeError(err)}`));
    this.#pending.add(p);
    p.finally(() => this.#pending.delete(p));
  }
}

/** Session IDs are long; logs show enough to tell them apart. */
export function short(sessionId) {
  return sessionId.length > 16 ? `${sessionId.slice(0, 6)}…${sessionId.slice(-6)}` : sessionId;
}
