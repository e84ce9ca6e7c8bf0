// Worker behavior over real processes (spec §7): batching, queue capacity, a crashing worker,
// the response timeout, and scaling up and down.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  expectError,
  expectStatus,
  lanternPerTest,
  pidAlive,
  request,
  waitAllDead,
  waitFor,
  type Lantern,
  type MarSpec,
} from './harness.js';
import { countLines, pipelineBehindRunning, waitForLine } from './observed-state.js';

const BATCH: MarSpec = { file: 'batch.mar', handler: 'batch_handler.py', modelName: 'batch' };
const SLOW: MarSpec = { file: 'slow.mar', handler: 'slow_handler.py', modelName: 'slow' };
/** The slow model with pipelining on (slow batches are not pipelined unless the model says so). */
const SLOW_PIPELINED: MarSpec = { ...SLOW, config: 'pipelineDepth: 2\n' };
const CRASH: MarSpec = { file: 'crash.mar', handler: 'crash_handler.py', modelName: 'crash' };
const ECHO: MarSpec = { file: 'echo.mar', handler: 'echo_handler.py', modelName: 'echo' };

interface DescribedWorker {
  id: string;
  status: string;
  pid: number;
}

async function workersOf(lantern: Lantern, name: string): Promise<DescribedWorker[]> {
  const reply = await request('GET', `${lantern.management}/models/${name}`);
  assert.equal(reply.status, 200, reply.text);
  return reply.json<Array<{ workers: DescribedWorker[] }>>()[0]?.workers ?? [];
}

async function register(lantern: Lantern, query: string): Promise<void> {
  const reply = await request('POST', `${lantern.management}/models?${query}`);
  assert.equal(reply.status, 200, reply.text);
}

describe('workers', () => {
  const lanterns = lanternPerTest({ afterEach });

  /** Lantern serving `spec` with one worker (`extra` registration parameters), and that worker. */
  async function withOneWorker(spec: MarSpec, extra = ''): Promise<{ lantern: Lantern; before: DescribedWorker }> {
    const lantern = await lanterns.start({ archives: [spec] });
    await register(lantern, `url=${spec.file}&initial_workers=1&synchronous=true${extra}`);
    assert.ok(spec.modelName !== null);
    const [before] = await workersOf(lantern, spec.modelName);
    assert.ok(before !== undefined && pidAlive(before.pid));
    lanterns.seen([before.pid]);
    return { lantern, before };
  }

  /** The model's worker once it is READY again in a new process. */
  function restarted(lantern: Lantern, model: string, before: DescribedWorker): Promise<DescribedWorker> {
    return waitFor('the worker to be back', async () => {
      const [w] = await workersOf(lantern, model);
      return w !== undefined && w.status === 'READY' && w.pid !== before.pid ? w : null;
    });
  }

  describe('batching', () => {
    it('hands concurrent requests to the handler as one batch', async () => {
      const lantern = await lanterns.start({ archives: [BATCH] });
      await register(lantern, 'url=batch.mar&batch_size=4&max_batch_delay=500&initial_workers=1&synchronous=true');
      const replies = await Promise.all(
        [0, 1, 2, 3].map(() => request('POST', `${lantern.inference}/predictions/batch`, { body: 'x' })),
      );
      const bodies = replies.map((r) => {
        assert.equal(r.status, 200, r.text);
        return r.json<{ batch_size: number; request_id: string }>();
      });
      assert.deepEqual(bodies.map((b) => b.batch_size), [4, 4, 4, 4]);
      // Each reply went back to its own request.
      assert.deepEqual(bodies.map((b) => b.request_id), replies.map((r) => r.headers.get('x-request-id')));
    });

    it('sends a lone request after max_batch_delay', async () => {
      const lantern = await lanterns.start({ archives: [BATCH] });
      await register(lantern, 'url=batch.mar&batch_size=4&max_batch_delay=500&initial_workers=1&synchronous=true');
      const started = Date.now();
      const reply = await request('POST', `${lantern.inference}/predictions/batch`, { body: 'x' });
      const elapsed = Date.now() - started;
      assert.equal(reply.json<{ batch_size: number }>().batch_size, 1);
      assert.ok(elapsed >= 450, `waited ${elapsed} ms for more requests`);
    });
  });

  it('answers 503 when the job queue is full', async () => {
    const lantern = await lanterns.start({ archives: [SLOW], properties: ['job_queue_size=2'] });
    await register(lantern, 'url=slow.mar&initial_workers=1&synchronous=true');
    const busy = request('POST', `${lantern.inference}/predictions/slow`, { body: '2' });
    // Once the handler works on the first request, fill the queue.
    await waitFor('the handler to start on the first request', () => lantern.logs.some((l) => l.includes('slow_handler: sleeping 2')));
    const queued = [request('POST', `${lantern.inference}/predictions/slow`, { body: '0' }), request('POST', `${lantern.inference}/predictions/slow`, { body: '0' })];
    await waitFor('two queued requests', async () => {
      const [model] = (await request('GET', `${lantern.management}/models/slow`)).json<Array<{ jobQueueStatus: object }>>();
      return JSON.stringify(model?.jobQueueStatus) === JSON.stringify({ remainingCapacity: 0, pendingRequests: 2 }) || null;
    });
    expectError(
      await request('POST', `${lantern.inference}/predictions/slow`, { body: '0' }),
      503,
      'ServiceUnavailableException',
      'Model "slow" has no worker to serve inference request. Please use scale workers API to add workers. If this is a sequence inference, please check if it is closed, or expired; or exceeds maxSequenceJobQueueSize',
    );
    for (const reply of await Promise.all([busy, ...queued])) assert.equal(reply.status, 200, reply.text);
  });

  it('answers the in-flight request of a crashed worker with 500 and restarts the worker', async () => {
    const { lantern, before } = await withOneWorker(CRASH);

    const crashed = request('POST', `${lantern.inference}/predictions/crash`, { body: 'crash' });
    // Queued behind the crash: not lost, served by the restarted worker.
    await waitForLine(lantern.logs, 'crash_handler: exiting');
    const queued = request('POST', `${lantern.inference}/predictions/crash`, { body: 'ok' });
    expectError(await crashed, 500, 'InternalServerException', 'Worker died.');
    await waitAllDead([before.pid]);

    const after = await restarted(lantern, 'crash', before);
    assert.equal(after.id, before.id, 'the restarted worker keeps its id');
    assert.ok(pidAlive(after.pid));
    lanterns.seen([after.pid]);
    const queuedReply = await queued;
    assert.equal(queuedReply.status, 200, queuedReply.text);
    assert.equal(queuedReply.json<{ pid: number }>().pid, after.pid);
    const again = await request('POST', `${lantern.inference}/predictions/crash`, { body: 'ok' });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json<{ pid: number }>().pid, after.pid);
  });

  it('serves a batch that waited in a killed worker behind the running one (pipelined) with the restarted worker', async () => {
    const { lantern, before } = await withOneWorker(SLOW_PIPELINED);
    const { running, behind } = await pipelineBehindRunning(lantern, 30, 0);

    // Killed as the OOM killer would: TorchServe answers that with 507.
    process.kill(before.pid, 'SIGKILL');
    expectError(await running, 507, 'InternalServerException', 'Worker died.');
    // The request that waited in the dead worker's socket goes back to the queue, not to the client as an error.
    const reply = await behind;
    assert.equal(reply.status, 200, reply.text);
    const servedBy = reply.json<{ pid: number }>().pid;
    assert.notEqual(servedBy, before.pid);
    lanterns.seen([servedBy]);
    assert.equal(countLines(lantern.logs, 'slow_handler: sleeping 0.0'), 1, 'the third request ran once, in the restarted worker');
  });

  it('answers 500 when the worker exceeds response_timeout, then recovers', async () => {
    const { lantern, before } = await withOneWorker(SLOW, '&response_timeout=1');
    const started = Date.now();
    expectError(await request('POST', `${lantern.inference}/predictions/slow`, { body: '30' }), 500, 'InternalServerException', 'Worker died.');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 900 && elapsed < 10_000, `timed out after ${elapsed} ms`);
    await waitAllDead([before.pid]);
    const after = await restarted(lantern, 'slow', before);
    assert.equal(after.id, before.id);
    lanterns.seen([after.pid]);
    const reply = await request('POST', `${lantern.inference}/predictions/slow`, { body: '0' });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json<{ pid: number }>().pid, after.pid);
  });

  it('starts and stops real processes when scaling up and down', async () => {
    const lantern = await lanterns.start({ archives: [ECHO] });
    await register(lantern, 'url=echo.mar&initial_workers=1&synchronous=true');
    const [first] = lantern.pids('echo');
    assert.ok(first !== undefined && pidAlive(first));

    expectStatus(await request('PUT', `${lantern.management}/models/echo?min_worker=3&synchronous=true`), 200, 'Workers scaled to 3 for model: echo');
    const three = lantern.pids('echo');
    lanterns.seen(three);
    assert.equal(three.length, 3);
    assert.ok(three.every(pidAlive));
    assert.deepEqual((await workersOf(lantern, 'echo')).map((w) => w.pid).sort(), [...three].sort());
    assert.deepEqual((await lantern.osWorkerPids()).sort(), [...three].sort(), 'the OS sees exactly these workers');

    // Between min and max nothing changes.
    expectStatus(await request('PUT', `${lantern.management}/models/echo?min_worker=1&max_worker=5&synchronous=true`), 200, 'Workers scaled to 1 for model: echo');
    assert.deepEqual(lantern.pids('echo'), three);

    // Scale-down stops the newest workers first.
    expectStatus(await request('PUT', `${lantern.management}/models/echo?min_worker=1&synchronous=true`), 200, 'Workers scaled to 1 for model: echo');
    assert.deepEqual(lantern.pids('echo'), [first]);
    await waitAllDead(three.filter((p) => p !== first));
    assert.ok(pidAlive(first));
    assert.deepEqual((await workersOf(lantern, 'echo')).map((w) => w.id), ['9000']);
    assert.deepEqual(await lantern.osWorkerPids(), [first]);
    const reply = await request('POST', `${lantern.inference}/predictions/echo`, { body: 'x' });
    assert.equal(reply.status, 200, reply.text);

    expectStatus(await request('PUT', `${lantern.management}/models/echo?min_worker=0&synchronous=true`), 200, 'Workers scaled to 0 for model: echo');
    await waitAllDead([first]);
    assert.deepEqual(await workersOf(lantern, 'echo'), []);
    assert.deepEqual(await lantern.osWorkerPids(), []);
  });
});
