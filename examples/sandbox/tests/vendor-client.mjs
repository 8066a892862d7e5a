// A minimal client of the vendor protocol for Node tests and load scripts (connections that
// need no media): it does what the real @vonage/client-sdk-video does on the wire to connect
// (session info, then Rumor CONNECT, SUBSCRIBE and `create connection`), sends and receives
// signals, and leaves. Browser tests use the real client; this stands in only where a test
// needs many connections or no browser. `conformance.test.mjs` holds it to the real client:
// both in one session, each sees the other's connection, data and signals alike.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

const SYMPHONY = 'symphony.sandbox.invalid';
const MESSAGING_PATH = '/messaging.sandbox.invalid/rumor';
const T = { SUBSCRIBE: 0, MESSAGE: 2, CONNECT: 3, DISCONNECT: 4, PING: 7, PONG: 8, STATUS: 9 };

/** Encodes a Rumor frame (the client's `RumorMessage.serialize`). */
export function encodeFrame({ type, addresses = [], headers = {}, payload = '' }) {
  const parts = [];
  const str = (s) => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    parts.push(len, b);
  };
  parts.push(Buffer.from([0, 0, 0, 0, 0, 0, type, addresses.length]));
  for (const a of addresses) str(a);
  const entries = Object.entries(headers);
  parts.push(Buffer.from([entries.length]));
  for (const [k, v] of entries) {
    str(k);
    str(String(v));
  }
  parts.push(Buffer.from(payload, 'utf8'));
  const frame = Buffer.concat(parts);
  frame.writeUInt32BE(frame.length - 4, 0);
  return frame;
}

/** Decodes a Rumor frame (the client's `RumorMessage.deserialize`). */
export function decodeFrame(buf) {
  let at = 8;
  const str = () => {
    const len = buf.readUInt16BE(at);
    const s = buf.toString('utf8', at + 2, at + 2 + len);
    at += 2 + len;
    return s;
  };
  const type = buf[6];
  const addresses = [];
  for (let i = 0; i < buf[7]; i++) addresses.push(str());
  const headers = {};
  const count = buf[at++];
  for (let i = 0; i < count; i++) {
    const k = str();
    headers[k] = str();
  }
  return { type, addresses, headers, payload: buf.toString('utf8', at) };
}

/** An Error with the vendor's numeric `code` (1004, 1005, 1006, 2001, or a Raptor status). */
function vendorError(code, message) {
  return Object.assign(new Error(`${message} (${code})`), { code });
}

/**
 * Connects one client. Resolves to a `VendorClient` once the session has accepted it; rejects
 * with an Error carrying the vendor's `code` as the real client would report it.
 */
export async function connectClient({ sandboxUrl, applicationId, sessionId, token, timeoutMs = 10000 }) {
  const connectionId = randomUUID();
  const info = await fetch(`${sandboxUrl}/anvil.opentok.com/session/${encodeURIComponent(sessionId)}?extended=true`, {
    headers: { 'X-OPENTOK-AUTH': token, 'X-TB-VERSION': '1', 'X-TB-CONNECTIONID': connectionId },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await info.json();
  if (!Array.isArray(body) || body.length === 0) throw vendorError(1006, 'connect failed');
  if (body[0].error) {
    const status = body[0].error.code;
    const code = { 403: 1004, 400: 1005, 404: 1005 }[status] ?? 2001;
    throw vendorError(code, body[0].error.errorMessage?.message ?? 'session info refused');
  }
  const client = new VendorClient({ sandboxUrl, applicationId, sessionId, connectionId });
  await client.open(token, timeoutMs);
  return client;
}

export class VendorClient extends EventEmitter {
  /** Every signal received, in order: `{ type, data, from }` (`from` null: the server). */
  signals = [];
  /** This connection's token data and permissions (from its own `connection created`). */
  data = null;
  permissions = null;
  /** Set once the session has let this client go: `{ reason }`. */
  disconnected = null;
  #ws;
  #pending = new Map();
  #base;

  constructor({ sandboxUrl, applicationId, sessionId, connectionId }) {
    super();
    this.sandboxUrl = sandboxUrl;
    this.sessionId = sessionId;
    this.connectionId = connectionId;
    this.#base = `/v2/partner/${applicationId}/session/${sessionId}`;
  }

  async open(token, timeoutMs) {
    const ws = new WebSocket(this.sandboxUrl.replace(/^http/, 'ws') + MESSAGING_PATH);
    this.#ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data) => this.#receive(decodeFrame(data)));
    ws.on('close', () => {
      for (const { reject } of this.#pending.values()) reject(vendorError(500, 'socket closed'));
      this.#pending.clear();
      this.disconnected ??= { reason: 'networkDisconnected' };
      this.emit('close');
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    // The own `connection created` follows the STATUS; like the real client, connect
    // completes only with it (it carries this connection's data and permissions).
    const own = new Promise((resolve) => this.once('ownConnection', resolve));
    this.#send(T.CONNECT, [], { uniqueId: this.connectionId, 'TRANSACTION-ID': randomUUID(), notifyDisconnectAddress: SYMPHONY });
    this.#send(T.SUBSCRIBE, [this.#base]);
    const status = await this.request('create', `/connection/${this.connectionId}`, { capabilities: [] }, { 'X-TB-TOKEN-AUTH': token }, timeoutMs);
    this.snapshot = status ? JSON.parse(status) : null;
    const self = await Promise.race([own, new Promise((r) => setTimeout(r, timeoutMs, null))]);
    if (!self) throw vendorError(408, 'no connection created message for this connection');
    this.data = self.data;
    this.permissions = self.permissions;
  }

  /** Sends a Raptor request; resolves to the STATUS body, rejects with its error status. */
  request(method, path, content = {}, extraHeaders = {}, timeoutMs = 10000) {
    const tx = randomUUID();
    const payload = JSON.stringify({ method, uri: this.#base + path, content });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(tx);
        reject(vendorError(408, `no answer to ${method} ${path}`));
      }, timeoutMs);
      this.#pending.set(tx, {
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.#send(T.MESSAGE, [SYMPHONY], {
        ...extraHeaders,
        'Content-Type': 'application/x-raptor+v2',
        'TRANSACTION-ID': tx,
        'X-TB-FROM-ADDRESS': this.connectionId,
      }, payload);
    });
  }

  /** A signal to the session (`to` absent) or one connection. */
  signal({ to, type, data }) {
    const path = `${to ? `/connection/${to}` : ''}/signal/${randomUUID()}`;
    return this.request('signal', path, { type, data });
  }

  /** Leaves as the real client does (Rumor DISCONNECT, then close). */
  disconnect() {
    if (this.#ws.readyState !== WebSocket.OPEN) return Promise.resolve();
    this.#send(T.DISCONNECT, [], {});
    const closed = new Promise((r) => this.#ws.once('close', r));
    this.#ws.close(1000);
    return closed;
  }

  /** Drops the socket without a goodbye (what a crash or a lost network looks like). */
  terminate() {
    this.#ws.terminate();
  }

  #send(type, addresses, headers = {}, payload = '') {
    this.#ws.send(encodeFrame({ type, addresses, headers, payload }));
  }

  #receive(frame) {
    if (frame.type === T.STATUS) {
      const p = this.#pending.get(frame.headers['TRANSACTION-ID']);
      if (!p) return;
      this.#pending.delete(frame.headers['TRANSACTION-ID']);
      const status = Number(frame.headers.STATUS);
      if (status >= 200 && status < 300) p.resolve(frame.payload);
      else p.reject(vendorError(status, safeReason(frame.payload)));
      return;
    }
    if (frame.type !== T.MESSAGE) return;
    let m;
    try {
      m = JSON.parse(frame.payload);
    } catch {
      return;
    }
    const from = frame.headers['X-TB-FROM-ADDRESS'];
    const path = m.uri.slice(this.#base.length);
    if (m.method === 'signal') {
      const s = { type: m.content?.type ?? '', data: m.content?.data ?? '', from: from === '' ? null : from };
      this.signals.push(s);
      this.emit('signal', s);
    } else if (m.method === 'created' && path === `/connection/${this.connectionId}`) {
      this.emit('ownConnection', m.content);
    } else if (m.method === 'deleted' && path === `/connection/${this.connectionId}`) {
      this.disconnected = { reason: m.reason };
      this.emit('sessionDisconnected', this.disconnected);
    } else {
      this.emit('message', { method: m.method, path, content: m.content, reason: m.reason, from });
    }
  }
}

function safeReason(payload) {
  try {
    return JSON.parse(payload).reason ?? 'refused';
  } catch {
    return 'refused';
  }
}
