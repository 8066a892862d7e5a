// Who a participant is, and how that travels in a token's `data`.
//
// Identity is issued by the server: each browser gets a signed, HttpOnly cookie naming a
// random browser ID, and a participant ID (one per tab) belongs to the first browser that
// joins with it (the binding lives in the store, shared by every instance). A page can pick
// a fresh ID, never one another browser holds, and tokens are minted only for IDs this
// browser holds, with the name recorded at join.
//
// The SDK's default participant key is the connection's `data`, so a participant's token data
// must be the same string in every session the call moves through: it is built once (by
// `identityData`) and copied verbatim into the tokens for later sessions.
import { randomUUID } from 'node:crypto';

export const BROWSER_COOKIE = 'vh_browser';
/** The browser cookie lives at least this long (and at least ROOM_TTL_S), renewed at each join. */
export const BROWSER_COOKIE_MIN_AGE_S = 30 * 86_400;
const BROWSER_ID = /^[0-9a-f-]{36}$/;

export const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const PARTICIPANT_ID = /^[A-Za-z0-9_-]{8,64}$/;
const MAX_NAME_CHARS = 64;
// C0/C1 controls, line/paragraph separators and bidi overrides: they make names lie on screen.
const FORBIDDEN_IN_NAME = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069\u200E\u200F]/u;

/** Returns `{ ok: true, value }` or `{ ok: false, reason }`. */
export function validateRoomName(room) {
  if (typeof room !== 'string' || !ROOM_NAME.test(room)) {
    return { ok: false, reason: 'room must be 1-64 characters of A-Z a-z 0-9 _ -' };
  }
  return { ok: true, value: room };
}

/** A display name: trimmed, NFC, 1-64 characters, no control or bidi-override characters. */
export function validateDisplayName(name) {
  if (typeof name !== 'string') {
    return { ok: false, reason: 'name must be a string' };
  }
  const value = name.normalize('NFC').trim();
  if (value.length === 0) {
    return { ok: false, reason: 'name is empty' };
  }
  if ([...value].length > MAX_NAME_CHARS) {
    return { ok: false, reason: `name is longer than ${MAX_NAME_CHARS} characters` };
  }
  if (FORBIDDEN_IN_NAME.test(value)) {
    return { ok: false, reason: 'name contains control characters' };
  }
  return { ok: true, value };
}

/** A participant ID chosen by the client (one per browser tab), or a fresh one. */
export function validateParticipantId(id) {
  if (id === undefined || id === null || id === '') {
    return { ok: true, value: randomUUID() };
  }
  if (typeof id !== 'string' || !PARTICIPANT_ID.test(id)) {
    return { ok: false, reason: 'id must be 8-64 characters of A-Z a-z 0-9 _ -' };
  }
  return { ok: true, value: id };
}

/** The token data for a participant: a JSON text with a fixed key order. */
export function identityData({ id, name }) {
  return JSON.stringify({ id, name });
}

/** Parses token data made by `identityData`; `null` for anything else. */
export function parseIdentityData(data) {
  if (typeof data !== 'string' || data.length > 1000) {
    return null;
  }
  let value;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object') {
    return null;
  }
  const id = validateParticipantId(value.id);
  const name = validateDisplayName(value.name);
  if (!id.ok || !name.ok || typeof value.id !== 'string' || !value.id) {
    return null;
  }
  return { id: id.value, name: name.value };
}

/**
 * This browser's ID from its signed cookie, or a new one; either way the cookie is (re)set on
 * `reply` (Fastify with @fastify/cookie), so it lives `maxAgeS` from this join. A cookie whose
 * signature fails is replaced, never trusted.
 */
export function browserOf(request, reply, maxAgeS) {
  const id = browserFromCookie(request) ?? randomUUID();
  reply.setCookie(BROWSER_COOKIE, id, {
    signed: true,
    httpOnly: true,
    sameSite: 'strict',
    secure: 'auto',
    path: '/api/',
    maxAge: maxAgeS,
  });
  return id;
}

/** The browser ID a request's valid signed cookie names, or `null`. */
export function browserFromCookie(request) {
  const raw = request.cookies?.[BROWSER_COOKIE];
  if (!raw) {
    return null;
  }
  const { valid, value } = request.unsignCookie(raw);
  return valid && BROWSER_ID.test(value) ? value : null;
}
