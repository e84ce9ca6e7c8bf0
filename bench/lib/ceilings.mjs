// Baselines measured in the same run as the scenarios they bound: the model called in-process by
// ONNX Runtime, and the front end ↔ worker round trip alone (no HTTP).
import { spawn } from 'node:child_process';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { WorkerProcess } from '../../dist/workers/worker-process.js';
import { workerLaunch } from '../../dist/workers/launch.js';
import { systemClock } from '../../dist/batching/clock.js';
import { Job } from '../../dist/batching/job.js';
import { percentile } from './measure.mjs';
import { ortSessionOptions } from '../../dist/node-worker/builtin/onnx-session-options.js';

/** Round trips made before any is timed (JIT compilation, first wake-ups). */
const WARM_UP = 1000;

/**
 * The model ceiling: `session.run` on a prebuilt tensor of `batch` samples, back to back for
 * `durationS`, with the session options the served model gets from its model-config.yaml.
 */
export async function inProcessOnnx(file, options, sampleFlat, sampleDims, batch, durationS) {
  const session = await ort.InferenceSession.create(file, ortSessionOptions(options));
  try {
    const data = new Float32Array(sampleFlat.length * batch);
    for (let i = 0; i < batch; i++) data.set(sampleFlat, i * sampleFlat.length);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, ...sampleDims]) };
    for (let i = 0; i < 3; i++) await session.run(feeds);
    const latencies = [];
    const end = performance.now() + durationS * 1000;
    const t0 = performance.now();
    while (performance.now() < end || latencies.length < 3) {
      const t = performance.now();
      await session.run(feeds);
      latencies.push(performance.now() - t);
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      requestsPerSec: (latencies.length * batch) / seconds,
      runsPerSec: latencies.length / seconds,
      p50Ms: percentile(latencies, 50),
      p90Ms: percentile(latencies, 90),
      p99Ms: percentile(latencies, 99),
      rssBytes: process.memoryUsage().rss,
    };
  } finally {
    await session.release();
  }
}

/**
 * The front end ↔ worker round trip alone: one worker process of `runtime` serving `handler` from
 * `modelDir`, sequential one-request batches, as the worker pool sends them (no HTTP, no queue).
 * Open, warmed up; each run(count) times `count` more round trips.
 */
export async function openWorkerRoundTrip(runtime, modelDir, handler) {
  const worker = new WorkerProcess(9000, workerLaunch(runtime, modelDir, handler, { python: 'python3', decodeInputRequest: true, baseEnv: process.env }), {
    maxResponseBytes: 6553500,
    clock: systemClock,
    onOutput: () => {},
  });
  const body = Buffer.from('{}');
  let sent = 0;
  const one = () =>
    new Promise((resolve, reject) => {
      const request = { requestId: `r${sent++}`, headers: [], parameters: [{ name: 'body', contentType: 'application/json', value: body }] };
      const job = new Job(request, 'predict', 0, { reply: (_e, last) => last && resolve(), fail: reject });
      void worker.run([job], 30_000);
    });
  try {
    await worker.load(
      { modelName: path.basename(modelDir), modelPath: modelDir, batchSize: 1, handler, gpuId: -1, envelope: '', limitMaxImagePixels: true },
      60_000,
    );
    for (let i = 0; i < WARM_UP; i++) await one();
  } catch (err) {
    await worker.stop();
    throw err;
  }
  return {
    run: (count) => timed(one, count),
    rssBytes: () => worker.rssBytes(),
    close: () => worker.stop(),
  };
}

/**
 * The floor under the round trip: a message of the same size bounced off a process that only
 * echoes it on the same kind of socket (fd 3 of a socketpair), sequentially. What the worker
 * protocol costs on top of this is Lantern's; this much is the machine's (two process wake-ups).
 * Open, warmed up, like openWorkerRoundTrip.
 */
export async function openPingPong(command, script, sizeBytes = 120) {
  const child = spawn(command, [script], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
  const socket = child.stdio[3];
  const message = Buffer.alloc(sizeBytes, 1);
  const one = () =>
    new Promise((resolve) => {
      let got = 0;
      const onData = (chunk) => {
        got += chunk.length;
        if (got >= sizeBytes) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
      socket.write(message);
    });
  for (let i = 0; i < WARM_UP; i++) await one();
  return {
    run: (count) => timed(one, count),
    close: () => {
      socket.end();
      return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    },
  };
}

/** `count` sequential calls of `one`: their mean time and each one's latency, in µs. */
async function timed(one, count) {
  const latencies = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    await one();
    latencies.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return { perRequestUs: Number(process.hrtime.bigint() - t0) / 1000 / count, latenciesUs: latencies };
}
