// 500 join-then-close cycles in one page through the public API (js/index.js) against the OT
// test double: what the page holds after the last cycle equals what it held after the 50th
// (wasm memory, OT listeners, live callbacks, DOM nodes, DOM listeners), and the JS heap after
// a forced garbage collection has not grown by more than 10%. Prints the figures.
//
// Run: flock /work/helpers/browser.lock node --test tests/web/join_close.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, launch, open, serve } from './browser.mjs';

const WARM_UP = 50;
const CYCLES = 500;

let browser;
let server;
let page;
let errors;
let cdp;

before(async () => {
  assert.ok(existsSync(join(ROOT, 'pkg/video_handoff_bg.wasm')), 'pkg/ missing: run `npm run build` first');
  server = await serve(ROOT);
  browser = await launch();
  ({ page, errors } = await open(browser.context, `${server.url}/tests/web/api_page.html`));
  await page.waitForFunction(() => window.casesReady === true);
  cdp = await browser.context.newCDPSession(page);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Runs `n` more cycles, then collects garbage and reads the page's figures. */
async function cyclesThenFigures(n) {
  const page_ = await page.evaluate((k) => window.cases.joinCloseCycles(k), n);
  for (let i = 0; i < 3; i++) await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  const dom = await cdp.send('Memory.getDOMCounters');
  return { ...page_, jsHeapUsedBytes: heap.usedSize, domNodes: dom.nodes, domListeners: dom.jsEventListeners };
}

test(`${CYCLES} join/close cycles leave nothing behind`, { timeout: 600_000 }, async () => {
  const first = await cyclesThenFigures(WARM_UP);
  const last = await cyclesThenFigures(CYCLES - WARM_UP);
  console.log(`# join/close after ${first.cycles} cycles: ${JSON.stringify(first)}`);
  console.log(`# join/close after ${last.cycles} cycles: ${JSON.stringify(last)}`);
  const growth = (k) => last[k] - first[k];
  console.log(
    `# join/close growth over ${last.cycles - first.cycles} cycles: wasm memory ${growth('wasmMemoryBytes')} B, ` +
      `JS heap ${growth('jsHeapUsedBytes')} B (${((100 * growth('jsHeapUsedBytes')) / first.jsHeapUsedBytes).toFixed(1)}%), ` +
      `DOM nodes ${growth('domNodes')}, DOM listeners ${growth('domListeners')}, OT listeners ${growth('otListeners')}, ` +
      `live callbacks ${last.liveCallbacks === null ? 'n/a' : growth('liveCallbacks')}`,
  );
  assert.equal(last.cycles, CYCLES);
  assert.equal(last.wasmMemoryBytes, first.wasmMemoryBytes, 'wasm memory is flat');
  assert.equal(last.domNodes, first.domNodes, 'DOM nodes are flat');
  assert.equal(last.domListeners, first.domListeners, 'DOM listeners are flat');
  assert.equal(last.otListeners, 0, 'no OT listener left');
  assert.equal(last.liveCallbacks, 0, 'no callback left in the wasm route table');
  assert.ok(last.jsHeapUsedBytes <= first.jsHeapUsedBytes * 1.1, 'the JS heap grew by at most 10%');
  assert.equal(last.sessions + last.subscribers + last.publishers + last.videos, 0, 'nothing of the last call is left');
  assert.equal(last.handlerErrors, 0);
  assert.deepEqual(errors, []);
});
