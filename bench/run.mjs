// npm run bench: drives a real Lantern (built code, its own process, real workers) with autocannon
// on 127.0.0.1 and reports each scenario as a ratio to a ceiling measured in the same run.
//   node bench/run.mjs [--smoke] [--out DIR] [--only GROUP,...] [--duration S] [--cpu-prof DIR]
//                      [--properties 'key=value\n...' (added to the server's config.properties)]
//                      [--onnx-threads N (resnet18's intraOpNumThreads, served and in-process; default: CPUs)]
//                      [--onnx-spinning true|false (resnet18's allowSpinning, served and in-process; default: false)]
//                      [--omp-threads N (the cnn group: OMP_NUM_THREADS forced on both servers; default: Lantern's budget)]
// Groups: roundtrip, lifecycle, noop, mlp, resnet18, torchserve, cnn. See docs/performance.md.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inProcessOnnx, openPingPong, openWorkerRoundTrip } from './lib/ceilings.mjs';
import { cpuMeter, load, percentile, sampleRss } from './lib/measure.mjs';
import { firstPrediction, register, registerAndScale, served as servedRow, servedInSmoke, withCeiling } from './lib/rows.mjs';
import { makeStore, resnet18File, sampleInput } from './lib/models.mjs';
import { FREE_PORTS, LANTERN_COMMAND, mgmt, ROOT, spawnLogged, startHttpCeiling, startLantern, stopProcess } from './lib/processes.mjs';
import { markdownTable } from './lib/report.mjs';
import { findTorchServe } from './lib/torchserve.mjs';
import { versusTorchServe } from './lib/versus-torchserve.mjs';
import { cnnRows } from './lib/cnn.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const SMOKE = args.includes('--smoke');
const outDir = option('--out', path.join(ROOT, 'bench', 'results'));
const only = option('--only', null)?.split(',') ?? null;
const DURATION_S = Number(option('--duration', SMOKE ? 1 : 8));
const ROUND_TRIPS = SMOKE ? 200 : 5000;
/** Profiles of the server and its Node workers (NODE_OPTIONS reaches both); see bench/profile-summary.mjs. */
const cpuProfDir = option('--cpu-prof', null);
const extraProperties = option('--properties', '').replaceAll('\\n', '\n');
const CORES = os.availableParallelism();
const NOOP_BODY = 'ok';
const runs = (group) => only === null || only.includes(group);

/** ONNX Runtime threads for both the served model and its in-process ceiling. */
const MLP_OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1 };
const RESNET_OPTIONS = {
  intraOpNumThreads: Number(option('--onnx-threads', CORES)),
  interOpNumThreads: 1,
  allowSpinning: option('--onnx-spinning', 'false') === 'true',
};

const results = [];
const skipped = [];
const log = (line) => process.stderr.write(`${line}\n`);

/** Loads `model` on `lantern` at `connections` for the run's load duration (in smoke mode, see servedInSmoke). */
const served = (lantern, model, connections, loadOptions = {}) =>
  SMOKE ? servedInSmoke(lantern, model, connections, DURATION_S, loadOptions, log) : servedRow(lantern, model, connections, DURATION_S, loadOptions);

/** Rounds in which the round trip and its floor take turns, so that a slow stretch hits both. */
const ROUND_TRIP_ROUNDS = 5;

async function roundTrips(store) {
  for (const [runtime, dir, handler, echo] of [
    ['python', 'noop-py', 'noop_handler.py', ['python3', 'echo_socket.py']],
    ['node', 'noop-node', 'noop_handler.mjs', [process.execPath, 'echo_socket.cjs']],
  ]) {
    const pingPong = await openPingPong(echo[0], path.join(ROOT, 'bench', 'handlers', echo[1]));
    let worker = null;
    try {
      worker = await openWorkerRoundTrip(runtime, path.join(store, dir), handler);
      const floors = [];
      const trips = [];
      const latencies = [];
      // CPU per round trip of each end: this process (the front end's side, to the µs) and the
      // other one (from /proc, in clock ticks of 10 ms: a few percent over the five rounds).
      const floorCpu = { server: 0, workers: 0 };
      const tripCpu = { server: 0, workers: 0 };
      const metered = async (cpu, pid, measure) => {
        const other = await cpuMeter({ workers: [pid] });
        const start = process.cpuUsage();
        const result = await measure();
        const own = process.cpuUsage(start);
        cpu.server += (own.user + own.system) / ROUND_TRIPS;
        cpu.workers += (await other.stop(ROUND_TRIPS)).workers;
        return result;
      };
      for (let i = 0; i < ROUND_TRIP_ROUNDS; i++) {
        floors.push((await metered(floorCpu, pingPong.pid, () => pingPong.run(ROUND_TRIPS / ROUND_TRIP_ROUNDS))).perRequestUs);
        const trip = await metered(tripCpu, worker.pid, () => worker.run(ROUND_TRIPS / ROUND_TRIP_ROUNDS));
        trips.push(trip.perRequestUs);
        latencies.push(...trip.latenciesUs);
      }
      log(`${runtime} round trip by round: floor ${floors.map((f) => f.toFixed(0)).join(' ')} µs, trip ${trips.map((t) => t.toFixed(0)).join(' ')} µs`);
      const floorUs = percentile(floors, 50);
      const tripUs = percentile(trips, 50);
      const floor = { perRequestUs: floorUs, requestsPerSec: 1e6 / floorUs, serverCpuUs: floorCpu.server, workerCpuUs: floorCpu.workers };
      results.push({ group: 'roundtrip', kind: 'ceiling', scenario: `socket ping-pong with a ${runtime} echo process (the floor), c=1`, ...floor });
      results.push(
        withCeiling(
          {
            group: 'roundtrip',
            scenario: `front end ↔ ${runtime} worker round trip (no HTTP), c=1`,
            perRequestUs: tripUs,
            requestsPerSec: 1e6 / tripUs,
            p50Ms: percentile(latencies, 50) / 1000,
            p90Ms: percentile(latencies, 90) / 1000,
            p99Ms: percentile(latencies, 99) / 1000,
            workerRssBytes: await worker.rssBytes(),
            serverCpuUs: tripCpu.server,
            workerCpuUs: tripCpu.workers,
            // Each round's own difference: a slow stretch raises a round's floor and trip alike.
            overheadUs: percentile(trips.map((t, i) => t - floors[i]), 50),
            floorRoundsUs: floors,
            tripRoundsUs: trips,
          },
          `ping-pong ${runtime}`,
          floor,
        ),
      );
    } finally {
      await worker?.close();
      await pingPong.close();
    }
  }
}

async function lifecycle(dir, store, lantern) {
  for (const [runtime, model] of [
    ['python', 'noop-py'],
    ['node', 'noop-node'],
  ]) {
    results.push({ group: 'lifecycle', scenario: `register + scale 0→4 workers (${runtime})`, ...(await registerAndScale(lantern, model)) });
  }
  for (const [runtime, model] of [
    ['python', 'noop-py'],
    ['node', 'noop-node'],
  ]) {
    const runDir = await mkdtemp(path.join(dir, 'cold-'));
    await writeFile(
      path.join(runDir, 'config.properties'),
      `${FREE_PORTS}disable_token_authorization=true\ndefault_workers_per_model=1\n`,
    );
    const t0 = performance.now();
    const proc = await spawnLogged(['--foreground', '--ncs', '--model-store', store, '--models', `${model}=${model}`], {
      command: LANTERN_COMMAND,
      cwd: runDir,
      logFile: path.join(runDir, 'lantern.out'),
      pattern: /Inference API listening on (\S+)/,
    });
    try {
      await firstPrediction(`${proc.match[1]}/predictions/${model}`);
      results.push({ group: 'lifecycle', scenario: `cold start: process start to first prediction (${runtime})`, coldStartMs: performance.now() - t0 });
    } finally {
      await stopProcess(proc);
    }
  }
}

async function noop(dir, lantern) {
  const ceilingServer = await startHttpCeiling(dir, NOOP_BODY);
  /** The bare server at `c`, measured again right before each served row: the machine's speed drifts. */
  const ceilingAt = async (c, row = true) => {
    const rss = sampleRss({ server: [ceilingServer.child.pid] });
    const cpu = await cpuMeter({ server: [ceilingServer.child.pid] });
    const ceiling = await load(ceilingServer.url, { connections: c, durationS: DURATION_S });
    const { server: serverCpuUs } = await cpu.stop(ceiling.requests);
    const peak = await rss.stop();
    if (row) results.push({ group: 'noop', kind: 'ceiling', scenario: `HTTP ceiling: bare node:http, c=${c}`, ...ceiling, serverCpuUs, serverRssBytes: peak.server });
    return { ...ceiling, serverCpuUs };
  };
  try {
    for (const c of [1, 8, 64]) await ceilingAt(c);
    for (const [runtime, model] of [
      ['python', 'noop-py'],
      ['node', 'noop-node'],
    ]) {
      await register(lantern, `url=${model}&initial_workers=1`);
      for (const workers of [1, 2]) {
        await mgmt(lantern.management, 'PUT', `/models/${model}?min_worker=${workers}&max_worker=${workers}&synchronous=true`);
        for (const c of [1, 8, 64]) {
          const ceiling = await ceilingAt(c, false);
          const row = await served(lantern, model, c);
          results.push(withCeiling({ group: 'noop', scenario: `noop ${runtime}, ${workers} worker(s), c=${c}`, ...row, ceilingCpuUs: ceiling.serverCpuUs }, `HTTP c=${c} just before`, ceiling));
          log(`noop ${runtime} w=${workers} c=${c}: ${row.requestsPerSec.toFixed(0)} req/s (ceiling ${ceiling.requestsPerSec.toFixed(0)})`);
        }
      }
      await mgmt(lantern.management, 'DELETE', `/models/${model}`);
    }
    for (const property of TUNED_NOOP) await tunedNoop(dir, () => ceilingAt(64, false), property);
  } finally {
    await stopProcess(ceilingServer);
  }
}

/**
 * The no-op at c=64 again on a server with one setting changed: async_logging=true (the ten or so
 * log lines of each request are written every 100 ms instead of at the end of each event-loop
 * turn), metrics_mode=prometheus (the frontend and backend metrics go to /metrics instead of
 * seven log lines per request).
 */
const TUNED_NOOP = ['async_logging=true', 'metrics_mode=prometheus'];

async function tunedNoop(dir, ceilingNow, property) {
  const tunedDir = await mkdtemp(path.join(dir, 'tuned-'));
  const lantern = await startLantern(tunedDir, path.join(dir, 'store'), { properties: `${property}\n` });
  try {
    for (const [runtime, model] of [
      ['python', 'noop-py'],
      ['node', 'noop-node'],
    ]) {
      await register(lantern, `url=${model}&initial_workers=1`);
      const ceiling = await ceilingNow();
      const row = await served(lantern, model, 64);
      results.push(
        withCeiling({ group: 'noop', scenario: `noop ${runtime}, 1 worker(s), c=64, ${property}`, ...row, ceilingCpuUs: ceiling.serverCpuUs }, 'HTTP c=64 just before', ceiling),
      );
      log(`noop ${runtime} ${property} c=64: ${row.requestsPerSec.toFixed(0)} req/s`);
      await mgmt(lantern.management, 'DELETE', `/models/${model}`);
    }
  } finally {
    await stopProcess(lantern);
  }
}

/**
 * One ONNX model at batch size 1 and 8 (1 worker), each beside `session.run` in this process, for
 * each request format: a JSON nested array, and (`raw`) the tensor's bytes as application/octet-stream.
 */
async function onnxModel(lantern, { model, file, options, dims, scale, connections, maxBatchDelayMs, raw }) {
  const input = sampleInput(dims, 7, scale);
  const formats = [{ label: 'JSON', body: input.body, contentType: 'application/json' }];
  if (raw) formats.push({ label: 'raw float32', body: Buffer.from(input.flat.buffer), contentType: 'application/octet-stream' });
  const batch1 = new Map();
  for (const batch of [1, 8]) {
    const ceiling = await inProcessOnnx(file, options, input.flat, dims, batch, DURATION_S);
    results.push({ group: model, kind: 'ceiling', scenario: `${model} in-process ONNX Runtime, batch ${batch}`, batch, ...ceiling, serverRssBytes: ceiling.rssBytes, rssBytes: undefined });
    for (const format of formats) {
      await register(lantern, `url=${model}&initial_workers=1&batch_size=${batch}&max_batch_delay=${maxBatchDelayMs}`);
      const c = connections(batch);
      // The ceiling again right before the row (the worker is loaded and idle): the machine's speed drifts.
      const near = await inProcessOnnx(file, options, input.flat, dims, batch, DURATION_S);
      const row = await served(lantern, model, c, { body: format.body, contentType: format.contentType });
      if (batch === 1) batch1.set(format.label, row);
      const gain = batch === 8 ? { batchingGain: row.requestsPerSec / batch1.get(format.label).requestsPerSec } : {};
      results.push(withCeiling({ group: model, scenario: `${model} served, ${format.label}, batch ${batch}, 1 worker, c=${c}`, ...row, ...gain }, `in-process batch ${batch} just before`, near));
      log(`${model} ${format.label} b=${batch}: ${row.requestsPerSec.toFixed(1)} req/s served, ${near.requestsPerSec.toFixed(1)} in-process just before (${ceiling.requestsPerSec.toFixed(1)} first)`);
      await mgmt(lantern.management, 'DELETE', `/models/${model}`);
    }
  }
}

const workDir = await mkdtemp(path.join(os.tmpdir(), 'lantern-bench-'));
const store = path.join(workDir, 'store');
const resnet = runs('resnet18') || runs('torchserve') ? await resnet18File() : { file: null, reason: null };
if (resnet.reason !== null) skipped.push(`resnet18: ${resnet.reason}`);
await makeStore(store, { mlpOptions: MLP_OPTIONS, resnetFile: resnet.file, resnetOptions: RESNET_OPTIONS });
const loadAverage = os.loadavg();
try {
  if (runs('roundtrip')) await roundTrips(store);
  const env =
    cpuProfDir === null
      ? {}
      : { NODE_OPTIONS: `--require ${path.join(ROOT, 'bench', 'cpu-profile.cjs')}`, LANTERN_BENCH_PROFILE_DIR: path.resolve(cpuProfDir) };
  const lantern = await startLantern(workDir, store, { env, properties: extraProperties ? `${extraProperties}\n` : '' });
  try {
    if (runs('lifecycle')) await lifecycle(workDir, store, lantern);
    if (runs('noop')) await noop(workDir, lantern);
    if (runs('mlp')) {
      await onnxModel(lantern, {
        model: 'mlp',
        file: path.join(store, 'mlp', 'digits.onnx'),
        options: MLP_OPTIONS,
        dims: [64],
        scale: 16,
        connections: () => 64,
        maxBatchDelayMs: 5,
        raw: false,
      });
    }
    if (runs('resnet18') && resnet.file !== null) {
      await onnxModel(lantern, {
        model: 'resnet18',
        file: resnet.file,
        options: RESNET_OPTIONS,
        dims: [3, 224, 224],
        scale: 1,
        connections: (batch) => 2 * batch,
        maxBatchDelayMs: 50,
        raw: true,
      });
    }
  } finally {
    await stopProcess(lantern);
  }
  if (runs('torchserve') || runs('cnn')) {
    const torchserve = await findTorchServe();
    if (torchserve.reason !== null) skipped.push(`torchserve and cnn: ${torchserve.reason}`);
    else {
      if (runs('torchserve')) {
        await versusTorchServe({ dir: workDir, torchserve, resnet: { file: resnet.file, options: RESNET_OPTIONS }, durationS: DURATION_S, smoke: SMOKE, results, log });
      }
      if (runs('cnn')) {
        const ompThreads = option('--omp-threads', null);
        await cnnRows({ dir: workDir, torchserve, durationS: DURATION_S, smoke: SMOKE, ompThreads: ompThreads === null ? null : Number(ompThreads), results, log });
      }
    }
  }
} finally {
  await rm(workDir, { recursive: true, force: true });
}

const date = new Date().toISOString();
const report = {
  date,
  smoke: SMOKE,
  durationS: DURATION_S,
  machine: { cpus: CORES, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage },
  settings: { mlp: MLP_OPTIONS, resnet18: RESNET_OPTIONS },
  skipped,
  results,
};
await mkdir(outDir, { recursive: true });
const stamp = date.replace(/[:.]/g, '-');
const md = markdownTable(report);
await writeFile(path.join(outDir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(path.join(outDir, `${stamp}.md`), `${md}\n`);
console.log(md);
