// A stateful model's pool (SequenceQueue) driven through fake workers and a manual clock: a
// sequence keeps to one worker, one request of it per batch, and ends by its handler, by idling,
// by its timeout or with its worker, always answering what waited in it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ServeError } from '../errors.js';
import { ManualClock } from '../clock.js';
import { Job } from '../batching/job.js';
import { SequenceQueue, type SequenceSettings } from '../batching/sequence-queue.js';
import { fakeWorkers, type FakeWorker } from './fake-worker.js';
import { WorkerPool } from './worker-pool.js';

interface Answer {
  readonly bodies: string[];
  error: ServeError | null;
  done: boolean;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

const TEST_OVER = new ServeError(503, 'ServiceUnavailableException', 'test over');

function setUp(options: Partial<SequenceSettings> & { batchSize?: number; workers?: number } = {}) {
  const clock = new ManualClock();
  const settings: SequenceSettings = {
    maxNumSequence: 4,
    maxSequenceJobQueueSize: 10,
    sequenceMaxIdleMs: 5000,
    sequenceTimeoutMs: 0,
    perWorker: 2,
    continuous: false,
    ...options,
  };
  const queue = new SequenceQueue(100, settings, clock);
  const workers = fakeWorkers();
  let nextId = 9000;
  const pool = new WorkerPool(
    {
      modelName: 'm',
      version: '1.0',
      load: { modelName: 'm', modelPath: '/nowhere', batchSize: options.batchSize ?? 4, handler: 'h', gpuId: -1, envelope: '', limitMaxImagePixels: true },
      batchSize: options.batchSize ?? 4,
      maxBatchDelayMs: 0,
      responseTimeoutMs: 120_000,
      startupTimeoutMs: 120_000,
      maxRetryTimeoutSec: 300,
      maxResponseBytes: 1 << 20,
      continuous: settings.continuous,
    },
    { queue, clock, createWorker: workers.factory, nextWorkerId: () => nextId++, log: () => undefined },
  );
  const answers = new Map<string, Answer>();
  /** Queues request `id` of sequence `seq`; false when the queue refuses it. */
  const submit = (seq: string, id: string): boolean => {
    const answer: Answer = { bodies: [], error: null, done: false };
    answers.set(id, answer);
    const job = new Job({ requestId: id, headers: [['ts_request_sequence_id', seq]], parameters: [] }, 'predict', 0, {
      reply: (entry, last) => {
        answer.bodies.push(entry.body.toString());
        answer.done = last;
      },
      fail: (error) => {
        answer.error = error;
        answer.done = true;
      },
    });
    return queue.offer(job);
  };
  /** The fake running a batch now, and the request ids of that batch. */
  const running = (made: readonly FakeWorker[]): Array<{ worker: FakeWorker; ids: string[] }> =>
    made.filter((w) => w.sent.length > 0).map((worker) => ({ worker, ids: worker.sent[0]?.batch.map((j) => j.id) ?? [] }));
  return { clock, queue, pool, made: workers.made, answers, submit, running };
}

/** Answers every running batch with its worker id; returns which worker ran which request. */
function answerAll(batches: Array<{ worker: FakeWorker; ids: string[] }>, ranOn: Map<string, number>): void {
  for (const { worker, ids } of batches) {
    for (const id of ids) ranOn.set(id, worker.id);
    worker.answerEach(() => ({ body: String(worker.id) }));
  }
}

describe('Stateful pool: sequences keep to one worker', () => {
  it("sends every request of a sequence to the worker that took the sequence's first", async () => {
    const { pool, made, submit, running } = setUp({ perWorker: 1 });
    await pool.scale(2, 2);
    const ranOn = new Map<string, number>();
    for (let i = 0; i < 5; i++) {
      assert.ok(submit('seq_0', `a${i}`));
      assert.ok(submit('seq_1', `b${i}`));
      await settle();
      answerAll(running(made), ranOn);
      await settle();
    }
    const a = new Set([0, 1, 2, 3, 4].map((i) => ranOn.get(`a${i}`)));
    const b = new Set([0, 1, 2, 3, 4].map((i) => ranOn.get(`b${i}`)));
    assert.equal(a.size, 1, 'seq_0 stayed on one worker');
    assert.equal(b.size, 1, 'seq_1 stayed on one worker');
    assert.notDeepEqual([...a], [...b], 'the two sequences went to the two workers');
    await pool.destroy(TEST_OVER);
  });

  it('runs one request of a sequence per batch, in the order they came', async () => {
    const { pool, made, submit, running } = setUp({ batchSize: 4 });
    await pool.scale(1, 1);
    submit('s', 'r1');
    submit('s', 'r2');
    submit('t', 'q1');
    await settle();
    assert.deepEqual(running(made)[0]?.ids, ['r1', 'q1']);
    made[0]?.answerEach(() => ({ body: 'x' }));
    await settle();
    assert.deepEqual(running(made)[0]?.ids, ['r2']);
    await pool.destroy(TEST_OVER);
  });

  it('ends a sequence whose reply names it in ts_request_sequence_end, failing what waited behind it', async () => {
    const { pool, made, submit, answers, queue } = setUp();
    await pool.scale(1, 1);
    submit('s', 'r1');
    submit('s', 'r2');
    await settle();
    made[0]?.answerEach(() => ({ body: 'bye', headers: [['ts_request_sequence_end', 's']] }));
    await settle();
    assert.deepEqual(answers.get('r1')?.bodies, ['bye']);
    assert.equal(answers.get('r2')?.error?.code, 'SEQUENCE_CLOSED');
    assert.equal(queue.openSequences, 0);
    await pool.destroy(TEST_OVER);
  });

  it('ends a sequence left idle for sequenceMaxIdleMSec after its reply, and not before', async () => {
    const { pool, made, submit, clock, queue } = setUp({ sequenceMaxIdleMs: 100 });
    await pool.scale(1, 1);
    submit('s', 'r1');
    await settle();
    made[0]?.answerEach(() => ({ body: 'x' }));
    await settle();
    clock.advance(99);
    assert.equal(queue.openSequences, 1);
    submit('s', 'r2');
    await settle();
    made[0]?.answerEach(() => ({ body: 'x' }));
    await settle();
    clock.advance(99);
    assert.equal(queue.openSequences, 1, 'the second request restarted the idle time');
    clock.advance(1);
    assert.equal(queue.openSequences, 0);
    await pool.destroy(TEST_OVER);
  });

  it('ends a sequence whose only request was withdrawn (its client left) after the idle time', async () => {
    const { pool, queue, clock } = setUp({ sequenceMaxIdleMs: 100 });
    const answers: string[] = [];
    const job = new Job({ requestId: 'gone', headers: [['ts_request_sequence_id', 's']], parameters: [] }, 'predict', 0, {
      reply: () => answers.push('reply'),
      fail: () => answers.push('fail'),
    });
    assert.ok(queue.offer(job));
    assert.ok(queue.remove(job));
    assert.equal(queue.openSequences, 1);
    clock.advance(100);
    assert.equal(queue.openSequences, 0);
    assert.deepEqual(answers, [], 'a withdrawn request is not answered again');
    await pool.destroy(TEST_OVER);
  });

  it('ends a sequence past sequenceTimeoutMSec once nothing waits in it', async () => {
    const { pool, made, submit, clock, queue } = setUp({ sequenceMaxIdleMs: 10_000, sequenceTimeoutMs: 1000 });
    await pool.scale(1, 1);
    submit('s', 'r1');
    await settle();
    clock.advance(1500);
    made[0]?.answerEach(() => ({ body: 'x' }));
    await settle();
    assert.equal(queue.openSequences, 0);
    await pool.destroy(TEST_OVER);
  });

  it('ends the sequences of a worker that dies with an error, and a new request of the same id starts a new sequence', async () => {
    const { pool, made, submit, answers, queue, clock } = setUp();
    await pool.scale(1, 1);
    submit('s', 'r1');
    submit('s', 'r2');
    await settle();
    made[0]?.crash(1);
    await settle();
    assert.equal(answers.get('r1')?.error?.code, 'WORKER_DIED');
    assert.equal(answers.get('r2')?.error?.code, 'SEQUENCE_CLOSED');
    assert.match(answers.get('r2')?.error?.message ?? '', /Sequence s is closed: its worker stopped/);
    assert.equal(queue.openSequences, 0);
    clock.advance(1000);
    await settle();
    assert.ok(submit('s', 'r3'));
    await settle();
    made[1]?.answerEach(() => ({ body: 'again' }));
    await settle();
    assert.deepEqual(answers.get('r3')?.bodies, ['again']);
    await pool.destroy(TEST_OVER);
  });

  it('refuses a sequence over maxNumSequence and a request over maxSequenceJobQueueSize', async () => {
    const { pool, submit } = setUp({ maxNumSequence: 2, maxSequenceJobQueueSize: 2 });
    assert.ok(submit('a', 'a1'));
    assert.ok(submit('b', 'b1'));
    assert.equal(submit('c', 'c1'), false, 'a third sequence');
    assert.ok(submit('a', 'a2'));
    assert.equal(submit('a', 'a3'), false, 'a third waiting request of one sequence');
    await pool.destroy(TEST_OVER);
  });

  it('continuous batching: a streamed request goes again with the next batch, beside a new request of its sequence', async () => {
    const { pool, made, submit, answers, running } = setUp({ continuous: true, batchSize: 1 });
    await pool.scale(1, 1);
    submit('s', 'stream');
    await settle();
    made[0]?.answerEach(() => ({ body: 'part', more: true }));
    await settle();
    assert.deepEqual(running(made)[0]?.ids, ['stream'], 'the streamed request is sent again');
    assert.equal(made[0]?.sent[0]?.batch[0]?.cachedInBackend, true);
    submit('s', 'cancel');
    made[0]?.answerEach(() => ({ body: 'part', more: true }));
    await settle();
    assert.deepEqual(running(made)[0]?.ids, ['stream', 'cancel']);
    made[0]?.answerEach((job) => ({ body: job.id === 'cancel' ? '-1' : 'last' }));
    await settle();
    assert.deepEqual(answers.get('stream')?.bodies, ['part', 'part', 'last']);
    assert.deepEqual(answers.get('cancel')?.bodies, ['-1']);
    assert.equal(running(made).length, 0);
    await pool.destroy(TEST_OVER);
  });
});
