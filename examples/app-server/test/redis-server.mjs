// A real redis-server for one test run: a free port, no persistence, stopped after.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';

export const REDIS_BIN = process.env.REDIS_SERVER_BIN || 'redis-server';

export async function startRedis() {
  if (spawnSync(REDIS_BIN, ['--version']).error) {
    throw new Error(`${REDIS_BIN} not found: \`bash examples/setup.sh --browser\` installs it (apt-get install redis-server)`);
  }
  const port = await freePort();
  const child = spawn(REDIS_BIN, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // If the test process dies without its `after` hooks, no redis-server is left behind.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within 5 s:\n${out}`)), 5000);
    child.stdout.on('data', (d) => {
      out += d;
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${out}`));
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async stop() {
      process.off('exit', orphanGuard);
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/**
 * A port held open until `release()`: for a server that must be named (in another process's
 * configuration) before it starts. Released just before that server listens, so that nothing
 * started in between (a sandbox, a redis-server binding port 0) can be given it.
 */
export function reservePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      resolve({ port: s.address().port, release: () => new Promise((r) => s.close(() => r())) });
    });
  });
}

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
