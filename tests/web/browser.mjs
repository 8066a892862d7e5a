// Node-side helpers for the tests that drive the JS package in headless Chromium
// (tests/web/*.test.mjs, tests/package/*.test.mjs): one Chromium (started by
// tests/browsers.mjs) with its own temporary profile and TMPDIR, a static file server on 127.0.0.1, and pages that report their errors.
// Run these tests one at a time (`node --test --test-concurrency=1`), under the shared
// browser lock.

import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../browsers.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const MIME = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

/** Serves `dir` on 127.0.0.1 (a free port) with the right MIME types; `close()` when done. */
export function serve(dir) {
  const base = normalize(dir.endsWith(sep) ? dir : dir + sep);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = normalize(join(base, path));
    if (file.endsWith(sep)) file = join(file, 'index.html');
    if (!file.startsWith(base) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((r) => server.close(r)),
      }),
    ),
  );
}

/**
 * Starts Chromium the one way the tests start a browser (tests/browsers.mjs), its profile and
 * temporary files under a folder of its own, with one context; `close()` stops it and
 * deletes the folder.
 */
export async function launch() {
  const tmp = mkdtempSync(join(tmpdir(), 'video-handoff-browser-'));
  const browser = await launchBrowser('chromium', join(tmp, 'tmp'));
  const context = await browser.newContext();
  return {
    context,
    tmp,
    async close() {
      await browser.close().catch(() => {});
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Opens `url`; `errors` collects the page's uncaught errors. */
export async function open(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}
