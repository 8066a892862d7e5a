// The one way the app server's tests and load script connect a client to the sandbox. Today it
// speaks the sandbox's own JSON protocol (examples/sandbox/PROTOCOL.md); when the sandbox
// speaks the vendor's client protocol, only this file changes (the lead's
// examples/sandbox/tests/vendor-client.mjs has the same shape).
import WebSocket from 'ws';

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects one client with `token` and records the signals it receives.
 * @param {{ sandboxUrl: string, applicationId: string, sessionId: string, token: string }} o
 * @returns {Promise<{ connectionId: string, signals: Array<{type: string, data: string, from: object|null}>,
 *   onSignal(fn: (signal: object) => void): void, close(): void }>}
 */
export async function connectClient({ sandboxUrl, applicationId, sessionId, token }) {
  void applicationId; // the vendor protocol needs it (the session-info URL); this one does not
  const ws = new WebSocket(`${sandboxUrl.replace(/^http/, 'ws')}/v2/ws`);
  const signals = [];
  const listeners = [];
  let settle;
  const connected = new Promise((resolve, reject) => {
    settle = { resolve, reject };
  });
  const timer = setTimeout(() => settle.reject(new Error(`no answer to connect within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  ws.on('open', () => ws.send(JSON.stringify({ t: 'connect', sessionId, token })));
  ws.on('error', (err) => settle.reject(err));
  ws.on('close', () => settle.reject(new Error('the socket closed before connecting')));
  ws.on('message', (raw) => {
    const f = JSON.parse(raw.toString());
    if (f.t === 'connected') {
      settle.resolve(f.connection.connectionId);
    } else if (f.t === 'error') {
      settle.reject(Object.assign(new Error(f.message), { name: f.name, code: f.code }));
    } else if (f.t === 'signal') {
      const signal = { type: f.type, data: f.data, from: f.from ?? null };
      signals.push(signal);
      for (const fn of listeners) fn(signal);
    }
  });
  let connectionId;
  try {
    connectionId = await connected;
  } catch (err) {
    ws.terminate();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    connectionId,
    signals,
    onSignal(fn) {
      listeners.push(fn);
    },
    close() {
      ws.terminate();
    },
  };
}
