// The little HTTP plumbing the app server needs: a router and JSON in/out.

/** Routes `METHOD /path/:param` patterns to handlers `(req, res, params, url)`. */
export class Router {
  #routes = [];

  add(method, pattern, handler) {
    const names = [];
    const regex = new RegExp(
      '^' +
        pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, (_, name) => {
          names.push(name);
          return '([^/]+)';
        }) +
        '$',
    );
    this.#routes.push({ method, regex, names, handler });
    return this;
  }

  /** The matching route as `{ handler, params }`, `{ allowed }` for a wrong method, or `null`. */
  match(method, pathname) {
    const allowed = [];
    for (const route of this.#routes) {
      const m = route.regex.exec(pathname);
      if (!m) {
        continue;
      }
      if (route.method !== method && !(route.method === 'GET' && method === 'HEAD')) {
        allowed.push(route.method);
        continue;
      }
      const params = {};
      route.names.forEach((name, i) => {
        try {
          params[name] = decodeURIComponent(m[i + 1]);
        } catch {
          params[name] = null;
        }
      });
      return { handler: route.handler, params };
    }
    return allowed.length ? { allowed } : null;
  }
}

/** An error that becomes an HTTP answer `{ error: code, message }`. */
export class HttpError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

export function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

/** Reads a JSON body of at most `limit` bytes; an empty body reads as `{}`. */
export async function readJson(req, limit = 64 * 1024) {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) {
      throw new HttpError(413, 'bodyTooLarge', `body is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    return {};
  }
  if (type && type !== 'application/json') {
    throw new HttpError(415, 'notJson', 'content-type must be application/json');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'badJson', 'body is not valid JSON');
  }
}
