// Starts the app server in-process against a given video host, with a fresh key pair.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { Video } from '@vonage/video';
import { createAppServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';

export function devKeys() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

export async function startApp({ videoHost, privateKey, applicationId = randomUUID(), env = {}, staticRoots, port = 0 }) {
  const config = loadConfig({
    VONAGE_APPLICATION_ID: applicationId,
    VONAGE_PRIVATE_KEY: privateKey,
    VONAGE_VIDEO_HOST: videoHost,
    PORT: '0',
    ...env,
  });
  const video = new Video({ applicationId, privateKey: config.privateKey }, { videoHost: config.videoHost });
  const lines = [];
  const { server, rooms } = createAppServer({ config, video, log: (l) => lines.push(l), staticRoots });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    rooms,
    lines,
    config,
    async post(path, body, headers = { 'content-type': 'application/json' }) {
      const res = await fetch(url + path, {
        method: 'POST',
        headers,
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json().catch(() => null) };
    },
    async get(path) {
      const res = await fetch(url + path);
      const type = res.headers.get('content-type') ?? '';
      return {
        status: res.status,
        type,
        body: type.startsWith('application/json') ? await res.json() : await res.text(),
      };
    },
    close() {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

/** A session-monitoring callback body, as the platform sends it. */
export function callback(event, sessionId, fields = {}) {
  return { sessionId, projectId: 'p', event, timestamp: Date.now(), ...fields };
}
