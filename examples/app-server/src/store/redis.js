// The shared store: Redis (or Valkey), for several app-server instances behind a load
// balancer. Same operations and answers as the memory store (store/memory.js). Decisions that
// must be made once across instances are single commands or scripts: a room's session
// (SET NX), a rotation's move (SET NX with a lease), each connection's signal (SADD), a
// callback delivery (SET NX on its jti), a participant's browser (script). Every key expires
// `ttlMs` after its last write or use, except while a live connection pins it (see KEEP).
import { createClient } from 'redis';

// Records in use never expire: a room, a session (with its move and signalled set) and a
// participant ID are pinned (no TTL) while a connection of theirs is live, and get `ttl` again
// when the last one leaves. `live:room:<room>` and `live:participant:<id>` hold the live
// connections (`<sid> <cid>`) that pin them; a session is pinned while its `conns` hash exists.
// KEEP: an existing key pinned, or expiring `ttl` from now.
const KEEP = `
local function keep(key, pinned, ttl)
  if redis.call('EXISTS', key) == 0 then return end
  if pinned then redis.call('PERSIST', key) else redis.call('PEXPIRE', key, ttl) end
end
local function finished(key)
  local raw = redis.call('GET', key)
  return raw and cjson.decode(raw).to ~= nil
end
`;

// KEYS[1] room key, KEYS[2] live:room; ARGV: session ID, ttl ms. The room's session, set if it had none.
const OPEN_ROOM = `${KEEP}
local current = redis.call('GET', KEYS[1])
if not current then
  current = ARGV[1]
  redis.call('SET', KEYS[1], current, 'PX', ARGV[2])
end
keep(KEYS[1], redis.call('SCARD', KEYS[2]) > 0, ARGV[2])
return current`;

// KEYS: gone, conns, session, move, signaled, room, live:room, participant, live:participant;
// ARGV: connection ID, data, ttl ms, live member, '1' when the connection has a participant ID.
const ADD_CONNECTION = `${KEEP}
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 'gone' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PERSIST', KEYS[2])
keep(KEYS[3], true, ARGV[3])
if finished(KEYS[4]) then keep(KEYS[4], true, ARGV[3]) end
keep(KEYS[5], true, ARGV[3])
redis.call('SADD', KEYS[7], ARGV[4])
keep(KEYS[6], true, ARGV[3])
if ARGV[5] == '1' then
  redis.call('SADD', KEYS[9], ARGV[4])
  keep(KEYS[8], true, ARGV[3])
end
return 'added'`;

// Same KEYS; ARGV: connection ID, ttl ms, live member, '1' when the connection has a participant ID.
const REMOVE_CONNECTION = `${KEEP}
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 0 then
  keep(KEYS[3], false, ARGV[2])
  if finished(KEYS[4]) then keep(KEYS[4], false, ARGV[2]) end
  keep(KEYS[5], false, ARGV[2])
end
redis.call('SREM', KEYS[7], ARGV[3])
if redis.call('SCARD', KEYS[7]) == 0 then keep(KEYS[6], false, ARGV[2]) end
if ARGV[4] == '1' then
  redis.call('SREM', KEYS[9], ARGV[3])
  if redis.call('SCARD', KEYS[9]) == 0 then keep(KEYS[8], false, ARGV[2]) end
end
return 1`;

// KEYS: room, session, participant (any may be a placeholder that does not exist); ARGV: ttl ms.
// Refreshes records that expire (pinned ones stay pinned).
const TOUCH = `
for i = 1, #KEYS do
  if redis.call('PTTL', KEYS[i]) > 0 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
end
return 1`;

// KEYS: move key, new session's key, room key, old session's conns, new session's conns, live:room;
// ARGV: move ID, to, room, old session, ttl ms.
const FINISH_MOVE = `${KEEP}
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local move = cjson.decode(raw)
if move.id ~= ARGV[1] then return 0 end
move.to = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(move), 'PX', ARGV[5])
keep(KEYS[1], redis.call('EXISTS', KEYS[4]) == 1, ARGV[5])
redis.call('SET', KEYS[2], cjson.encode({room = ARGV[3]}), 'PX', ARGV[5])
keep(KEYS[2], redis.call('EXISTS', KEYS[5]) == 1, ARGV[5])
local current = redis.call('GET', KEYS[3])
if (not current) or current == ARGV[4] then
  redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[5])
end
keep(KEYS[3], redis.call('SCARD', KEYS[6]) > 0, ARGV[5])
return 1`;

// KEYS: signaled set, conns hash; ARGV: connection ID, ttl ms.
const CLAIM_SIGNAL = `${KEEP}
local added = redis.call('SADD', KEYS[1], ARGV[1])
keep(KEYS[1], redis.call('EXISTS', KEYS[2]) == 1, ARGV[2])
return added`;

// KEYS: move key; ARGV: move ID.
const ABANDON_MOVE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local move = cjson.decode(raw)
if move.id == ARGV[1] and not move.to then redis.call('DEL', KEYS[1]) return 1 end
return 0`;

// KEYS: room key, then the session's keys; ARGV: session ID.
const FORGET_SESSION = `
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

// KEYS: participant key, live:participant; ARGV: browser, name, ttl ms, room. An ID held by
// another browser, or by a live connection whose binding is unknown, is taken.
const BIND_PARTICIPANT = `${KEEP}
local raw = redis.call('GET', KEYS[1])
local live = redis.call('SCARD', KEYS[2]) > 0
if raw and cjson.decode(raw).browser ~= ARGV[1] then return 'taken' end
if (not raw) and live then return 'taken' end
redis.call('SET', KEYS[1], cjson.encode({browser = ARGV[1], name = ARGV[2], room = ARGV[4]}), 'PX', ARGV[3])
keep(KEYS[1], live, ARGV[3])
return 'ok'`;

export class RedisStore {
  kind = 'redis';
  #client;
  #prefix;
  #ttl;

  /** Connects; rejects with a clear error when Redis cannot be reached in `connectTimeoutMs`. */
  static async connect({ url, prefix = 'video-handoff:', ttlMs, log = () => {}, connectTimeoutMs = 5000 }) {
    const client = createClient({
      url,
      socket: {
        connectTimeout: connectTimeoutMs,
        // Reconnect with backoff while running; a command issued meanwhile waits in the queue.
        reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 3000),
      },
      // A command waits at most this long (e.g. Redis gone): the request gets a 5xx, and
      // the platform's retry of the callback tries again.
      commandOptions: { timeout: 5000 },
    });
    client.on('error', (err) => log(`redis: ${err.message}`));
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${connectTimeoutMs} ms`)), connectTimeoutMs);
    });
    try {
      await Promise.race([client.connect().then(() => client.ping()), timeout]);
    } catch (err) {
      client.destroy();
      throw new Error(`cannot use REDIS_URL (${redactUrl(url)}): ${err.message}`);
    } finally {
      clearTimeout(timer);
    }
    return new RedisStore(client, prefix, ttlMs);
  }

  constructor(client, prefix, ttlMs) {
    this.#client = client;
    this.#prefix = prefix;
    this.#ttl = String(ttlMs);
  }

  async close() {
    await this.#client.close();
  }

  // ---- rooms and sessions ----

  async currentSession(room) {
    return (await this.#client.get(this.#k('room', room))) ?? null;
  }

  async addSession(sessionId, room, rotation = 'handoff') {
    await this.#client.set(this.#k('session', sessionId), JSON.stringify({ room, rotation }), { PX: Number(this.#ttl) });
  }

  async sessionInfo(sessionId) {
    return parse(await this.#client.get(this.#k('session', sessionId)));
  }

  async openRoom(room, sessionId) {
    return this.#eval(OPEN_ROOM, [this.#k('room', room), this.#k('live:room', room)], [sessionId, this.#ttl]);
  }

  /** Refreshes the expiry of these records (those pinned by a live connection stay pinned). */
  async touch({ room, sessionId, participant }) {
    const keys = [
      room ? this.#k('room', room) : null,
      sessionId ? this.#k('session', sessionId) : null,
      participant ? this.#k('participant', participant) : null,
    ].filter(Boolean);
    if (keys.length > 0) {
      await this.#eval(TOUCH, keys, [this.#ttl]);
    }
  }

  // ---- connections ----

  async addConnection(sessionId, connectionId, data, { room, participant } = {}) {
    return this.#eval(ADD_CONNECTION, this.#connectionKeys(sessionId, room, participant), [
      connectionId,
      data,
      this.#ttl,
      `${sessionId} ${connectionId}`,
      participant ? '1' : '',
    ]);
  }

  async removeConnection(sessionId, connectionId, { room, participant } = {}) {
    await this.#eval(REMOVE_CONNECTION, this.#connectionKeys(sessionId, room, participant), [
      connectionId,
      this.#ttl,
      `${sessionId} ${connectionId}`,
      participant ? '1' : '',
    ]);
  }

  #connectionKeys(sessionId, room = '', participant = '') {
    return [
      this.#k('gone', sessionId),
      this.#k('conns', sessionId),
      this.#k('session', sessionId),
      this.#k('move', sessionId),
      this.#k('signaled', sessionId),
      this.#k('room', room),
      this.#k('live:room', room),
      this.#k('participant', participant),
      this.#k('live:participant', participant),
    ];
  }

  async connections(sessionId) {
    return new Map(Object.entries(await this.#client.hGetAll(this.#k('conns', sessionId))));
  }

  async clearConnections(sessionId) {
    await this.#client.del(this.#k('conns', sessionId));
  }

  // ---- moves ----

  async claimMove(sessionId, move, leaseMs) {
    const ok = await this.#client.set(this.#k('move', sessionId), JSON.stringify(move), { NX: true, PX: leaseMs });
    return ok === 'OK';
  }

  async getMove(sessionId) {
    return parse(await this.#client.get(this.#k('move', sessionId)));
  }

  async finishMove(sessionId, moveId, to, room) {
    const done = await this.#eval(
      FINISH_MOVE,
      [
        this.#k('move', sessionId),
        this.#k('session', to),
        this.#k('room', room),
        this.#k('conns', sessionId),
        this.#k('conns', to),
        this.#k('live:room', room),
      ],
      [moveId, to, room, sessionId, this.#ttl],
    );
    return done === 1;
  }

  async abandonMove(sessionId, moveId) {
    await this.#eval(ABANDON_MOVE, [this.#k('move', sessionId)], [moveId]);
  }

  async claimSignal(sessionId, connectionId) {
    const added = await this.#eval(CLAIM_SIGNAL, [this.#k('signaled', sessionId), this.#k('conns', sessionId)], [connectionId, this.#ttl]);
    return added === 1;
  }

  async releaseSignal(sessionId, connectionId) {
    await this.#client.sRem(this.#k('signaled', sessionId), connectionId);
  }

  async forgetSession(sessionId, room) {
    const keys = ['session', 'conns', 'gone', 'move', 'signaled'].map((k) => this.#k(k, sessionId));
    await this.#eval(FORGET_SESSION, [this.#k('room', room), ...keys], [sessionId]);
  }

  // ---- deliveries and participants ----

  async claimDelivery(jti, ttlMs) {
    return (await this.#client.set(this.#k('jti', jti), '1', { NX: true, PX: Math.max(1, Math.ceil(ttlMs)) })) === 'OK';
  }

  /** Forgets a claimed delivery that was not handled (a 5xx), so the platform's retry is applied. */
  async releaseDelivery(jti) {
    await this.#client.del(this.#k('jti', jti));
  }

  async bindParticipant(id, browser, name, room = '') {
    return this.#eval(BIND_PARTICIPANT, [this.#k('participant', id), this.#k('live:participant', id)], [browser, name, this.#ttl, room]);
  }

  async participant(id) {
    return parse(await this.#client.get(this.#k('participant', id)));
  }

  // ---- internals ----

  #k(kind, id) {
    return `${this.#prefix}${kind}:${id}`;
  }

  #eval(script, keys, args) {
    return this.#client.eval(script, { keys, arguments: args });
  }
}

function parse(text) {
  return text === null || text === undefined ? null : JSON.parse(text);
}

/** The URL without its password (it may be in `redis://user:pass@host`). */
export function redactUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}
