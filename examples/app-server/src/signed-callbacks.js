// Verifies a signed session-monitoring callback before anything acts on it: a JWT in
// `Authorization: Bearer`, HS256 with the application's signature secret, whose
// `payload_hash` is the SHA-256 of the exact body bytes received.
//
// The claims checked (our assumption of the platform's, written down in the sandbox README):
// `iat` (not in the future), `exp` (not past, and at most MAX_LIFETIME_S after `iat`: the
// platform's tokens live minutes), `iss` "Vonage" when present, `application_id` this
// application's when present, `payload_hash` (required), `jti` (required, a string: each
// delivery is applied once). A token without `exp` is taken to expire MAX_AGE_S after its
// `iat` (the answer's `claims.exp` says so). Clock skew: SKEW_S either way.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SKEW_S = 30;
export const MAX_AGE_S = 300;
/** The longest `exp - iat` accepted. */
export const MAX_LIFETIME_S = 600;
const MAX_JTI = 256;

/**
 * @param {object} p
 * @param {string|undefined} p.authorization  the request's Authorization header
 * @param {Buffer} p.rawBody                  the body exactly as received
 * @param {string} p.secret                   the application's signature secret
 * @param {string} p.applicationId
 * @param {number} [p.nowS]                   seconds since the epoch
 * @returns {{ ok: true, claims: object } | { ok: false, reason: string }}
 */
export function verifyCallback({ authorization, rawBody, secret, applicationId, nowS = Date.now() / 1000 }) {
  const m = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!m) {
    return fail(authorization ? 'Authorization is not a bearer JWT' : 'no Authorization header: the callback is not signed');
  }
  const [, h, p, s] = m;
  const header = decodeJson(h);
  if (!header || header.alg !== 'HS256') {
    return fail('the JWT is not HS256');
  }
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return fail('bad signature');
  }
  const claims = decodeJson(p);
  if (!claims || typeof claims !== 'object') {
    return fail('the JWT claims are not a JSON object');
  }
  if (!Number.isFinite(claims.iat)) {
    return fail('the JWT has no iat');
  }
  if (claims.iat > nowS + SKEW_S) {
    return fail('the JWT was issued in the future');
  }
  const exp = claims.exp === undefined ? claims.iat + MAX_AGE_S : claims.exp;
  if (!Number.isFinite(exp) || exp < nowS - SKEW_S) {
    return fail(claims.exp === undefined ? 'the JWT is too old' : 'the JWT has expired');
  }
  if (exp - claims.iat > MAX_LIFETIME_S) {
    return fail(`the JWT lives longer than ${MAX_LIFETIME_S} s (exp - iat)`);
  }
  if (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > MAX_JTI) {
    return fail('the JWT has no jti (a string)');
  }
  if (claims.iss !== undefined && claims.iss !== 'Vonage') {
    return fail('the JWT was not issued by Vonage');
  }
  if (claims.application_id !== undefined && claims.application_id !== applicationId) {
    return fail('the JWT is for another application');
  }
  const hash = createHash('sha256').update(rawBody).digest('hex');
  if (typeof claims.payload_hash !== 'string' || claims.payload_hash.toLowerCase() !== hash) {
    return fail('the body is not the one that was signed (payload_hash)');
  }
  return { ok: true, claims: { ...claims, exp } };
}

/** Signs a body the way the sandbox does (for tests and tools). */
export function signCallback({ rawBody, secret, applicationId, nowS = Math.floor(Date.now() / 1000), claims = {} }) {
  const header = base64Json({ alg: 'HS256', typ: 'JWT' });
  const payload = base64Json({
    iat: nowS,
    exp: nowS + MAX_AGE_S,
    jti: crypto.randomUUID(),
    iss: 'Vonage',
    application_id: applicationId,
    payload_hash: createHash('sha256').update(rawBody).digest('hex'),
    ...claims,
  });
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `Bearer ${header}.${payload}.${signature}`;
}

function base64Json(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeJson(part) {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

function fail(reason) {
  return { ok: false, reason };
}
