// Starts the sandbox binary for a test or the load script: callbacks signed with `secret` and
// delivered round robin to `callbackUrls`; `faults` turns on duplicate / out-of-order delivery.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../src/app.js';

export const SANDBOX_BIN =
  process.env.SANDBOX_BIN ||
  path.join(process.env.CARGO_TARGET_DIR || path.join(REPO_ROOT, 'target'), 'debug/video-handoff-sandbox');

export const sandboxMissing = existsSync(SANDBOX_BIN) ? false : `sandbox not built (${SANDBOX_BIN})`;

export async function startSandbox({ applicationId, publicKey, callbackUrls, secret, duplicates = false, reorder = false, echo = false }) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'app-sandbox-'));
  const adminToken = randomBytes(24).toString('base64url');
  await writeFile(path.join(dir, 'public.pem'), publicKey);
  const proc = spawn(
    SANDBOX_BIN,
    ['--port', '0', '--application-id', applicationId, '--public-key-file', path.join(dir, 'public.pem'), '--callback-url', callbackUrls.join(',')],
    {
      stdio: ['ignore', 'pipe', echo ? 'inherit' : 'ignore'],
      env: {
        ...process.env,
        SANDBOX_SIGNATURE_SECRET: secret,
        SANDBOX_ADMIN_TOKEN: adminToken,
        SANDBOX_CALLBACK_DUPLICATES: duplicates ? 'true' : 'false',
        SANDBOX_CALLBACK_REORDER: reorder ? 'true' : 'false',
      },
    },
  );
  const orphanGuard = () => proc.kill('SIGKILL');
  process.once('exit', orphanGuard);
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the sandbox did not start within 10 s')), 10_000);
    proc.once('exit', (code) => reject(new Error(`sandbox exited (${code})`)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = /^sandbox listening on (http:\/\/\S+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  return {
    url,
    pid: proc.pid,
    adminToken,
    async admin(method, pathname, body) {
      const r = await fetch(url + pathname, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : null };
    },
    async stop() {
      process.off('exit', orphanGuard);
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
