// Chooses the store: Redis when `REDIS_URL` is set (several instances share their rooms),
// else this process's memory (one instance, the demo's default).
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';

export async function openStore(config, log = () => {}) {
  const ttlMs = config.roomTtlS * 1000;
  if (config.redisUrl) {
    return RedisStore.connect({ url: config.redisUrl, prefix: config.redisPrefix, ttlMs, log });
  }
  return new MemoryStore({ ttlMs });
}
