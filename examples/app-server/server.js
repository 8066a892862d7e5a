#!/usr/bin/env node
// The sample app server. Settings come from the environment (see src/config.js and README.md);
// with none but the application ID and key it talks to the local sandbox.
//
//   VONAGE_APPLICATION_ID=... VONAGE_PRIVATE_KEY=./private.key node examples/app-server/server.js
import { Video } from '@vonage/video';
import { loadConfig } from './src/config.js';
import { createAppServer } from './src/app.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(`app server: ${err.message}`);
  process.exit(2);
}

const video = new Video(
  { applicationId: config.applicationId, privateKey: config.privateKey },
  { videoHost: config.videoHost },
);
const { server } = createAppServer({ config, video, log: (line) => console.log(`[app] ${line}`) });

server.on('error', (err) => {
  console.error(`app server: cannot listen on ${config.host}:${config.port}: ${err.message}`);
  process.exit(1);
});
server.listen(config.port, config.host, () => {
  const { port } = server.address();
  // Machine-readable: scripts and tests wait for this line.
  console.log(`app server listening on http://${config.host}:${port}`);
  console.log(`[app] video API: ${config.videoHost}; sandbox admin: ${config.sandboxAdminUrl ?? 'off'}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}
