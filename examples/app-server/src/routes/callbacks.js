// `POST /callbacks`: the session-monitoring callback URL. In this order, and nothing changes
// before the last step: the signature over the exact bytes (401), a replayed delivery (200,
// ignored), the JSON and its shape (400), then the rooms' state. A delivery's `jti` is claimed
// before it is handled and released again when handling fails with a 5xx.
import { HttpError } from '../http-error.js';
import { parseCallback } from '../callbacks.js';
import { verifyCallback, SKEW_S } from '../signed-callbacks.js';

export async function callbackRoutes(app, { config, rooms, store, log }) {
  app.post('/callbacks', { config: { rawBody: true } }, async (request, reply) => {
    const rawBody = request.rawBody ?? Buffer.alloc(0);
    const verified = verifyCallback({
      authorization: request.headers.authorization,
      rawBody,
      secret: config.signatureSecret,
      applicationId: config.applicationId,
    });
    if (!verified.ok) {
      log(`callback refused: ${verified.reason}`);
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError(401, 'badSignature', verified.reason);
    }
    const { jti, exp } = verified.claims;
    // Kept until the token can no longer be presented (its exp, plus the skew we allow).
    if (!(await store.claimDelivery(jti, (exp + SKEW_S) * 1000 - Date.now()))) {
      // The same signed delivery again (a replay, or a retry whose answer was lost).
      return { ok: true, outcome: 'replayedDelivery' };
    }
    try {
      return await handle(rawBody);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status >= 500) {
        // Not handled (e.g. the store failed): forget the jti so the platform's retry of
        // this very delivery is applied instead of being taken for a replay.
        await store.releaseDelivery(jti).catch((e) => log(`releasing a delivery failed: ${e?.message ?? e}`));
      }
      throw err;
    }
  });

  async function handle(rawBody) {
    let body;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw new HttpError(400, 'badJson', 'body is not valid JSON');
    }
    const parsed = parseCallback(body);
    if (!parsed.ok) {
      throw new HttpError(400, 'badCallback', parsed.reason);
    }
    // State changes now, REST calls in the background: the platform wants a fast 200.
    return { ok: true, outcome: await rooms.handle(parsed.event) };
  }
}
