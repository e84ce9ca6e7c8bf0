// Baselines measured in the same run as the scenarios they bound: the model called in-process by
// ONNX Runtime, and the front end ↔ worker round trip alone (no HTTP).
import { spawn } from 'node:child_process';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { WorkerProcess } from '../../dist/workers/worker-process.js';
import { workerLaunch } from '../../dist/workers/launch.js';
import { systemClock } from '../../dist/clock.js';
import { Job } from '../../dist/batching/job.js';
import { percentile } from './measure.mjs';
import { ortSessionOptions } from '../../dist/node-worker/builtin/onnx-session-options.js';

/** Round trips made before any is timed (JIT compilation, first wake-ups). */
const WARM_UP = 1000;

/** A floor round trip takes tens of µs; one pending this long means the echo process is stuck. */
const PING_PONG_TIMEOUT_MS = 10_000;

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
    await worker.close();
    throw err;
  }
  return {
    pid: worker.pid,
    run: (count) => timed(one, count),
    rssBytes: () => worker.rssBytes(),
    close: () => worker.close(),
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
  // A round trip that cannot finish (the echo process gone or stuck) fails the group instead of
  // hanging the benchmark: one watchdog for all of them, so the timed path stays a bare write.
  let pending = null;
  const fail = (reason) => {
    const waiting = pending;
    pending = null;
    waiting?.reject(new Error(`ping-pong with ${script}: ${reason}`));
  };
  child.once('error', (err) => fail(err.message));
  child.once('exit', (code, signal) => fail(`the echo process exited (${signal ?? code})`));
  const watchdog = setInterval(() => {
    if (pending !== null && performance.now() - pending.since > PING_PONG_TIMEOUT_MS) fail(`no echo within ${PING_PONG_TIMEOUT_MS} ms`);
  }, 1000);
  watchdog.unref();
  let got = 0;
  socket.on('data', (chunk) => {
    got += chunk.length;
    if (got >= sizeBytes && pending !== null) {
      const waiting = pending;
      pending = null;
      waiting.resolve();
    }
  });
  const one = () =>
    new Promise((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error(`ping-pong with ${script}: the echo process exited`));
        return;
      }
      got = 0;
      pending = { resolve, reject, since: performance.now() };
      socket.write(message);
    });
  const close = () => {
    clearInterval(watchdog);
    socket.end();
    return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
  };
  try {
    for (let i = 0; i < WARM_UP; i++) await one();
  } catch (err) {
    child.kill();
    await close();
    throw err;
  }
  return { pid: child.pid, run: (count) => timed(one, count), close };
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
