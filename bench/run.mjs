// npm run bench: drives a real Lantern (built code, real workers) with autocannon on 127.0.0.1
// and reports each scenario beside a baseline measured in the same run.
//   node bench/run.mjs [--smoke] [--out DIR]
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { WorkerProcess } from '../dist/workers/worker-process.js';
import { workerLaunch } from '../dist/workers/launch.js';
import { systemClock } from '../dist/batching/clock.js';
import { Job } from '../dist/batching/job.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const SMOKE = args.includes('--smoke');
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : path.join(ROOT, 'bench', 'results');
const DURATION_S = SMOKE ? 1 : 8;
const ROUND_TRIPS = SMOKE ? 200 : 5000;
const NOOP_BODY = 'ok';

async function rssOf(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function load(url, connections, extra = {}) {
  const result = await autocannon({ url, connections, duration: DURATION_S, method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, ...extra });
  return {
    requestsPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** Starts a child process and resolves with the first match of `pattern` in its stdout. */
function spawnAndWait(command, argv, options, pattern) {
  const child = spawn(command, argv, { ...options, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const m = pattern.exec(seen);
      if (m) resolve({ child, match: m });
    });
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited (${code}) before ready: ${seen}`)));
  });
}

async function stopChild(child) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

/** The HTTP ceiling: bare node:http in its own process, answering the same bytes as the no-op model. */
async function httpBaseline(connections) {
  const { child, match } = await spawnAndWait(process.execPath, [path.join(ROOT, 'bench', 'baseline-server.mjs'), NOOP_BODY], {}, /PORT (\d+)/);
  try {
    return await load(`http://127.0.0.1:${match[1]}/`, connections);
  } finally {
    await stopChild(child);
  }
}

async function makeStore() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lantern-bench-'));
  const store = path.join(dir, 'store');
  await mkdir(path.join(store, 'noop', 'MAR-INF'), { recursive: true });
  await cp(path.join(ROOT, 'bench', 'handlers', 'noop_handler.py'), path.join(store, 'noop', 'noop_handler.py'));
  await writeFile(
    path.join(store, 'noop', 'MAR-INF', 'MANIFEST.json'),
    JSON.stringify({ runtime: 'python', model: { modelName: 'noop', handler: 'noop_handler.py', modelVersion: '1.0' } }),
  );
  return { dir, store };
}

/** Lantern as users run it: its own process, started from the built code. */
async function startLantern(dir, store) {
  await writeFile(
    path.join(dir, 'bench.properties'),
    `inference_address=http://127.0.0.1:0\nmanagement_address=http://127.0.0.1:0\nmodel_store=${store}\ndisable_token_authorization=true\nenable_model_api=true\n`,
  );
  const { child, match } = await spawnAndWait(
    process.execPath,
    [path.join(ROOT, 'bin', 'lantern.js'), '--foreground', '--ncs', '--ts-config', path.join(dir, 'bench.properties')],
    { cwd: dir },
    /Inference API listening on (\S+)[\s\S]*Management API listening on (\S+)[\s\S]*Lantern is ready/,
  );
  return { child, inference: match[1], management: match[2] };
}

async function mgmt(base, method, pathAndQuery) {
  const res = await fetch(`${base}${pathAndQuery}`, { method });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${pathAndQuery}: ${res.status} ${text}`);
  return text;
}

async function noopScenarios(results) {
  const { dir, store } = await makeStore();
  const lantern = await startLantern(dir, store);
  try {
    const t0 = performance.now();
    await mgmt(lantern.management, 'POST', '/models?url=noop&initial_workers=0');
    const registerMs = performance.now() - t0;
    const t1 = performance.now();
    await mgmt(lantern.management, 'PUT', '/models/noop?min_worker=4&synchronous=true');
    results.push({ scenario: 'register + scale 0→4 workers (python)', registerMs, scaleMs: performance.now() - t1 });
    for (const workers of [1, 2]) {
      await mgmt(lantern.management, 'PUT', `/models/noop?min_worker=${workers}&max_worker=${workers}&synchronous=true`);
      for (const connections of [1, 8, 64]) {
        const baseline = await httpBaseline(connections);
        const served = await load(`${lantern.inference}/predictions/noop`, connections);
        const described = JSON.parse(await mgmt(lantern.management, 'GET', '/models/noop'))[0];
        results.push({
          scenario: `noop python, ${workers} worker(s), c=${connections}`,
          ...served,
          baselineRequestsPerSec: baseline.requestsPerSec,
          ratioToHttpCeiling: served.requestsPerSec / baseline.requestsPerSec,
          serverRssBytes: await rssOf(lantern.child.pid),
          workerRssBytes: described.workers.reduce((a, w) => a + w.memoryUsage, 0),
        });
      }
    }
  } finally {
    await stopChild(lantern.child);
    await rm(dir, { recursive: true, force: true });
  }
}

/** The front end ↔ worker round trip alone: one worker process, sequential one-request batches. */
async function roundTrip(results) {
  const { dir, store } = await makeStore();
  const modelDir = path.join(store, 'noop');
  const worker = new WorkerProcess(9000, workerLaunch('python', modelDir, 'noop_handler.py', { python: 'python3', decodeInputRequest: true, baseEnv: process.env }), {
    maxResponseBytes: 6553500,
    clock: systemClock,
    onOutput: () => {},
  });
  try {
    await worker.load({ modelName: 'noop', modelPath: modelDir, batchSize: 1, handler: 'noop_handler.py', gpuId: -1, envelope: '', limitMaxImagePixels: true }, 30000);
    const body = Buffer.from('{}');
    const one = () =>
      new Promise((resolve, reject) => {
        const job = new Job({ requestId: 'r', headers: [], parameters: [{ name: 'body', contentType: 'application/json', value: body }] }, 'predict', 0, {
          reply: (_e, last) => last && resolve(),
          fail: reject,
        });
        void worker.run([job], 30000);
      });
    for (let i = 0; i < 50; i++) await one();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ROUND_TRIPS; i++) await one();
    const perRequestUs = Number(process.hrtime.bigint() - t0) / 1000 / ROUND_TRIPS;
    results.push({ scenario: 'front end ↔ python worker round trip (no HTTP)', perRequestUs, workerRssBytes: await worker.rssBytes() });
  } finally {
    await worker.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Cold start: `lantern --foreground` process start to the first successful prediction. */
async function coldStart(results) {
  const { dir, store } = await makeStore();
  await writeFile(
    path.join(dir, 'config.properties'),
    'inference_address=http://127.0.0.1:0\nmanagement_address=http://127.0.0.1:0\ndisable_token_authorization=true\ndefault_workers_per_model=1\n',
  );
  const t0 = performance.now();
  const { child, match } = await spawnAndWait(
    process.execPath,
    [path.join(ROOT, 'bin', 'lantern.js'), '--foreground', '--ncs', '--model-store', store, '--models', 'noop=noop'],
    { cwd: dir },
    /Inference API listening on (\S+)/,
  );
  try {
    for (let i = 0; i < 1500; i++) {
      const res = await fetch(`${match[1]}/predictions/noop`, { method: 'POST', body: '{}' });
      await res.text();
      if (res.ok) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    results.push({ scenario: 'cold start to first prediction (python)', coldStartMs: performance.now() - t0, serverRssBytes: await rssOf(child.pid) });
  } finally {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  }
}

function table(results) {
  const fmt = (v, d = 0) => (v === undefined ? '' : Number(v).toFixed(d));
  const mb = (v) => (v === undefined ? '' : (v / 1048576).toFixed(1));
  const lines = [
    '| scenario | req/s | ratio to ceiling | p50 ms | p90 ms | p99 ms | other | server RSS MB | worker RSS MB |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const other = [
      r.baselineRequestsPerSec !== undefined ? `ceiling ${fmt(r.baselineRequestsPerSec)} req/s` : '',
      r.perRequestUs !== undefined ? `${fmt(r.perRequestUs, 1)} µs/request` : '',
      r.registerMs !== undefined ? `register ${fmt(r.registerMs)} ms, scale ${fmt(r.scaleMs)} ms` : '',
      r.coldStartMs !== undefined ? `${fmt(r.coldStartMs)} ms` : '',
      r.non2xx ? `${r.non2xx} non-2xx` : '',
    ].filter(Boolean).join('; ');
    lines.push(`| ${r.scenario} | ${fmt(r.requestsPerSec)} | ${r.ratioToHttpCeiling === undefined ? '' : fmt(r.ratioToHttpCeiling, 2)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p90Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${other} | ${mb(r.serverRssBytes)} | ${mb(r.workerRssBytes)} |`);
  }
  return lines.join('\n');
}

const results = [];
await roundTrip(results);
await noopScenarios(results);
await coldStart(results);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
await mkdir(outDir, { recursive: true });
const report = { date: new Date().toISOString(), smoke: SMOKE, machine: { cpus: os.availableParallelism(), node: process.version }, results };
await writeFile(path.join(outDir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
const md = table(results);
await writeFile(path.join(outDir, `${stamp}.md`), `${md}\n`);
console.log(md);
