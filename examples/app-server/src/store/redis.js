// The shared store: Redis (or Valkey), for several app-server instances behind a load
// balancer. Same operations and answers as the memory store (store/memory.js). Decisions that
// must be made once across instances are single commands or scripts: a room's session
// (SET NX), a rotation's move (SET NX with a lease), each connection's signal (SADD), a
// callback delivery (SET NX on its jti), a participant's browser (script). Every key expires
// `ttlMs` after its last write.
import { createClient } from 'redis';

// KEYS[1] room key; ARGV: session ID, ttl ms. The room's session, set if it had none.
const OPEN_ROOM = `
local current = redis.call('GET', KEYS[1])
if not current then current = ARGV[1] end
redis.call('SET', KEYS[1], current, 'PX', ARGV[2])
return current`;

// KEYS: gone set, conns hash; ARGV: connection ID, data, ttl ms.
const ADD_CONNECTION = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 'gone' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 'added'`;

// KEYS: conns hash, gone set; ARGV: connection ID, ttl ms.
const REMOVE_CONNECTION = `
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;

// KEYS: move key, new session's key, room key; ARGV: move ID, to, room, old session, ttl ms.
const FINISH_MOVE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local move = cjson.decode(raw)
if move.id ~= ARGV[1] then return 0 end
move.to = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(move), 'PX', ARGV[5])
redis.call('SET', KEYS[2], cjson.encode({room = ARGV[3]}), 'PX', ARGV[5])
local current = redis.call('GET', KEYS[3])
if (not current) or current == ARGV[4] then
  redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[5])
end
return 1`;

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

// KEYS: participant key; ARGV: browser, name, ttl ms.
const BIND_PARTICIPANT = `
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw).browser ~= ARGV[1] then return 'taken' end
redis.call('SET', KEYS[1], cjson.encode({browser = ARGV[1], name = ARGV[2]}), 'PX', ARGV[3])
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

  async addSession(sessionId, room) {
    await this.#client.set(this.#k('session', sessionId), JSON.stringify({ room }), { PX: Number(this.#ttl) });
  }

  async sessionInfo(sessionId) {
    return parse(await this.#client.get(this.#k('session', sessionId)));
  }

  async openRoom(room, sessionId) {
    return this.#eval(OPEN_ROOM, [this.#k('room', room)], [sessionId, this.#ttl]);
  }

  // ---- connections ----

  async addConnection(sessionId, connectionId, data) {
    return this.#eval(ADD_CONNECTION, [this.#k('gone', sessionId), this.#k('conns', sessionId)], [connectionId, data, this.#ttl]);
  }

  async removeConnection(sessionId, connectionId) {
    await this.#eval(REMOVE_CONNECTION, [this.#k('conns', sessionId), this.#k('gone', sessionId)], [connectionId, this.#ttl]);
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
      [this.#k('move', sessionId), this.#k('session', to), this.#k('room', room)],
      [moveId, to, room, sessionId, this.#ttl],
    );
    return done === 1;
  }

  async abandonMove(sessionId, moveId) {
    await this.#eval(ABANDON_MOVE, [this.#k('move', sessionId)], [moveId]);
  }

  async claimSignal(sessionId, connectionId) {
    const key = this.#k('signaled', sessionId);
    const [added] = await this.#client.multi().sAdd(key, connectionId).pExpire(key, Number(this.#ttl)).exec();
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
    return (await this.#client.set(this.#k('jti', jti), '1', { NX: true, PX: ttlMs })) === 'OK';
  }

  async bindParticipant(id, browser, name) {
    return this.#eval(BIND_PARTICIPANT, [this.#k('participant', id)], [browser, name, this.#ttl]);
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
