// Load benchmark (prints figures, asserts nothing): N clients without media join one session
// over the vendor protocol (tests/vendor-client.mjs: session info, then the Rumor socket), then
// one REST broadcast signal fans out to all of them.
//
//   node examples/sandbox/bench/load.mjs [--clients 500] [--signals 20] [--bin PATH]
//
// Prints the join rate, the signal fan-out latency p50/p99 (REST call sent -> each client
// received) and the sandbox's resident memory per connection (VmRSS before/after joins).
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Video } from '@vonage/video';
import { Auth } from '@vonage/auth';
import { connectClient } from '../tests/vendor-client.mjs';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '500' },
    signals: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '50' },
    bin: { type: 'string' },
  },
});
const N = Number(args.clients);
const SIGNALS = Number(args.signals);
const here = dirname(fileURLToPath(import.meta.url));
const BIN = args.bin ?? process.env.SANDBOX_BIN ?? resolve(here, '../../../target/debug/video-handoff-sandbox');
const APP_ID = 'bench-app';

const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
// utime + stime of a process, in seconds (clock ticks of 10 ms on Linux).
const cpuS = (pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).reduce((a, b) => a + Number(b), 0) / 100;
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'sandbox-bench-'));
const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
writeFileSync(join(dir, 'public.pem'), publicKey);
const proc = spawn(BIN, ['--port', '0', '--application-id', APP_ID, '--public-key-file', join(dir, 'public.pem')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const clients = [];
try {
  const base = await new Promise((ok, fail) => {
    proc.once('exit', (c) => fail(new Error(`sandbox exited ${c}`)));
    createInterface({ input: proc.stdout }).on('line', (l) => {
      const m = /^sandbox listening on (\S+)$/.exec(l);
      if (m) ok(m[1]);
    });
  });
  const video = new Video(new Auth({ applicationId: APP_ID, privateKey }), { videoHost: base });
  const { sessionId } = await video.createSession();
  await sleep(200);
  const rssBefore = rssKb(proc.pid);

  // Each client records when it received each signal; tokens are made up front so signing
  // time does not count as join time.
  const tokens = Array.from({ length: N }, () => video.generateClientToken(sessionId));
  const received = new Map(); // signal data -> [arrival ms]
  const join1 = async (token) => {
    const c = await connectClient({ sandboxUrl: base, applicationId: APP_ID, sessionId, token });
    clients.push(c);
    c.on('signal', (sig) => {
      const at = performance.now();
      if (!received.has(sig.data)) received.set(sig.data, []);
      received.get(sig.data).push(at);
    });
  };
  const cpu0 = cpuS(proc.pid);
  const t0 = performance.now();
  let next = 0;
  const worker = async () => { while (next < N) await join1(tokens[next++]); };
  await Promise.all(Array.from({ length: Number(args.concurrency) }, worker));
  const joinMs = performance.now() - t0;
  const joinCpuS = cpuS(proc.pid) - cpu0;
  await sleep(500); // let connectionCreated fan-out (N^2/2 frames) drain
  const rssAfter = rssKb(proc.pid);

  const latencies = [];
  for (let i = 0; i < SIGNALS; i++) {
    const data = `s${i}`;
    const sent = performance.now();
    await video.sendSignal({ type: 'bench', data }, sessionId);
    const deadline = Date.now() + 10_000;
    while ((received.get(data)?.length ?? 0) < N && Date.now() < deadline) await sleep(2);
    const got = received.get(data) ?? [];
    if (got.length < N) console.error(`signal ${data}: only ${got.length}/${N} received`);
    for (const at of got) latencies.push(at - sent);
    await sleep(50);
  }
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({
    clients: N,
    binary: BIN,
    joinSeconds: +(joinMs / 1000).toFixed(2),
    joinsPerSecond: Math.round(N / (joinMs / 1000)),
    sandboxCpuSecondsDuringJoins: +joinCpuS.toFixed(2),
    fanOutSignals: SIGNALS,
    fanOutMsP50: +pct(latencies, 50).toFixed(1),
    fanOutMsP99: +pct(latencies, 99).toFixed(1),
    fanOutMsMax: +latencies[latencies.length - 1].toFixed(1),
    rssBeforeKb: rssBefore,
    rssAfterKb: rssAfter,
    kbPerConnection: +((rssAfter - rssBefore) / N).toFixed(1),
  }, null, 2));
} finally {
  for (const c of clients) c.terminate();
  proc.kill();
  rmSync(dir, { recursive: true, force: true });
}
