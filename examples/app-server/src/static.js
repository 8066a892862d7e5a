// Serves files from a few fixed folders. A request path maps to a file only through
// `resolveInside`, which refuses anything that could leave the folder.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.md': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

/**
 * The file under `root` named by the URL path `relative` (still percent-encoded), or `null`
 * when the path is malformed, has `.`/`..`/hidden segments, or resolves (through symlinks)
 * outside `root`.
 */
export async function resolveInside(root, relative) {
  const segments = [];
  for (const raw of relative.split('/')) {
    if (raw === '') {
      continue;
    }
    let segment;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (segment.startsWith('.') || /[\\/\0]/.test(segment)) {
      return null;
    }
    segments.push(segment);
  }
  let file = path.join(root, ...segments);
  try {
    const rootReal = await realpath(root);
    file = await realpath(file);
    if (file !== rootReal && !file.startsWith(rootReal + path.sep)) {
      return null;
    }
    const info = await stat(file);
    if (info.isDirectory()) {
      return resolveInside(root, `${relative}/index.html`);
    }
    return info.isFile() ? file : null;
  } catch {
    return null;
  }
}

/** Streams `file` with its MIME type; HEAD gets the headers only. */
export async function sendFile(req, res, file) {
  const info = await stat(file);
  res.writeHead(200, {
    'content-type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': info.size,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).pipe(res);
}
