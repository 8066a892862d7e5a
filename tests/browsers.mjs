// The one way the tests start a browser: Debian's Chromium through playwright-core, or
// Firefox ESR through puppeteer-core over WebDriver BiDi, with the flags and prefs WebRTC tests
// need headless on these machines (docs/toolchain.md). Used by the end-to-end harness, the
// browser tests of tests/web and tests/package, the sandbox's browser tests, and (as
// capabilities, `webdriverJson`) by wasm-pack's browser tests.
//
// `E2E_BROWSER` (chromium, the default, or firefox) picks the browser of the end-to-end suite.
// Both come back with playwright's context and page API, the one the tests are written
// against: Chromium natively, Firefox through the small adapter in puppeteer-pages.mjs.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { puppeteerContext } from './puppeteer-pages.mjs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';

/** The browser named by `E2E_BROWSER` (chromium unless set). */
export function browserFromEnv(env = process.env) {
  const name = env.E2E_BROWSER || 'chromium';
  if (name !== 'chromium' && name !== 'firefox') {
    throw new Error(`E2E_BROWSER must be chromium or firefox, got ${JSON.stringify(name)}`);
  }
  return name;
}

/** The executable of `name`. */
export const executableOf = (name) => (name === 'firefox' ? FIREFOX : CHROMIUM);

// Headless WebRTC on these machines (docs/toolchain.md): a fake 30 fps camera, no permission
// prompt, loopback ICE candidates, no throttling of pages that share
// one browser, remote audio that really plays (or "one audible source per tile" would prove
// nothing), and nothing resolved beyond 127.0.0.1.
const CHROMIUM_MEDIA_ARGS = [
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream=fps=30',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-quic',
  ...CHROMIUM_MEDIA_ARGS,
  // Nothing leaves the machine, even a URL that escaped the vendor client's proxy setting.
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
];

// The same for Firefox, as prefs: its fake camera (30 fps, 640x480 unless asked) and
// microphone, no prompt, loopback candidates (gathered only by Chromium all the same: Firefox
// 153 gathers none and never pairs with one, so the e2e's media router announces a
// non-loopback address when Firefox takes part), autoplay allowed (0),
// and nothing beyond 127.0.0.1: no proxy, no captive-portal or connectivity probes, no
// telemetry, updates or remote settings (a fresh profile asks for all of them).
export const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.loopback': true,
  // Real host addresses, not mDNS names: Chromium (resolving nothing but 127.0.0.1) and the
  // sandbox's router cannot resolve those.
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'network.proxy.type': 0,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'app.update.enabled': false,
  'services.settings.server': 'http://127.0.0.1:9/',
  // Pages that share one browser are never throttled as "in the background".
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
};

/**
 * Capabilities for wasm-bindgen-test-runner (`WASM_BINDGEN_TEST_WEBDRIVER_JSON`): the same
 * flags and prefs for chromedriver and geckodriver; the runner adds headless itself.
 */
export function webdriverJson() {
  return {
    'goog:chromeOptions': { binary: CHROMIUM, args: CHROMIUM_MEDIA_ARGS },
    'moz:firefoxOptions': { binary: FIREFOX, prefs: FIREFOX_PREFS },
  };
}

/** "Firefox 153.8.0esr" from the executable itself, without starting a browser. */
export function versionOf(name) {
  const out = execFileSync(executableOf(name), ['--version'], { encoding: 'utf8', env: { ...process.env, HOME: process.env.HOME || '/tmp' } });
  // Debian's chromium wrapper prints a harmless shell warning first: take the last line.
  const line = out.trim().split('\n').at(-1);
  const m = /(Chromium|Firefox)\s+([0-9][0-9.a-z]*)/.exec(line);
  return m ? `${m[1]} ${m[2]}` : line;
}

/**
 * Starts `name` (chromium or firefox) with its profile, its temporary files and (Firefox) its
 * HOME under `tmp`, a folder the caller owns and deletes. Returns
 * `{ name, version, newContext(options), cpuTimes(), close() }`: contexts and pages with
 * playwright's API; `cpuTimes()` the CPU seconds of each of its processes, as a Map.
 */
export async function launchBrowser(name, tmp) {
  mkdirSync(tmp, { recursive: true });
  if (name === 'chromium') return launchChromium(tmp);
  if (name === 'firefox') return launchFirefox(tmp);
  throw new Error(`unknown browser ${JSON.stringify(name)}`);
}

async function launchChromium(tmp) {
  const { chromium } = await import('playwright-core');
  // Playwright makes Chromium's profile under the launcher's TMPDIR (it refuses
  // --user-data-dir with launch()): point it into the caller's folder.
  process.env.TMPDIR = tmp;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    ignoreDefaultArgs: ['--headless'],
    env: { ...process.env, TMPDIR: tmp },
  });
  let cdp = null;
  return {
    name: 'chromium',
    version: `Chromium ${browser.version()}`,
    playwright: browser,
    newContext: (options) => browser.newContext(options),
    // Per process, from the browser itself (CDP SystemInfo.getProcessInfo).
    async cpuTimes() {
      cdp ??= await browser.newBrowserCDPSession();
      const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
      return new Map(processInfo.map((p) => [p.id, p.cpuTime ?? 0]));
    },
    async close() {
      await cdp?.detach().catch(() => {});
      await browser.close();
    },
  };
}

async function launchFirefox(tmp) {
  const { default: puppeteer } = await import('puppeteer-core');
  const home = join(tmp, 'home');
  mkdirSync(home, { recursive: true });
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    userDataDir: join(tmp, 'profile'),
    extraPrefsFirefox: FIREFOX_PREFS,
    // Firefox writes under HOME (~/.mozilla, caches) whatever the profile says.
    env: { ...process.env, HOME: home, TMPDIR: tmp, MOZ_CRASHREPORTER_DISABLE: '1' },
    protocolTimeout: 60000,
  });
  const pid = browser.process()?.pid;
  // "firefox/153.8.0"
  const [, number] = (await browser.version()).split('/');
  return {
    name: 'firefox',
    version: `Firefox ${number}`,
    puppeteer: browser,
    newContext: async (options) => puppeteerContext(await browser.createBrowserContext(), options),
    // Firefox has no CDP process figures: read /proc for the browser's process tree.
    cpuTimes: async () => processTreeCpu(pid),
    close: () => browser.close(),
  };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) of `root` and each of its descendants, from /proc. */
export function processTreeCpu(root) {
  const parent = new Map();
  const cpu = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces), from field 3 on.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(f[1]));
      cpu.set(Number(entry), (Number(f[11]) + Number(f[12])) / CLOCK_TICKS);
    } catch {
      // the process ended while we looked
    }
  }
  const out = new Map();
  for (const [pid, seconds] of cpu) {
    for (let p = pid; p; p = parent.get(p)) {
      if (p === root) {
        out.set(pid, seconds);
        break;
      }
    }
  }
  return out;
}

// `node tests/browsers.mjs --version NAME` prints "browser: Firefox 153.8.0esr";
// `node tests/browsers.mjs --webdriver-json` the capabilities for wasm-pack's browser tests.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [what, name] = process.argv.slice(2);
  if (what === '--version') console.log(`browser: ${versionOf(name || browserFromEnv())}`);
  else if (what === '--webdriver-json') console.log(JSON.stringify(webdriverJson(), null, 2));
  else {
    console.error('usage: node tests/browsers.mjs --version [chromium|firefox] | --webdriver-json');
    process.exit(2);
  }
}
