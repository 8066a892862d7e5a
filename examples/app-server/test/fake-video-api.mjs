// A stand-in for the Video REST API's few endpoints the app server calls, recording what it
// receives. It checks the bearer JWT's signature against the public key, like the platform,
// and can be told to answer the next calls with an error (429 with `Retry-After`, 5xx), as the
// platform does under load. The same calls against the real sandbox: sandbox.test.mjs.
import http from 'node:http';
import { createVerify, randomBytes } from 'node:crypto';

export async function startFakeVideoApi({ publicKey, applicationId }) {
  const api = {
    created: [],
    signals: [],
    /** Every request as `{ at, kind, status }`, refused ones included. */
    requests: [],
    failNextCreates: 0,
    /** Answers for the next signal calls: `{ status, retryAfter? }`, used up in order. */
    signalFailures: [],
    url: null,
    close: null,
    reset() {
      api.created.length = 0;
      api.signals.length = 0;
      api.requests.length = 0;
      api.failNextCreates = 0;
      api.signalFailures.length = 0;
    },
  };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    const answer = (kind, status, headers = {}, text = '') => {
      api.requests.push({ at: Date.now(), kind, status });
      res.writeHead(status, headers).end(text);
    };
    if (!authorized(req.headers.authorization, publicKey, applicationId)) {
      answer('unauthorized', 401);
      return;
    }
    const url = new URL(req.url, 'http://x');
    if (req.method === 'POST' && url.pathname === '/session/create') {
      if (api.failNextCreates > 0) {
        api.failNextCreates--;
        answer('createSession', 500, { 'content-type': 'application/json' }, '{"message":"boom"}');
        return;
      }
      const sessionId = `2_fake${api.created.length}_${randomBytes(6).toString('hex')}`;
      api.created.push(sessionId);
      answer('createSession', 200, { 'content-type': 'application/json' }, JSON.stringify([{ session_id: sessionId }]));
      return;
    }
    const m = /^\/v2\/project\/([^/]+)\/session\/([^/]+)(?:\/connection\/([^/]+))?\/signal$/.exec(url.pathname);
    if (req.method === 'POST' && m && m[1] === applicationId) {
      const failure = api.signalFailures.shift();
      if (failure) {
        const headers = { 'content-type': 'application/json' };
        if (failure.retryAfter !== undefined) headers['retry-after'] = String(failure.retryAfter);
        answer('sendSignal', failure.status, headers, '{"message":"try later"}');
        return;
      }
      api.signals.push({ at: Date.now(), sessionId: m[2], connectionId: m[3] ?? null, ...JSON.parse(body) });
      answer('sendSignal', 204);
      return;
    }
    answer('unknown', 404);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  api.url = `http://127.0.0.1:${server.address().port}`;
  api.close = () => new Promise((r) => server.close(r));
  return api;
}

/** The claims of a JWT (no verification: for reading the tokens the app server mints). */
export function jwtClaims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

function authorized(header, publicKey, applicationId) {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const [h, p, s] = m[1].split('.');
  const verify = createVerify('RSA-SHA256');
  verify.update(`${h}.${p}`);
  if (!verify.verify(publicKey, Buffer.from(s, 'base64url'))) return false;
  return jwtClaims(m[1]).application_id === applicationId;
}
