import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ServeError } from '../errors.js';
import { ManualClock } from '../clock.js';
import { Job } from '../batching/job.js';
import { JobQueue } from '../batching/job-queue.js';
import { FakeWorker, fakeWorkers, type LoadOutcome } from './fake-worker.js';
import { pipelineDepth, WorkerPool } from './worker-pool.js';

describe('pipelineDepth (batches a busy worker holds)', () => {
  it('holds only the running batch until the batch time is known, and when batches take 1 ms or more', () => {
    assert.equal(pipelineDepth(null), 1);
    assert.equal(pipelineDepth(1), 1);
    assert.equal(pipelineDepth(250), 1);
  });

  it('holds about 1 ms of quicker batches behind the running one', () => {
    assert.equal(pipelineDepth(0.5), 3);
    assert.equal(pipelineDepth(0.25), 5);
    assert.equal(pipelineDepth(0.1), 11);
  });

  it('holds at most 16 batches, however quick they are', () => {
    assert.equal(pipelineDepth(0.05), 16);
    assert.equal(pipelineDepth(0), 16);
  });

  it("takes the model's fixed depth over its batch time", () => {
    assert.equal(pipelineDepth(250, 2), 2);
    assert.equal(pipelineDepth(0.1, 1), 1);
    assert.equal(pipelineDepth(null, 99), 16);
  });
});

// The pool driven through fake workers and a manual clock: every test below names the behaviour
// it pins, and each fails when that behaviour is switched off (pipelining, requeue, back-off).

interface Answer {
  readonly body: string | null;
  readonly error: ServeError | null;
}

function makeJob(id: string, answers: Map<string, Answer>): Job {
  return new Job({ requestId: id, headers: [], parameters: [] }, 'predict', 0, {
    reply: (entry) => answers.set(id, { body: entry.body.toString(), error: null }),
    fail: (error) => answers.set(id, { body: null, error }),
  });
}

/** Lets promise continuations run until nothing is left to run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

function setUp(options: { batchSize?: number; queueCapacity?: number; retrySec?: number; outcome?: () => LoadOutcome; maxRssBytes?: number; pipelineDepth?: number } = {}) {
  const clock = new ManualClock();
  const queue = new JobQueue(options.queueCapacity ?? 100, clock);
  const workers = fakeWorkers(options.outcome);
  const logs: string[] = [];
  let nextId = 9000;
  const pool = new WorkerPool(
    {
      modelName: 'm',
      version: '1.0',
      load: { modelName: 'm', modelPath: '/nowhere', batchSize: options.batchSize ?? 1, handler: 'h', gpuId: -1, envelope: '', limitMaxImagePixels: true },
      batchSize: options.batchSize ?? 1,
      maxBatchDelayMs: 0,
      responseTimeoutMs: 120_000,
      startupTimeoutMs: 120_000,
      maxRetryTimeoutSec: options.retrySec ?? 300,
      maxResponseBytes: 1 << 20,
      maxWorkerRssBytes: options.maxRssBytes ?? null,
      pipelineDepth: options.pipelineDepth ?? null,
    },
    { queue, clock, createWorker: workers.factory, nextWorkerId: () => nextId++, log: (id, line) => logs.push(`${id} ${line}`) },
  );
  const answers = new Map<string, Answer>();
  const submit = (...ids: string[]): void => {
    for (const id of ids) assert.ok(queue.offer(makeJob(id, answers)), `queue took ${id}`);
  };
  return { clock, queue, made: workers.made, pool, logs, answers, submit };
}

/** Ends a test: whatever a fake worker still holds is answered. */
const TEST_OVER = new ServeError(503, 'ServiceUnavailableException', 'test over');

const kinds = (pool: WorkerPool): string[] => pool.states().map((s) => s.state.kind);

describe('WorkerPool with fake workers', () => {
  it('scales up to min workers, each ready once loaded, with ids counted from 9000', async () => {
    const { pool, made } = setUp();
    await pool.scale(2, 2);
    assert.deepEqual(kinds(pool), ['ready', 'ready']);
    assert.deepEqual(made.map((w) => w.id), [9000, 9001]);
    assert.equal(pool.readyCount(), 2);
    await pool.destroy(TEST_OVER);
  });

  it('scales down the newest worker, letting a busy one finish its batch first', async () => {
    const { pool, made, submit, answers } = setUp();
    await pool.scale(2, 2);
    submit('a');
    await settle();
    const busy = made.find((w) => w.sent.length === 1);
    assert.ok(busy, 'one worker runs the batch');
    const scaling = pool.scale(0, 0);
    await settle();
    assert.equal(answers.size, 0, 'the running batch is not cut short');
    busy.answer();
    await scaling;
    assert.equal(answers.get('a')?.error, null);
    assert.ok(made.every((w) => !w.alive));
    assert.equal(pool.size, 0);
  });

  it('restarts a crashed worker under the same id after the back-off, and records why', async () => {
    const { pool, made, clock, logs } = setUp();
    await pool.scale(1, 1);
    made[0]?.crash(3);
    await settle();
    assert.deepEqual(pool.states()[0]?.state, { kind: 'backing-off', attempt: 1, failingSinceMs: 0, delayMs: 1000 });
    assert.match(pool.states()[0]?.history.at(-1)?.reason ?? '', /exited with code 3/);
    assert.ok(logs.some((l) => /restarting in 1 s/.test(l)));
    clock.advance(999);
    await settle();
    assert.equal(made.length, 1, 'no restart before the back-off');
    clock.advance(1);
    await settle();
    assert.equal(made.length, 2);
    assert.equal(made[1]?.id, 9000);
    assert.deepEqual(kinds(pool), ['ready']);
    const [report] = await pool.report();
    assert.equal(report?.restarts, 1);
    assert.match(report?.lastError?.reason ?? '', /exited with code 3/, 'the last failure stays after the worker recovers');
    assert.equal(report?.pid, made[1]?.pid);
    await pool.destroy(TEST_OVER);
  });

  it('waits longer after each failure in a row, and gives up once the retry window has passed', async () => {
    const failure = new ServeError(500, 'InternalServerException', 'handler raised at import');
    const { pool, made, clock, logs } = setUp({ retrySec: 4, outcome: () => failure });
    await assert.rejects(pool.scale(1, 1), /Failed to start workers for model m version: 1.0/);
    const delays: number[] = [];
    for (let i = 0; i < 10 && pool.states()[0]?.state.kind === 'backing-off'; i++) {
      const state = pool.states()[0]?.state;
      if (state?.kind === 'backing-off') delays.push(state.delayMs);
      clock.advance(state?.kind === 'backing-off' ? state.delayMs : 0);
      await settle();
    }
    assert.deepEqual(delays, [1000, 1000, 2000]);
    assert.deepEqual(kinds(pool), ['failed']);
    assert.equal(made.length, 4);
    assert.equal(pool.healthyCount(), 0);
    assert.ok(logs.some((l) => /retry window of 4 s exhausted/.test(l)));
    await pool.destroy(TEST_OVER);
  });

  it('answers queued predictions with 503 and the load error at once when no worker could load', async () => {
    const failure = new ServeError(500, 'InternalServerException', 'handler raised at import');
    const { pool, submit, answers, queue } = setUp({ outcome: () => failure });
    submit('a', 'b');
    await assert.rejects(pool.scale(1, 1));
    assert.equal(queue.pending, 0);
    const expected = 'Model "m" version 1.0 has no worker ready: its last load failed: handler raised at import';
    for (const id of ['a', 'b']) {
      assert.equal(answers.get(id)?.error?.status, 503);
      assert.equal(answers.get(id)?.error?.message, expected);
    }
    assert.equal(pool.loadFailure()?.code, 'MODEL_LOAD_FAILED');
    await pool.destroy(TEST_OVER);
  });

  it('pipelines quick batches: a busy worker is sent about 1 ms of full batches behind the one it runs', async () => {
    const { pool, made, submit, queue } = setUp();
    await pool.scale(1, 1);
    const worker = made[0] as FakeWorker;
    worker.batchMs = 0.5;
    submit('a', 'b', 'c', 'd');
    await settle();
    assert.deepEqual(worker.history, [['a'], ['b'], ['c']], 'b and c wait in the worker, d in the queue');
    assert.equal(queue.pending, 1);
    worker.answer();
    await settle();
    assert.deepEqual(worker.history, [['a'], ['b'], ['c'], ['d']]);
    await pool.destroy(TEST_OVER);
  });

  it('does not pipeline slow batches: they wait in the queue for whichever worker frees up first', async () => {
    const { pool, made, submit, queue, answers } = setUp();
    await pool.scale(2, 2);
    for (const w of made) w.batchMs = 50;
    submit('a', 'b', 'c');
    await settle();
    assert.deepEqual(made.map((w) => w.history.length), [1, 1]);
    assert.equal(queue.pending, 1);
    const second = made[1] as FakeWorker;
    second.answer();
    await settle();
    assert.deepEqual(second.history.at(-1), ['c'], 'the worker that freed up first takes c');
    assert.equal(answers.size, 1);
    await pool.destroy(TEST_OVER);
  });

  it("pipelines slow batches too when the model fixes a depth (model-config.yaml pipelineDepth)", async () => {
    const { pool, made, submit, queue } = setUp({ pipelineDepth: 2 });
    await pool.scale(1, 1);
    (made[0] as FakeWorker).batchMs = 50;
    submit('a', 'b', 'c');
    await settle();
    assert.deepEqual(made[0]?.history, [['a'], ['b']]);
    assert.equal(queue.pending, 1);
    await pool.destroy(TEST_OVER);
  });

  it('requeues a pipelined batch the worker never started when it crashes, and the restarted worker answers it', async () => {
    const { pool, made, submit, answers, clock } = setUp({ pipelineDepth: 2 });
    await pool.scale(1, 1);
    submit('a', 'b');
    await settle();
    assert.deepEqual(made[0]?.history, [['a'], ['b']]);
    made[0]?.crash();
    await settle();
    assert.equal(answers.get('a')?.error?.message, 'Worker died.');
    assert.equal(answers.has('b'), false, 'b is back in the queue, not failed');
    clock.advance(1000);
    await settle();
    made[1]?.answer();
    await settle();
    assert.equal(answers.get('b')?.body, '9000:b');
    await pool.destroy(TEST_OVER);
  });

  it('requeues only as many unstarted jobs as the queue has room for and answers the others', async () => {
    const { pool, made, submit, answers } = setUp({ batchSize: 2, queueCapacity: 4, pipelineDepth: 2 });
    await pool.scale(1, 1);
    submit('a', 'b', 'c', 'd');
    await settle();
    assert.deepEqual(made[0]?.history, [['a', 'b'], ['c', 'd']]);
    submit('e', 'f', 'g');
    made[0]?.crash();
    await settle();
    assert.equal(answers.get('a')?.error?.message, 'Worker died.');
    assert.equal(answers.has('c'), false, 'c fits in the one free place');
    assert.equal(answers.get('d')?.error?.message, 'Worker died.');
    await pool.destroy(TEST_OVER);
  });

  it('close lets each worker finish what it runs and holds, takes nothing new, then stops it', async () => {
    const { pool, made, submit, answers, queue } = setUp({ pipelineDepth: 2 });
    await pool.scale(1, 1);
    submit('a', 'b', 'c');
    await settle();
    const closing = pool.close();
    await settle();
    assert.equal(made[0]?.alive, true, 'the busy worker is not cut short');
    made[0]?.answer();
    made[0]?.answer();
    await closing;
    assert.equal(answers.get('a')?.error, null);
    assert.equal(answers.get('b')?.error, null, 'the batch pipelined behind it is answered too');
    assert.equal(queue.pending, 1, 'c was never taken');
    assert.ok(made.every((w) => !w.alive));
    assert.equal(pool.size, 0);
    await pool.close();
  });

  it('destroy stops every worker now, answering what they run and hold with its error, even while closing', async () => {
    const { pool, made, submit, answers } = setUp({ pipelineDepth: 2 });
    await pool.scale(2, 2);
    submit('a', 'b', 'c');
    await settle();
    const closing = pool.close();
    const stopping = new ServeError(503, 'ServiceUnavailableException', 'Server is shutting down');
    await pool.destroy(stopping);
    await closing;
    assert.ok(made.every((w) => !w.alive));
    for (const id of ['a', 'b', 'c']) assert.equal(answers.get(id)?.error, stopping, id);
    assert.equal(pool.size, 0);
    await pool.destroy(stopping);
  });

  it('a worker stopped while it waits to restart starts no new process', async () => {
    const { pool, made, clock } = setUp();
    await pool.scale(1, 1);
    made[0]?.crash();
    await settle();
    await pool.scale(0, 0);
    clock.advance(10_000);
    await settle();
    assert.equal(made.length, 1);
    assert.equal(pool.size, 0);
  });
});

describe('load failures', () => {
  it('name the missing Python module and how to install it', async () => {
    const failure = new ServeError(500, 'InternalServerException', "ModuleNotFoundError: No module named 'sentencepiece'");
    const { pool, logs } = setUp({ outcome: () => failure });
    await assert.rejects(pool.scale(1, 1));
    assert.ok(logs.some((l) => /needs the Python module 'sentencepiece'.*install_py_dep_per_model=true/.test(l)), logs.join('\n'));
    await pool.destroy(TEST_OVER);
  });

  it('stop refusing predictions once a worker loads again', async () => {
    let loads = 0;
    const failure = new ServeError(500, 'InternalServerException', 'flaky import');
    const { pool, clock } = setUp({ outcome: () => (loads++ === 0 ? failure : 'loads') });
    await assert.rejects(pool.scale(1, 1));
    assert.notEqual(pool.loadFailure(), null);
    clock.advance(1000);
    await settle();
    assert.equal(pool.loadFailure(), null);
    assert.deepEqual(kinds(pool), ['ready']);
    await pool.destroy(TEST_OVER);
  });
});

describe('the worker memory limit', () => {
  it('replaces a worker over it after a batch with a fresh process at once, under the same id, not as a failure', async () => {
    const { pool, made, submit, answers, logs, clock } = setUp({ maxRssBytes: 100 * 1048576 });
    await pool.scale(1, 1);
    (made[0] as FakeWorker).rss = 150 * 1048576;
    submit('a');
    await settle();
    made[0]?.answer();
    await settle();
    assert.equal(answers.get('a')?.error, null, 'the batch is answered first');
    assert.equal(made[0]?.alive, false);
    assert.equal(made.length, 2, 'no back-off');
    assert.equal(made[1]?.id, 9000);
    assert.deepEqual(kinds(pool), ['ready']);
    const history = pool.states()[0]?.history ?? [];
    assert.ok(history.some((c) => c.to === 'recycling' && /resident memory 150.0 MB over max_worker_rss_mb=100/.test(c.reason)), JSON.stringify(history));
    assert.ok(logs.some((l) => /starting a fresh process/.test(l)));
    // Checked at most once a second: the fresh worker, also over the limit, is read again only then.
    (made[1] as FakeWorker).rss = 150 * 1048576;
    submit('b');
    await settle();
    made[1]?.answer();
    await settle();
    assert.equal(made[1]?.alive, true);
    clock.advance(1000);
    submit('c');
    await settle();
    made[1]?.answer();
    await settle();
    assert.equal(made.length, 3);
    await pool.destroy(TEST_OVER);
  });

  it('leaves a worker under it alone', async () => {
    const { pool, made, submit } = setUp({ maxRssBytes: 100 * 1048576 });
    await pool.scale(1, 1);
    submit('a');
    await settle();
    made[0]?.answer();
    await settle();
    assert.equal(made.length, 1);
    assert.equal(made[0]?.alive, true);
    await pool.destroy(TEST_OVER);
  });
});
