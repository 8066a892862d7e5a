// The test's pass-through proxy between the app server and the sandbox: the app server's REST
// calls and the sandbox's session-monitoring callbacks go through it unchanged unless a test
// sets a hook (how a test learns a replacement session's ID the moment it exists, holds a
// signal back, or strips the token from a handoff signal, without changing the app server).
import http from 'node:http';

const SIGNAL_PATH = /^\/v2\/project\/[^/]+\/session\/([^/]+)(?:\/connection\/([^/]+))?\/signal$/;

/**
 * Forwards `/callbacks` to the app server and everything else to the sandbox. Hooks (all
 * optional, reset with `clearHooks()`):
 * - `onSessionCreated(sessionId)`: awaited before the app server sees the new session's ID;
 * - `onSignal({sessionId, connectionId, type, data})`: awaited before the signal is forwarded;
 *   may return `{ data }` to forward other data (the test's own tampering, e.g. no token);
 * - `onCallback(body)`: awaited before the callback reaches the app server.
 * `log` records every request: `{at, method, path, status, sessionId?, connectionId?, type?, data?}`.
 */
export class Proxy {
  sandboxUrl = null;
  appUrl = null;
  log = [];
  hooks = {};
  server;

  async start() {
    this.server = http.createServer((req, res) => {
      this.#handle(req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 502, message: `e2e proxy: ${err.message}` }));
      });
    });
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
  }

  clearHooks() {
    this.hooks = {};
  }

  async #handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    let body = Buffer.concat(chunks);
    const url = new URL(req.url, 'http://proxy.invalid');
    const entry = { at: Date.now(), method: req.method, path: url.pathname };
    this.log.push(entry);
    let target = this.sandboxUrl;
    if (url.pathname === '/callbacks') {
      target = this.appUrl;
      try {
        entry.callback = JSON.parse(body.toString('utf8'));
      } catch {
        // forwarded as is; the app server answers 400
      }
      if (entry.callback && this.hooks.onCallback) await this.hooks.onCallback(entry.callback);
    }
    const signal = req.method === 'POST' ? SIGNAL_PATH.exec(url.pathname) : null;
    if (signal) {
      entry.sessionId = decodeURIComponent(signal[1]);
      entry.connectionId = signal[2] ? decodeURIComponent(signal[2]) : null;
      try {
        const parsed = JSON.parse(body.toString('utf8'));
        entry.type = parsed.type;
        entry.data = parsed.data;
        if (this.hooks.onSignal) {
          const change = await this.hooks.onSignal({ ...entry });
          if (change && typeof change.data === 'string') {
            entry.forwardedData = change.data;
            body = Buffer.from(JSON.stringify({ ...parsed, data: change.data }));
          }
        }
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
      }
    }
    if (!target) throw new Error(`no upstream for ${url.pathname} yet`);
    const headers = { ...req.headers, host: new URL(target).host, 'content-length': String(body.length) };
    const upstream = await new Promise((resolve, reject) => {
      const r = http.request(target + req.url, { method: req.method, headers }, resolve);
      r.on('error', reject);
      r.end(body);
    });
    const answer = [];
    for await (const c of upstream) answer.push(c);
    const out = Buffer.concat(answer);
    entry.status = upstream.statusCode;
    if (req.method === 'POST' && url.pathname === '/session/create' && upstream.statusCode === 200) {
      try {
        const [{ session_id: sessionId }] = JSON.parse(out.toString('utf8'));
        entry.sessionId = sessionId;
        if (this.hooks.onSessionCreated) await this.hooks.onSessionCreated(sessionId);
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
      }
    }
    const h = { ...upstream.headers };
    delete h['transfer-encoding'];
    h['content-length'] = String(out.length);
    res.writeHead(upstream.statusCode, h);
    res.end(out);
  }

  close() {
    this.server?.closeAllConnections?.();
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
