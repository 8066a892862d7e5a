// The REST calls the app server makes, retried the way the platform asks: 429 and 5xx (and
// no answer at all) again after a delay, honouring `Retry-After`, else capped exponential
// backoff with full jitter; other 4xx at once to the caller (retrying changes nothing).
// Every call ends: after `maxAttempts`, or when the next try would start after `deadline`.

export const RETRY_DEFAULTS = { maxAttempts: 5, baseMs: 200, capMs: 5000, maxRetryAfterMs: 30_000 };

/**
 * Wraps an `@vonage/video` `Video` so that `createSession` and `sendSignal` are retried.
 * `calls` counts attempts by kind (what a load test reports as REST calls made).
 */
export function retryingVideo(video, { log = () => {}, sleep = defaultSleep, random = Math.random, now = Date.now, ...opts } = {}) {
  const policy = { ...RETRY_DEFAULTS, ...opts };
  const calls = { createSession: 0, sendSignal: 0, retries: 0 };
  async function attempt(kind, what, fn, deadline) {
    for (let n = 1; ; n++) {
      calls[kind]++;
      try {
        return await fn();
      } catch (err) {
        const delay = retryDelay(err, n, policy, random);
        const late = deadline !== undefined && deadline !== null && now() + delay >= deadline;
        if (delay === null || n >= policy.maxAttempts || late) {
          err.attempts = n;
          throw err;
        }
        calls.retries++;
        log(`${what}: ${describeError(err)}; retry ${n} in ${Math.round(delay)} ms`);
        await sleep(delay);
      }
    }
  }
  return {
    calls,
    generateClientToken: (...args) => video.generateClientToken(...args),
    createSession: (options = {}) => attempt('createSession', 'creating a session', () => video.createSession(options)),
    /** `deadline` (epoch ms, optional): no retry starts after it. */
    sendSignal: (signal, sessionId, connectionId, deadline) =>
      attempt('sendSignal', `signal to ${connectionId ?? 'the session'}`, () => video.sendSignal(signal, sessionId, connectionId), deadline),
  };
}

/** The delay before retry `n` (1-based), or `null` when the error is not worth retrying. */
export function retryDelay(err, n, policy = RETRY_DEFAULTS, random = Math.random) {
  const status = err?.response?.status;
  if (status !== undefined && status !== 429 && status < 500) {
    return null;
  }
  const after = retryAfterMs(err?.response?.headers?.get?.('retry-after'));
  if (after !== null) {
    return Math.min(after, policy.maxRetryAfterMs);
  }
  return random() * Math.min(policy.capMs, policy.baseMs * 2 ** (n - 1));
}

/** `Retry-After` as milliseconds: delta seconds or an HTTP date; `null` when absent or unusable. */
export function retryAfterMs(value, now = Date.now()) {
  if (typeof value !== 'string' || value.trim() === '') {
    return null;
  }
  if (/^\d+$/.test(value.trim())) {
    return Number(value.trim()) * 1000;
  }
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function describeError(err) {
  const status = err?.response?.status;
  return status ? `HTTP ${status}` : String(err?.message ?? err);
}

function defaultSleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
