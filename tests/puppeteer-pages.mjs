// Playwright's context and page API over puppeteer-core's, for Firefox (browsers.mjs): only
// what the tests use. Where the two differ:
//
// - a context has no `request` event in puppeteer: each of its pages' requests are passed on;
// - `waitForFunction(fn, arg, options)` takes its argument before its options in playwright,
//   after them in puppeteer;
// - `addInitScript({ path })` is puppeteer's `evaluateOnNewDocument(source)`;
// - a context's `viewport` is set on each page, and each page opens in a window of its own;
// - `route` (request interception, `E2E_PKG_DIR` only) is not offered.
//
// Everything else (`evaluate` with one argument, `goto`, `console`, `pageerror` and `response`
// events, `close`) is called through unchanged.

import { readFileSync } from 'node:fs';

/** A playwright-like context over puppeteer's BrowserContext `ctx`. */
export function puppeteerContext(ctx, { viewport } = {}) {
  const onRequest = [];
  return {
    async newPage() {
      // A window of its own: Firefox stops rendering a tab that is not the selected one of
      // its window (no animation frames, no video frame callbacks), and every participant's
      // page must keep rendering as if someone watched it.
      const page = await ctx.newPage({ type: 'window' });
      if (viewport) await page.setViewport(viewport);
      page.on('request', (r) => {
        for (const fn of onRequest) fn(r);
      });
      return wrapPage(page);
    },
    on(event, fn) {
      if (event !== 'request') throw new Error(`puppeteer context: no ${event} event here`);
      onRequest.push(fn);
    },
    route() {
      throw new Error('puppeteer context: route() is not offered (E2E_PKG_DIR is Chromium only)');
    },
    close: () => ctx.close(),
  };
}

function wrapPage(page) {
  return {
    puppeteer: page,
    goto: (url) => page.goto(url),
    evaluate: (fn, arg) => (arg === undefined ? page.evaluate(fn) : page.evaluate(fn, arg)),
    waitForFunction(fn, arg, { timeout = 30000, polling } = {}) {
      const options = { timeout, polling: typeof polling === 'number' ? polling : 'raf' };
      return arg === undefined ? page.waitForFunction(fn, options) : page.waitForFunction(fn, options, arg);
    },
    addInitScript(script) {
      const source = typeof script === 'function' ? script : readFileSync(script.path, 'utf8');
      return page.evaluateOnNewDocument(source);
    },
    on: (event, fn) => page.on(event, fn),
    close: () => page.close(),
  };
}
