#!/usr/bin/env node
// The sample app server. Settings come from the environment (see src/config.js and README.md);
// with none but the application ID, key and signature secret it talks to the local sandbox and
// keeps its rooms in memory; with REDIS_URL several instances share them.
//
//   VONAGE_APPLICATION_ID=... VONAGE_PRIVATE_KEY=./private.key VONAGE_SIGNATURE_SECRET=... \
//     node examples/app-server/server.js
import { Video } from '@vonage/video';
import { loadConfig } from './src/config.js';
import { createAppServer } from './src/app.js';
import { openStore } from './src/store/index.js';

const log = (line) => console.log(`[app] ${line}`);

let config;
let store;
try {
  config = loadConfig();
  store = await openStore(config, log);
} catch (err) {
  console.error(`app server: ${err.message}`);
  process.exit(2);
}

const video = new Video(
  { applicationId: config.applicationId, privateKey: config.privateKey },
  { videoHost: config.videoHost },
);
const { app, rooms } = await createAppServer({ config, video, store, log });

let address;
try {
  address = await app.listen({ port: config.port, host: config.host });
} catch (err) {
  console.error(`app server: cannot listen on ${config.host}:${config.port}: ${err.message}`);
  process.exit(1);
}
// Machine-readable: scripts and tests wait for this line.
console.log(`app server listening on http://${config.host}:${new URL(address).port}`);
log(`video API: ${config.videoHost}; sandbox admin: ${config.sandboxAdminUrl ?? 'off'}; store: ${store.kind}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    // Stop taking requests, let started REST calls finish (bounded), then go.
    const forced = setTimeout(() => process.exit(0), 5000);
    forced.unref();
    try {
      await app.close();
      await rooms.idle();
      await store.close();
    } finally {
      process.exit(0);
    }
  });
}
