// The embedded store: one process's memory, the same operations and answers as the Redis
// store (store/redis.js), so the rooms logic cannot tell them apart. Each operation is atomic
// because it runs to completion on the event loop. Records expire `ttlMs` after their last
// write or use, except while a live connection pins them (as in the Redis store: a room, a
// session with its finished move and signalled set, and a participant ID never expire while a
// connection of theirs is live); expired ones read as absent and are swept once a minute.

export class MemoryStore {
  kind = 'memory';
  #ttlMs;
  #now;
  /** key -> { value, expiresAt } */
  #map = new Map();
  #sweeper;

  constructor({ ttlMs, now = Date.now }) {
    this.#ttlMs = ttlMs;
    this.#now = now;
    this.#sweeper = setInterval(() => this.#sweep(), 60_000);
    this.#sweeper.unref();
  }

  async close() {
    clearInterval(this.#sweeper);
  }

  // ---- rooms and sessions ----

  async currentSession(room) {
    return this.#get(`room:${room}`) ?? null;
  }

  /** `rotation`: how the room's sessions rotate, `handoff` (moved by us) or `migrate` (by the clients). */
  async addSession(sessionId, room, rotation = 'handoff') {
    this.#set(`session:${sessionId}`, { room, rotation });
  }

  async sessionInfo(sessionId) {
    return this.#get(`session:${sessionId}`) ?? null;
  }

  /** Makes `sessionId` the room's session unless it has one; answers the room's session. */
  async openRoom(room, sessionId) {
    const current = this.#get(`room:${room}`);
    this.#set(`room:${room}`, current ?? sessionId);
    this.#keep(`room:${room}`, this.#live(`live:room:${room}`));
    return current ?? sessionId;
  }

  /** Refreshes the expiry of these records (those pinned by a live connection stay pinned). */
  async touch({ room, sessionId, participant }) {
    for (const key of [room && `room:${room}`, sessionId && `session:${sessionId}`, participant && `participant:${participant}`]) {
      const e = key && this.#entry(key);
      if (e && e.expiresAt !== Infinity) {
        e.expiresAt = this.#now() + this.#ttlMs;
      }
    }
  }

  // ---- connections ----

  /** `'added'`, or `'gone'` when that connection was already reported destroyed. */
  async addConnection(sessionId, connectionId, data, { room = '', participant } = {}) {
    if (this.#get(`gone:${sessionId}`)?.has(connectionId)) {
      return 'gone';
    }
    this.#pinned(`conns:${sessionId}`, () => new Map()).set(connectionId, data);
    this.#pinSession(sessionId, true);
    const member = `${sessionId} ${connectionId}`;
    this.#pinned(`live:room:${room}`, () => new Set()).add(member);
    this.#keep(`room:${room}`, true);
    if (participant) {
      this.#pinned(`live:participant:${participant}`, () => new Set()).add(member);
      this.#keep(`participant:${participant}`, true);
    }
    return 'added';
  }

  async removeConnection(sessionId, connectionId, { room = '', participant } = {}) {
    const conns = this.#get(`conns:${sessionId}`);
    conns?.delete(connectionId);
    if (conns?.size === 0) {
      this.#map.delete(`conns:${sessionId}`);
    }
    this.#update(`gone:${sessionId}`, () => new Set()).add(connectionId);
    if (!this.#live(`conns:${sessionId}`)) {
      this.#pinSession(sessionId, false);
    }
    const member = `${sessionId} ${connectionId}`;
    this.#unlive(`live:room:${room}`, member, `room:${room}`);
    if (participant) {
      this.#unlive(`live:participant:${participant}`, member, `participant:${participant}`);
    }
  }

  /** Map connection ID -> token data. */
  async connections(sessionId) {
    return new Map(this.#get(`conns:${sessionId}`) ?? []);
  }

  async clearConnections(sessionId) {
    this.#map.delete(`conns:${sessionId}`);
    this.#pinSession(sessionId, false);
  }

  // ---- moves ----

  /** Claims the move of `sessionId` for `leaseMs`; true for the one caller that wins. */
  async claimMove(sessionId, move, leaseMs) {
    if (this.#get(`move:${sessionId}`)) {
      return false;
    }
    this.#set(`move:${sessionId}`, { ...move }, leaseMs);
    return true;
  }

  async getMove(sessionId) {
    const move = this.#get(`move:${sessionId}`);
    return move ? { ...move } : null;
  }

  /**
   * Records where the move goes: the move gets `to`, `to` becomes a session of the room, and
   * the room's current session (if still `sessionId`, or none). False if the claim was lost.
   */
  async finishMove(sessionId, moveId, to, room) {
    const move = this.#get(`move:${sessionId}`);
    if (!move || move.id !== moveId) {
      return false;
    }
    this.#set(`move:${sessionId}`, { ...move, to });
    this.#keep(`move:${sessionId}`, this.#live(`conns:${sessionId}`));
    this.#set(`session:${to}`, { room });
    this.#keep(`session:${to}`, this.#live(`conns:${to}`));
    const current = this.#get(`room:${room}`);
    if (current === undefined || current === sessionId) {
      this.#set(`room:${room}`, to);
    }
    this.#keep(`room:${room}`, this.#live(`live:room:${room}`));
    return true;
  }

  /** Drops a claim that produced no session, so a later notification can try again. */
  async abandonMove(sessionId, moveId) {
    const move = this.#get(`move:${sessionId}`);
    if (move && move.id === moveId && !move.to) {
      this.#map.delete(`move:${sessionId}`);
    }
  }

  /** True for the one caller that gets to signal this connection. */
  async claimSignal(sessionId, connectionId) {
    const set = this.#update(`signaled:${sessionId}`, () => new Set());
    if (set.has(connectionId)) {
      return false;
    }
    set.add(connectionId);
    this.#keep(`signaled:${sessionId}`, this.#live(`conns:${sessionId}`));
    return true;
  }

  async releaseSignal(sessionId, connectionId) {
    this.#get(`signaled:${sessionId}`)?.delete(connectionId);
  }

  /** Forgets a destroyed session; the room has no session if that was its current one. */
  async forgetSession(sessionId, room) {
    for (const k of ['session', 'conns', 'gone', 'move', 'signaled']) {
      this.#map.delete(`${k}:${sessionId}`);
    }
    if (this.#get(`room:${room}`) === sessionId) {
      this.#map.delete(`room:${room}`);
    }
  }

  // ---- deliveries and participants ----

  /** True the first time a signed callback's `jti` is seen within `ttlMs`. */
  async claimDelivery(jti, ttlMs) {
    if (this.#get(`jti:${jti}`)) {
      return false;
    }
    this.#set(`jti:${jti}`, true, Math.max(1, Math.ceil(ttlMs)));
    return true;
  }

  /** Forgets a claimed delivery that was not handled (a 5xx), so the platform's retry is applied. */
  async releaseDelivery(jti) {
    this.#map.delete(`jti:${jti}`);
  }

  /**
   * Binds a participant ID to a browser: `'ok'` (new, or already this browser's, name
   * refreshed) or `'taken'` (another browser's).
   */
  async bindParticipant(id, browser, name, room = '') {
    const held = this.#get(`participant:${id}`);
    const live = this.#live(`live:participant:${id}`);
    if ((held && held.browser !== browser) || (!held && live)) {
      return 'taken'; // another browser's, or a live connection's whose binding is unknown
    }
    this.#set(`participant:${id}`, { browser, name, room });
    this.#keep(`participant:${id}`, live);
    return 'ok';
  }

  async participant(id) {
    return this.#get(`participant:${id}`) ?? null;
  }

  // ---- internals ----

  /** A live entry, or undefined. */
  #entry(key) {
    return this.#get(key) === undefined ? undefined : this.#map.get(key);
  }

  /** An existing record pinned, or expiring `ttlMs` from now. */
  #keep(key, pinned) {
    const e = this.#entry(key);
    if (e) {
      e.expiresAt = pinned ? Infinity : this.#now() + this.#ttlMs;
    }
  }

  /** True when the set or map at `key` has members. */
  #live(key) {
    return (this.#get(key)?.size ?? 0) > 0;
  }

  #unlive(setKey, member, recordKey) {
    const set = this.#get(setKey);
    set?.delete(member);
    if (!set || set.size === 0) {
      this.#map.delete(setKey);
      this.#keep(recordKey, false);
    }
  }

  #pinSession(sessionId, pinned) {
    this.#keep(`session:${sessionId}`, pinned);
    if (this.#get(`move:${sessionId}`)?.to) {
      this.#keep(`move:${sessionId}`, pinned);
    }
    this.#keep(`signaled:${sessionId}`, pinned);
  }

  #get(key) {
    const e = this.#map.get(key);
    if (!e) {
      return undefined;
    }
    if (e.expiresAt <= this.#now()) {
      this.#map.delete(key);
      return undefined;
    }
    return e.value;
  }

  #set(key, value, ttlMs = this.#ttlMs) {
    this.#map.set(key, { value, expiresAt: this.#now() + ttlMs });
  }

  /** The live value at `key` (made by `init` when absent), with its expiry refreshed. */
  #update(key, init) {
    const value = this.#get(key) ?? init();
    this.#set(key, value);
    return value;
  }

  /** The value at `key` (made by `init` when absent), never expiring. */
  #pinned(key, init) {
    const value = this.#get(key) ?? init();
    this.#map.set(key, { value, expiresAt: Infinity });
    return value;
  }

  #sweep() {
    const now = this.#now();
    for (const [k, e] of this.#map) {
      if (e.expiresAt <= now) {
        this.#map.delete(k);
      }
    }
  }
}
