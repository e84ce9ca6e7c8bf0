// The `torchserve` group: the same scenarios on TorchServe and on Lantern, side by side on this
// machine. Both servers load the same archives (made by lantern-archiver), run the same Python
// handlers in the same interpreter (TorchServe's virtual environment) and log as they do by
// default; each Lantern row comes right after its TorchServe row, and its ratio is Lantern's
// req/s over TorchServe's: above 1, Lantern serves more.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { load, rssOf } from './measure.mjs';
import { onnxYaml, sampleInput } from './models.mjs';
import { mgmt, ROOT, startLantern, stopProcess, workerPids } from './processes.mjs';
import { drain, firstPrediction, register, registerAndScale, served, servedInSmoke, withCeiling } from './rows.mjs';
import { startTorchServe, stopTorchServe } from './torchserve.mjs';

const HANDLERS = path.join(ROOT, 'bench', 'handlers');

async function archive(store, name, args) {
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'lantern-archiver.js'), '--model-name', name, '--version', '1.0', '--export-path', store, ...args]);
  return `${name}.mar`;
}

/** The archives both servers load: the no-op Python handler and, with its .onnx file, resnet18 on ONNX Runtime's Python API. */
async function makeArchives(dir, resnet) {
  const store = path.join(dir, 'mar-store');
  await mkdir(store, { recursive: true });
  await archive(store, 'noop', ['--handler', path.join(HANDLERS, 'noop_handler.py')]);
  if (resnet.file !== null) {
    const yaml = path.join(dir, 'resnet18-py.yaml');
    await writeFile(yaml, onnxYaml(resnet.options));
    await archive(store, 'resnet18-py', ['--handler', path.join(HANDLERS, 'onnx_raw_handler.py'), '--serialized-file', resnet.file, '-c', yaml]);
  }
  return store;
}

/**
 * Runs the group, appending rows to `results`. `torchserve` is findTorchServe()'s answer,
 * `resnet` { file, options } (file null: no resnet18 rows); `smoke`: rows measured as servedInSmoke does.
 */
export async function versusTorchServe({ dir, torchserve, resnet, durationS, smoke = false, results, log }) {
  const store = await makeArchives(dir, resnet);
  const tsName = `TorchServe ${torchserve.version}`;
  const sides = [
    { name: tsName, start: (runDir, models) => startTorchServe(runDir, store, torchserve, { models }), stop: stopTorchServe },
    {
      name: 'Lantern',
      start: (runDir, models) =>
        startLantern(runDir, store, { properties: `python=${torchserve.python}\ndefault_workers_per_model=1\n`, models }),
      stop: stopProcess,
    },
  ];
  const push = (row) => results.push({ group: 'torchserve', ...row });
  const servers = [];
  try {
    for (const side of sides) servers.push({ side, proc: await side.start(await mkdtemp(path.join(dir, 'side-')), null) });
    for (const { side, proc } of servers) push({ scenario: `${side.name}: front end at rest, no model`, serverRssBytes: await rssOf(proc.pid) });

    /** One scenario on each server in turn; the Lantern row is compared with the TorchServe row. */
    const pair = async (label, model, connections, loadOptions = {}) => {
      let before = null;
      for (const { side, proc } of servers) {
        const row = smoke ? await servedInSmoke(proc, model, connections, durationS, loadOptions, log) : await served(proc, model, connections, durationS, loadOptions);
        await drain(proc, model, loadOptions);
        const scenario = `${side.name}: ${label}`;
        push(before === null ? { scenario, ...row } : withCeiling({ scenario, ...row }, `${tsName} just before`, before));
        log(`${scenario}: ${row.requestsPerSec.toFixed(1)} req/s`);
        before = row;
      }
    };
    const registerAll = (query) => Promise.all(servers.map(({ proc }) => register(proc, query)));
    const unregisterAll = (model) => Promise.all(servers.map(({ proc }) => mgmt(proc.management, 'DELETE', `/models/${model}`)));

    await registerAll('url=noop.mar&initial_workers=1');
    // TorchServe's front end is a JVM: a first load lets its JIT compile the hot path, as Lantern's V8 does.
    for (const { proc } of servers) {
      await load(`${proc.inference}/predictions/noop`, { connections: 8, durationS: Math.min(durationS, 3) });
      await drain(proc, 'noop');
    }
    for (const [workers, concurrencies] of [
      [1, [1, 8, 64]],
      [2, [64]],
    ]) {
      await Promise.all(servers.map(({ proc }) => mgmt(proc.management, 'PUT', `/models/noop?min_worker=${workers}&max_worker=${workers}&synchronous=true`)));
      for (const c of concurrencies) await pair(`noop python, ${workers} worker(s), c=${c}, same archive`, 'noop', c);
    }
    await unregisterAll('noop');

    if (resnet.file !== null) {
      const input = { body: Buffer.from(sampleInput([3, 224, 224], 7, 1).flat.buffer), contentType: 'application/octet-stream' };
      for (const batch of [1, 8]) {
        await registerAll(`url=resnet18-py.mar&initial_workers=1&batch_size=${batch}&max_batch_delay=50`);
        // Warmed up alike: the first batches (ONNX Runtime's first runs) would otherwise be the p99.
        const warmUp = { connections: 2 * batch, durationS: Math.min(durationS, 2), ...input };
        for (const { proc } of servers) {
          await load(`${proc.inference}/predictions/resnet18-py`, warmUp);
          await drain(proc, 'resnet18-py', input);
        }
        await pair(`resnet18 on ONNX Runtime's Python API, raw float32, batch ${batch}, 1 worker, c=${2 * batch}, same archive`, 'resnet18-py', 2 * batch, input);
        await unregisterAll('resnet18-py');
      }
    }

    for (const { side, proc } of servers) {
      push({ scenario: `${side.name}: register + scale 0→4 workers (python no-op, same archive)`, ...(await registerAndScale(proc, 'noop', 'noop.mar')) });
    }
  } finally {
    for (const { side, proc } of servers.splice(0)) await side.stop(proc);
  }

  for (const side of sides) {
    const t0 = performance.now();
    const proc = await side.start(await mkdtemp(path.join(dir, 'cold-')), 'noop=noop.mar');
    let workers = [];
    try {
      await firstPrediction(`${proc.inference}/predictions/noop`);
      push({ scenario: `${side.name}: cold start, process start to first prediction (python no-op, same archive)`, coldStartMs: performance.now() - t0 });
      workers = await workerPids(proc.management, 'noop');
    } finally {
      await side.stop(proc, workers);
    }
  }
}
