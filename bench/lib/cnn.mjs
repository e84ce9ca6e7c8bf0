// The `cnn` group: resnet18 in PyTorch through TorchServe's built-in `image_classifier` handler, the
// way most TorchServe users serve a CNN. The same torch-model-archiver-style archives (eager: a
// model file and a state dict; TorchScript: a traced module), made by the benchmark with seeded
// random weights, run on TorchServe and on Lantern with 2 workers each in the same Python (TorchServe's
// virtual environment, which sees Debian's torch), and beside an in-process ceiling: the same
// handler called in a loop in as many processes as there are workers, with the same torch threads.
// A JPEG the benchmark makes is posted as raw bytes, as `curl --data-binary @kitten.jpg` does.
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { load, percentile } from './measure.mjs';
import { mgmt, ROOT, startLantern, stopProcess } from './processes.mjs';
import { drain, served, servedInSmoke, withCeiling } from './rows.mjs';
import { startTorchServe, stopTorchServe } from './torchserve.mjs';

const WORKERS = 2;
const MAX_BATCH_DELAY_MS = 50;
const CONCURRENCIES = [1, 8, 32, 64];

const MODELS = [
  { name: 'resnet18-eager', label: 'eager', serialized: 'resnet18.pth', modelFile: 'model.py' },
  { name: 'resnet18-script', label: 'TorchScript', serialized: 'resnet18.pt', modelFile: null },
];

/** Torch threads per worker: what Lantern's thread budget gives each of WORKERS workers, unless forced. */
export function workerThreads(ompThreads) {
  return ompThreads ?? Math.max(1, Math.floor(os.availableParallelism() / WORKERS));
}

async function makeArchives(dir, python) {
  const files = path.join(dir, 'cnn-files');
  await promisify(execFile)(python, [path.join(ROOT, 'bench', 'make_resnet_torch.py'), files], { timeout: 300_000 });
  const store = path.join(dir, 'cnn-store');
  await mkdir(store, { recursive: true });
  for (const m of MODELS) {
    const args = ['--model-name', m.name, '--version', '1.0', '--export-path', store, '--handler', 'image_classifier'];
    args.push('--serialized-file', path.join(files, m.serialized), '--extra-files', path.join(files, 'index_to_name.json'));
    if (m.modelFile !== null) args.push('--model-file', path.join(files, m.modelFile));
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'lantern-archiver.js'), ...args]);
  }
  return { files, store, image: await readFile(path.join(files, 'input.jpg')) };
}

/**
 * The handler in a loop, in WORKERS processes at once for `durationS`: req/s summed over them and the
 * percentiles of a batch's time (a request in a batch takes the batch's time).
 */
async function inProcessCeiling({ python, files, model, batch, durationS, env }) {
  const run = () =>
    new Promise((resolve, reject) => {
      const args = [path.join(ROOT, 'bench', 'handlers', 'handler_ceiling.py'), files, 'image_classifier', model.serialized, model.modelFile ?? '-', path.join(files, 'input.jpg'), String(batch), String(durationS)];
      const child = spawn(python, args, { env: { ...process.env, ...env, PYTHONPATH: path.join(ROOT, 'workers', 'python') }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', reject);
      child.on('close', (code) => {
        const line = out.split('\n').findLast((l) => l.startsWith('{'));
        if (code !== 0 || line === undefined) reject(new Error(`handler_ceiling.py exited ${code}: ${err.slice(-2000)}`));
        else resolve(JSON.parse(line));
      });
    });
  const parts = await Promise.all(Array.from({ length: WORKERS }, run));
  const batchMs = parts.flatMap((p) => p.batchMs);
  return {
    requestsPerSec: parts.reduce((sum, p) => sum + p.requests, 0) / durationS,
    p50Ms: percentile(batchMs, 50),
    p90Ms: percentile(batchMs, 90),
    p99Ms: percentile(batchMs, 99),
  };
}

/**
 * Runs the group, appending rows to `results`: per model and batch size, the in-process ceiling, then
 * at each concurrency TorchServe's row and Lantern's (its ratio: Lantern's req/s over TorchServe's;
 * its note: p99 over TorchServe's and req/s over the ceiling). `ompThreads` forces OMP_NUM_THREADS
 * on both servers and the ceiling (the unbudgeted case); otherwise Lantern budgets its workers'
 * threads and TorchServe's workers get the same number through OMP_NUM_THREADS.
 */
export async function cnnRows({ dir, torchserve, durationS, smoke = false, ompThreads = null, results, log }) {
  const { files, store, image } = await makeArchives(dir, torchserve.python);
  const threads = workerThreads(ompThreads);
  const env = { OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const tsName = `TorchServe ${torchserve.version}`;
  const input = { body: image, contentType: 'image/jpeg', timeoutS: 120 };
  const push = (row) => results.push({ group: 'cnn', ...row });
  const servers = [];
  try {
    servers.push({ name: tsName, proc: await startTorchServe(await mkdtemp(path.join(dir, 'cnn-ts-')), store, torchserve, { env }), stop: stopTorchServe });
    servers.push({
      name: 'Lantern',
      // Lantern's own budget when not forced (the same number: cores ÷ workers); forced, the same env as TorchServe.
      proc: await startLantern(await mkdtemp(path.join(dir, 'cnn-lantern-')), store, {
        properties: `python=${torchserve.python}\n`,
        env: ompThreads === null ? {} : env,
      }),
      stop: stopProcess,
    });
    const models = smoke ? MODELS.slice(0, 1) : MODELS;
    for (const model of models) {
      for (const batch of smoke ? [1] : [1, 8]) {
        const setting = `${model.label}, batch ${batch}, ${WORKERS} workers, ${threads} torch thread(s) each${ompThreads === null ? '' : ' (OMP_NUM_THREADS forced)'}`;
        const ceiling = await inProcessCeiling({ python: torchserve.python, files, model, batch, durationS, env });
        push({ scenario: `resnet18 ${setting}: in-process ceiling (image_classifier in a loop in ${WORKERS} processes)`, kind: 'ceiling', batch, ...ceiling });
        log(`cnn ${model.label} b=${batch}: in-process ${ceiling.requestsPerSec.toFixed(1)} req/s`);
        await Promise.all(
          servers.map(({ proc }) => mgmt(proc.management, 'POST', `/models?url=${model.name}.mar&initial_workers=${WORKERS}&batch_size=${batch}&max_batch_delay=${MAX_BATCH_DELAY_MS}&synchronous=true`)),
        );
        for (const { proc } of servers) {
          await load(`${proc.inference}/predictions/${model.name}`, { connections: 2 * batch, durationS: Math.min(durationS, 2), ...input });
          await drain(proc, model.name, input);
        }
        for (const c of smoke ? [8] : CONCURRENCIES) {
          let before = null;
          for (const { name, proc } of servers) {
            const row = smoke ? await servedInSmoke(proc, model.name, c, durationS, input, log) : await served(proc, model.name, c, durationS, input);
            await drain(proc, model.name, input);
            const scenario = `${name}: resnet18 ${setting}, c=${c}`;
            if (before === null) push({ scenario, ...row });
            else {
              const note = `p99 ÷ TorchServe's ${(row.p99Ms / before.p99Ms).toFixed(2)}; req/s ÷ in-process ceiling ${(row.requestsPerSec / ceiling.requestsPerSec).toFixed(2)}`;
              push({ ...withCeiling({ scenario, ...row }, `${tsName} just before`, before), p99RatioToTorchServe: row.p99Ms / before.p99Ms, ratioToInProcess: row.requestsPerSec / ceiling.requestsPerSec, note });
            }
            log(`${scenario}: ${row.requestsPerSec.toFixed(1)} req/s, p99 ${row.p99Ms.toFixed(0)} ms`);
            before = row;
          }
        }
        await Promise.all(servers.map(({ proc }) => mgmt(proc.management, 'DELETE', `/models/${model.name}`)));
      }
    }
  } finally {
    for (const { proc, stop } of servers.splice(0)) await stop(proc);
  }
}
