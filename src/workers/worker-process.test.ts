import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../clock.js';
import { Job } from '../batching/job.js';
import type { ServeError } from '../errors.js';
import { workerLaunch } from './launch.js';
import { WorkerProcess } from './worker-process.js';

// A real worker process (the Node runtime) under the injected clock: its deadlines move only when
// the test advances the clock.
describe('WorkerProcess', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lantern-worker-process-'));
  after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'MAR-INF'));
  await writeFile(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'node', model: { modelName: 'm', handler: 'slow.cjs', modelVersion: '1.0' } }));
  // 'hang' never answers; anything else is echoed.
  await writeFile(path.join(dir, 'slow.cjs'), "exports.handle = (batch) => batch.some((r) => String(r.body) === 'hang') ? new Promise(() => {}) : batch.map((r) => String(r.body));\n");
  const launch = workerLaunch('node', dir, 'slow.cjs', { python: 'python3', decodeInputRequest: true, baseEnv: { PATH: process.env.PATH ?? '' } });
  const load = { modelName: 'm', modelPath: dir, batchSize: 1, handler: 'slow.cjs', gpuId: -1, envelope: '', limitMaxImagePixels: true };

  function job(body: string): { job: Job; answer: Promise<string | ServeError> } {
    let settle!: (v: string | ServeError) => void;
    const answer = new Promise<string | ServeError>((resolve) => (settle = resolve));
    const request = { requestId: body, headers: [], parameters: [{ name: 'body', contentType: 'text/plain', value: Buffer.from(body) }] };
    return { job: new Job(request, 'predict', 0, { reply: (e) => settle(e.body.toString()), fail: settle }), answer };
  }

  it('kills a process that does not answer within the response timeout, failing its batch and saying why', async () => {
    const clock = new ManualClock();
    const lines: string[] = [];
    const worker = new WorkerProcess(9000, launch, { maxResponseBytes: 1 << 20, clock, onOutput: (line) => lines.push(line) });
    await worker.load(load, 60_000);
    const quick = job('hello');
    await worker.run([quick.job], 5000);
    assert.equal(await quick.answer, 'hello');
    const stuck = job('hang');
    const running = worker.run([stuck.job], 5000);
    clock.advance(4999);
    assert.equal(worker.pid > 0, true);
    clock.advance(1);
    const exit = await worker.exited;
    assert.match(exit.reason, /did not respond in given time \(5000 ms\)/);
    assert.equal(((await stuck.answer) as ServeError).message, 'Worker died.');
    assert.deepEqual(await running, []);
    assert.ok(lines.some((l) => /did not respond in given time \(5000 ms\); killing it/.test(l)));
  });

  it('kills a process that does not load within the startup timeout', async () => {
    const clock = new ManualClock();
    const worker = new WorkerProcess(9001, { ...launch, args: ['-e', 'setInterval(() => {}, 1000)'] }, { maxResponseBytes: 1 << 20, clock, onOutput: () => undefined });
    const loading = worker.load(load, 10_000);
    clock.advance(10_000);
    await assert.rejects(loading, /before loading the model/);
    assert.match((await worker.exited).reason, /did not load the model in time/);
  });

  it('hands back a batch it never started when it is closed, and close is idempotent', async () => {
    const clock = new ManualClock();
    const worker = new WorkerProcess(9002, launch, { maxResponseBytes: 1 << 20, clock, onOutput: () => undefined });
    await worker.load(load, 60_000);
    const first = job('hang');
    const second = job('next');
    void worker.run([first.job], 60_000);
    const handedBack = worker.run([second.job], 60_000);
    await Promise.all([worker.close(), worker.close()]);
    assert.equal(((await first.answer) as ServeError).message, 'Worker died.');
    assert.deepEqual((await handedBack).map((j) => j.id), ['next']);
  });
});
