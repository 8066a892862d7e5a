// A stand-in for the Video REST API's few endpoints the app server calls, recording what it
// receives. It checks the bearer JWT's signature against the public key, like the platform.
import http from 'node:http';
import { createVerify, randomBytes } from 'node:crypto';

export async function startFakeVideoApi({ publicKey, applicationId }) {
  const api = {
    created: [],
    signals: [],
    failNextCreates: 0,
    url: null,
    close: null,
  };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    if (!authorized(req.headers.authorization, publicKey, applicationId)) {
      res.writeHead(401).end();
      return;
    }
    const url = new URL(req.url, 'http://x');
    if (req.method === 'POST' && url.pathname === '/session/create') {
      if (api.failNextCreates > 0) {
        api.failNextCreates--;
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"boom"}');
        return;
      }
      const sessionId = `2_fake${api.created.length}_${randomBytes(6).toString('hex')}`;
      api.created.push(sessionId);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ session_id: sessionId }]));
      return;
    }
    const m = /^\/v2\/project\/([^/]+)\/session\/([^/]+)(?:\/connection\/([^/]+))?\/signal$/.exec(url.pathname);
    if (req.method === 'POST' && m && m[1] === applicationId) {
      api.signals.push({ sessionId: m[2], connectionId: m[3] ?? null, ...JSON.parse(body) });
      res.writeHead(204).end();
      return;
    }
    res.writeHead(404).end();
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
