// Rooms and their sessions, and the server's half of a rotation: on `sessionNotification` it
// creates the replacement session once, makes it the room's current one, and sends every
// connection of the old session its own handoff signal (DESIGN.md, "Wire contract").
//
// `handle()` applies a callback's state change at once, in arrival order; the REST calls it
// starts run in the background and are tracked, so `idle()` can wait for them.
import { randomUUID } from 'node:crypto';
import { parseIdentityData } from './identity.js';

const MAX_ROOMS = 1000;
const TOKEN_TTL_S = 6 * 3600;

export class Rooms {
  #video;
  #log;
  #signalType;
  #now;
  /** room name -> { name, sessionId, opening } */
  #rooms = new Map();
  /** session ID -> { id, room, connections: Map<connectionId, data>, move } */
  #sessions = new Map();
  #pending = new Set();

  /**
   * @param {object} options
   * @param {{createSession: Function, generateClientToken: Function, sendSignal: Function}} options.video
   *   an `@vonage/video` `Video` (or anything with those three methods)
   * @param {(line: string) => void} [options.log]
   * @param {string} [options.signalType] the handoff signal's type (default `handoff`)
   */
  constructor({ video, log = () => {}, signalType = 'handoff', now = Date.now }) {
    this.#video = video;
    this.#log = log;
    this.#signalType = signalType;
    this.#now = now;
  }

  // ---- getters -------------------------------------------------------------------------

  /** The room's current session ID, or `null` (unknown room, or none yet). */
  currentSession(roomName) {
    return this.#rooms.get(roomName)?.sessionId ?? null;
  }

  /** What the server knows of a session: `{ room, current, movedTo }` or `null`. */
  describeSession(sessionId) {
    const s = this.#sessions.get(sessionId);
    if (!s) {
      return null;
    }
    return {
      room: s.room,
      current: this.#rooms.get(s.room)?.sessionId === sessionId,
      connections: s.connections.size,
      movedTo: s.move?.to ?? null,
    };
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

  /** The room's current session, created on first use (concurrent callers share one). */
  async openRoom(roomName) {
    let room = this.#rooms.get(roomName);
    if (!room) {
      if (this.#rooms.size >= MAX_ROOMS) {
        throw Object.assign(new Error('too many rooms'), { status: 503 });
      }
      room = { name: roomName, sessionId: null, opening: null };
      this.#rooms.set(roomName, room);
    }
    if (room.sessionId) {
      return room.sessionId;
    }
    room.opening ??= this.#createSession(room.name)
      .then((sessionId) => {
        room.sessionId ??= sessionId;
        this.#log(`room ${room.name}: session ${short(sessionId)} created`);
        return room.sessionId;
      })
      .finally(() => {
        room.opening = null;
      });
    return room.opening;
  }

  /** Applies one validated callback event (see `parseCallback`). Returns what it did. */
  handle(event) {
    const s = this.#sessions.get(event.sessionId);
    if (!s) {
      return 'unknownSession';
    }
    switch (event.type) {
      case 'connectionCreated':
        s.connections.set(event.connection.id, event.connection.data);
        if (s.move?.to) {
          // Connected to the old session after the move was announced: it gets the signal too.
          this.#track(this.#sendHandoff(s, event.connection.id));
          return 'lateConnectionSignaled';
        }
        return 'connectionAdded';
      case 'connectionDestroyed':
        s.connections.delete(event.connection.id);
        return 'connectionRemoved';
      case 'sessionNotification':
        if (event.reason !== 'serverRotation') {
          return 'ignored';
        }
        if (s.move) {
          return 'duplicate';
        }
        this.#startMove(s, event);
        return 'moveStarted';
      case 'sessionDestroyed':
        return this.#forget(s, event.reason);
      default:
        return 'ignored';
    }
  }

  // ---- internals -----------------------------------------------------------------------

  async #createSession(roomName) {
    const { sessionId } = await this.#video.createSession({});
    if (typeof sessionId !== 'string' || !sessionId) {
      throw new Error('the video API returned no session ID');
    }
    this.#sessions.set(sessionId, { id: sessionId, room: roomName, connections: new Map(), move: null });
    return sessionId;
  }

  #startMove(s, event) {
    const move = {
      id: randomUUID(),
      to: null,
      deadline: event.remainingMs === null ? null : event.timestamp + event.remainingMs,
      signaled: new Set(),
    };
    s.move = move;
    this.#log(`room ${s.room}: rotation of ${short(s.id)} announced (move ${move.id})`);
    this.#track(
      (async () => {
        try {
          move.to = await this.#createSession(s.room);
        } catch (err) {
          // Let a later notification (the platform sends more than one) try again.
          if (s.move === move) {
            s.move = null;
          }
          this.#log(`room ${s.room}: creating the replacement of ${short(s.id)} failed: ${describe(err)}`);
          return;
        }
        const room = this.#rooms.get(s.room);
        if (room && (room.sessionId === s.id || room.sessionId === null)) {
          room.sessionId = move.to;
        }
        this.#log(`room ${s.room}: ${short(s.id)} -> ${short(move.to)}, signaling ${s.connections.size} connection(s)`);
        await Promise.all([...s.connections.keys()].map((cid) => this.#sendHandoff(s, cid)));
      })(),
    );
  }

  async #sendHandoff(s, connectionId) {
    const move = s.move;
    if (!move?.to || move.signaled.has(connectionId)) {
      return;
    }
    move.signaled.add(connectionId);
    const data = s.connections.get(connectionId) ?? '';
    if (!parseIdentityData(data)) {
      // Not one of our tokens: we cannot say who it is, so we cannot mint its new token.
      this.#log(`room ${s.room}: connection ${connectionId} has no identity; not signaled`);
      return;
    }
    const payload = { v: 1, sessionId: move.to, token: this.token(move.to, data), reason: 'serverRotation' };
    if (move.deadline !== null) {
      payload.deadline = move.deadline;
    }
    payload.id = move.id;
    const signal = { type: this.#signalType, data: JSON.stringify(payload) };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#video.sendSignal(signal, s.id, connectionId);
        this.#log(`room ${s.room}: handoff signal sent to ${connectionId}`);
        return;
      } catch (err) {
        const status = err?.response?.status;
        // 4xx: the connection is gone or the request is wrong; retrying changes nothing.
        if (attempt >= 3 || (status >= 400 && status < 500)) {
          this.#log(`room ${s.room}: handoff signal to ${connectionId} failed: ${describe(err)}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  #forget(s, reason) {
    const room = this.#rooms.get(s.room);
    if (reason !== 'serverRotation' && !s.move) {
      // Everyone left; the platform lets clients reconnect to the same session later.
      s.connections.clear();
      return 'sessionIdle';
    }
    this.#sessions.delete(s.id);
    if (room && room.sessionId === s.id) {
      room.sessionId = null; // rotated away with no replacement: the next join opens a new one
    }
    this.#log(`room ${s.room}: session ${short(s.id)} destroyed (${reason ?? 'no reason'})`);
    return 'sessionForgotten';
  }

  #track(promise) {
    const p = promise.catch((err) => this.#log(`background task failed: ${describe(err)}`));
    this.#pending.add(p);
    p.finally(() => this.#pending.delete(p));
  }
}

/** Session IDs are long; logs show enough to tell them apart. */
export function short(sessionId) {
  return sessionId.length > 16 ? `${sessionId.slice(0, 6)}…${sessionId.slice(-6)}` : sessionId;
}

function describe(err) {
  const status = err?.response?.status;
  return status ? `HTTP ${status}` : String(err?.message ?? err);
}
