import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServeError, modelUnloaded } from '../errors.js';
import { ManualClock } from '../clock.js';
import { Job, type JobKind } from './job.js';
import { JobQueue } from './job-queue.js';

interface Tracked {
  readonly job: Job;
  readonly failures: ServeError[];
}

function track(id: string, kind: JobKind = 'predict'): Tracked {
  const failures: ServeError[] = [];
  const job = new Job({ requestId: id, headers: [], parameters: [] }, kind, 0, {
    reply: () => {},
    fail: (e) => failures.push(e),
  });
  return { job, failures };
}

const job = (id: string, kind: JobKind = 'predict'): Job => track(id, kind).job;

/** Lets pending promise continuations (and the queue's awaits) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Follows a promise so a test can ask whether it has resolved yet. */
function watch<T>(promise: Promise<T>): { readonly done: boolean; readonly value: T | undefined; promise: Promise<T> } {
  const state = { done: false, value: undefined as T | undefined, promise };
  void promise.then((v) => {
    state.done = true;
    state.value = v;
  });
  return state;
}

const ids = (batch: Job[] | null | undefined): string[] | null => (batch ? batch.map((j) => j.id) : null);

const never = (): AbortSignal => new AbortController().signal;

describe('JobQueue capacity', () => {
  it('accepts jobs up to its capacity and refuses the next', () => {
    const q = new JobQueue(2, new ManualClock());
    assert.equal(q.remainingCapacity, 2);
    assert.equal(q.offer(job('a')), true);
    assert.equal(q.offer(job('b')), true);
    assert.equal(q.pending, 2);
    assert.equal(q.remainingCapacity, 0);
    assert.equal(q.offer(job('c')), false);
    assert.equal(q.pending, 2);
  });

  it('frees capacity when jobs are taken', async () => {
    const q = new JobQueue(2, new ManualClock());
    q.offer(job('a'));
    q.offer(job('b'));
    assert.deepEqual(ids(await q.takeBatch(1, 0, never())), ['a']);
    assert.equal(q.remainingCapacity, 1);
    assert.equal(q.offer(job('c')), true);
  });
});

describe('JobQueue.takeBatch', () => {
  it('returns at once with maxSize jobs when enough are queued', async () => {
    const q = new JobQueue(10, new ManualClock());
    for (const id of ['a', 'b', 'c', 'd']) q.offer(job(id));
    assert.deepEqual(ids(await q.takeBatch(3, 100, never())), ['a', 'b', 'c']);
    assert.equal(q.pending, 1);
  });

  it('returns a batch of one at once when maxSize is 1', async () => {
    const q = new JobQueue(10, new ManualClock());
    const taking = watch(q.takeBatch(1, 100, never()));
    await settle();
    assert.equal(taking.done, false);
    q.offer(job('a'));
    await settle();
    assert.deepEqual(ids(taking.value), ['a']);
  });

  it('waits for a first job however long it takes', async () => {
    const clock = new ManualClock();
    const q = new JobQueue(10, clock);
    const taking = watch(q.takeBatch(4, 100, never()));
    await settle();
    clock.advance(10_000);
    await settle();
    assert.equal(taking.done, false);
    q.offer(job('a'));
    await settle();
    assert.equal(taking.done, false, 'then waits for more');
    clock.advance(100);
    await settle();
    assert.deepEqual(ids(taking.value), ['a']);
  });

  it('waits at most maxDelay counted from taking the first job', async () => {
    const clock = new ManualClock();
    const q = new JobQueue(10, clock);
    const taking = watch(q.takeBatch(4, 100, never()));
    await settle();
    clock.advance(30); // idle time before the first job does not count
    q.offer(job('a')); // taken at t=30: deadline t=130
    await settle();
    clock.advance(60);
    q.offer(job('b'));
    await settle();
    assert.equal(taking.done, false);
    clock.advance(39); // t=129
    await settle();
    assert.equal(taking.done, false);
    clock.advance(1); // t=130
    await settle();
    assert.deepEqual(ids(taking.value), ['a', 'b']);
  });

  it('counts the delay from the first job even when it was already queued', async () => {
    const clock = new ManualClock();
    const q = new JobQueue(10, clock);
    q.offer(job('a'));
    clock.advance(500);
    const taking = watch(q.takeBatch(4, 50, never()));
    await settle();
    assert.equal(taking.done, false);
    clock.advance(49);
    await settle();
    assert.equal(taking.done, false);
    clock.advance(1);
    await settle();
    assert.deepEqual(ids(taking.value), ['a']);
  });

  it('returns as soon as the batch is full, before maxDelay', async () => {
    const clock = new ManualClock();
    const q = new JobQueue(10, clock);
    const taking = watch(q.takeBatch(3, 100, never()));
    await settle();
    q.offer(job('a'));
    await settle();
    clock.advance(10);
    q.offer(job('b'));
    await settle();
    assert.equal(taking.done, false);
    q.offer(job('c'));
    await settle();
    assert.deepEqual(ids(taking.value), ['a', 'b', 'c']);
    assert.equal(clock.now(), 10);
  });

  it('returns after the first job when maxDelay is zero', async () => {
    const q = new JobQueue(10, new ManualClock());
    const taking = watch(q.takeBatch(4, 0, never()));
    await settle();
    q.offer(job('a'));
    await settle();
    assert.deepEqual(ids(taking.value), ['a']);
  });

  it('puts a describe job alone in its batch', async () => {
    const q = new JobQueue(10, new ManualClock());
    q.offer(job('d', 'describe'));
    q.offer(job('a'));
    assert.deepEqual(ids(await q.takeBatch(4, 100, never())), ['d']);
    assert.equal(q.pending, 1);
  });

  it('does not pull a queued describe job into a predict batch', async () => {
    const clock = new ManualClock();
    const q = new JobQueue(10, clock);
    q.offer(job('a'));
    q.offer(job('d', 'describe'));
    q.offer(job('b'));
    const taking = watch(q.takeBatch(4, 100, never()));
    await settle();
    assert.deepEqual(ids(taking.value), ['a'], 'returns at once without waiting');
    assert.deepEqual(ids(await q.takeBatch(4, 100, never())), ['d']);
    const rest = watch(q.takeBatch(4, 100, never()));
    await settle();
    clock.advance(100);
    await settle();
    assert.deepEqual(ids(rest.value), ['b']);
  });

  it('closes a predict batch when a describe job arrives while it waits', async () => {
    const q = new JobQueue(10, new ManualClock());
    const taking = watch(q.takeBatch(4, 100, never()));
    await settle();
    q.offer(job('a'));
    await settle();
    q.offer(job('d', 'describe'));
    await settle();
    assert.deepEqual(ids(taking.value), ['a']);
    assert.equal(q.pending, 1);
    assert.deepEqual(ids(await q.takeBatch(4, 100, never())), ['d']);
  });

  it('resolves null on an abort before a first job and leaves the queue intact', async () => {
    const clock = new ManualClock();
    const q = new JobQueue(10, clock);
    const ac = new AbortController();
    const taking = watch(q.takeBatch(4, 100, ac.signal));
    await settle();
    ac.abort();
    await settle();
    assert.equal(taking.done, true);
    assert.equal(taking.value, null);

    q.offer(job('a'));
    assert.equal(q.pending, 1, 'the aborted taker took nothing');
    const next = watch(q.takeBatch(1, 100, never()));
    await settle();
    assert.deepEqual(ids(next.value), ['a'], 'the turn was handed back');
  });

  it('resolves null at once for an already aborted signal without taking queued jobs', async () => {
    const q = new JobQueue(10, new ManualClock());
    q.offer(job('a'));
    const ac = new AbortController();
    ac.abort();
    assert.equal(await q.takeBatch(4, 100, ac.signal), null);
    assert.equal(q.pending, 1);
  });

  it('returns the jobs already taken when aborted while gathering', async () => {
    const q = new JobQueue(10, new ManualClock());
    const ac = new AbortController();
    const taking = watch(q.takeBatch(4, 100, ac.signal));
    await settle();
    q.offer(job('a'));
    await settle();
    ac.abort();
    await settle();
    assert.deepEqual(ids(taking.value), ['a']);
  });

  it('lets concurrent takers form batches one at a time, in arrival order', async () => {
    const clock = new ManualClock();
    const q = new JobQueue(10, clock);
    const first = watch(q.takeBatch(2, 100, never()));
    const second = watch(q.takeBatch(2, 100, never()));
    await settle();
    q.offer(job('a'));
    await settle();
    q.offer(job('b'));
    await settle();
    assert.deepEqual(ids(first.value), ['a', 'b']);
    assert.equal(second.done, false);
    q.offer(job('c'));
    await settle();
    assert.equal(second.done, false, 'the second taker now gathers');
    clock.advance(100);
    await settle();
    assert.deepEqual(ids(second.value), ['c']);
  });

  it('does not let a waiting taker steal jobs from the one gathering', async () => {
    const clock = new ManualClock();
    const q = new JobQueue(10, clock);
    const first = watch(q.takeBatch(3, 100, never()));
    const second = watch(q.takeBatch(3, 100, never()));
    await settle();
    q.offer(job('a'));
    await settle();
    q.offer(job('b'));
    await settle();
    clock.advance(100);
    await settle();
    assert.deepEqual(ids(first.value), ['a', 'b']);
    assert.equal(second.done, false);
  });

  it('drops an aborted waiting taker from the line', async () => {
    const clock = new ManualClock();
    const q = new JobQueue(10, clock);
    const ac = new AbortController();
    const first = watch(q.takeBatch(1, 100, never()));
    const second = watch(q.takeBatch(1, 100, ac.signal));
    const third = watch(q.takeBatch(1, 100, never()));
    await settle();
    ac.abort();
    await settle();
    assert.equal(second.value, null);
    q.offer(job('a'));
    await settle();
    q.offer(job('b'));
    await settle();
    assert.deepEqual(ids(first.value), ['a']);
    assert.deepEqual(ids(third.value), ['b']);
  });
});

describe('JobQueue.remove', () => {
  it('removes a queued job so no batch gets it', async () => {
    const q = new JobQueue(10, new ManualClock());
    const a = job('a');
    const b = job('b');
    const c = job('c');
    q.offer(a);
    q.offer(b);
    q.offer(c);
    assert.equal(q.remove(b), true);
    assert.equal(q.pending, 2);
    assert.deepEqual(ids(await q.takeBatch(3, 0, never())), ['a', 'c']);
  });

  it('answers false for a job that is no longer queued', async () => {
    const q = new JobQueue(10, new ManualClock());
    const a = job('a');
    q.offer(a);
    await q.takeBatch(1, 0, never());
    assert.equal(q.remove(a), false);
    assert.equal(q.remove(job('never-queued')), false);
  });
});

describe('JobQueue.takeReadyBatch (the next batch of a busy worker)', () => {
  it('takes a full batch at once, and nothing while fewer than maxSize jobs wait', () => {
    const q = new JobQueue(10, new ManualClock());
    for (const id of ['a', 'b']) q.offer(job(id));
    assert.equal(q.takeReadyBatch(3), null);
    assert.equal(q.pending, 2);
    q.offer(job('c'));
    q.offer(job('d'));
    assert.deepEqual(ids(q.takeReadyBatch(3)), ['a', 'b', 'c']);
    assert.deepEqual(ids(q.takeReadyBatch(1)), ['d']);
    assert.equal(q.takeReadyBatch(1), null);
  });

  it('leaves the jobs to a worker forming a batch', async () => {
    const q = new JobQueue(10, new ManualClock());
    const forming = watch(q.takeBatch(2, 100, never()));
    await settle();
    q.offer(job('a'));
    q.offer(job('b'));
    q.offer(job('c'));
    assert.equal(q.takeReadyBatch(1), null);
    await settle();
    assert.deepEqual(ids(forming.value), ['a', 'b']);
    assert.deepEqual(ids(q.takeReadyBatch(1)), ['c']);
  });

  it('takes a describe job alone, and no predict batch with a describe job inside', () => {
    const q = new JobQueue(10, new ManualClock());
    q.offer(job('d', 'describe'));
    q.offer(job('a'));
    q.offer(job('b', 'describe'));
    q.offer(job('c'));
    assert.deepEqual(ids(q.takeReadyBatch(2)), ['d']);
    assert.equal(q.takeReadyBatch(2), null);
    assert.deepEqual(ids(q.takeReadyBatch(1)), ['a']);
  });
});

describe('JobQueue.failAll', () => {
  it('fails every queued job exactly once and empties the queue', () => {
    const q = new JobQueue(10, new ManualClock());
    const tracked = ['a', 'b', 'c'].map((id) => track(id));
    for (const t of tracked) q.offer(t.job);
    const error = modelUnloaded('m');
    q.failAll(error);
    q.failAll(modelUnloaded('again'));
    assert.equal(q.pending, 0);
    assert.equal(q.remainingCapacity, 10);
    for (const t of tracked) {
      assert.deepEqual(t.failures, [error]);
      assert.equal(t.job.finished, true);
    }
  });

  it('does not touch jobs already taken into a batch', async () => {
    const q = new JobQueue(10, new ManualClock());
    const taken = track('a');
    const queued = track('b');
    q.offer(taken.job);
    q.offer(queued.job);
    await q.takeBatch(1, 0, never());
    q.failAll(modelUnloaded('m'));
    assert.equal(taken.failures.length, 0);
    assert.equal(queued.failures.length, 1);
  });
});

describe('JobQueue.requeue', () => {
  it('puts jobs taken for a worker that died back at the front, in order, for the next taker', async () => {
    const queue = new JobQueue(10, new ManualClock());
    for (const id of ['a', 'b', 'c']) queue.offer(job(id));
    const taken = await queue.takeBatch(2, 0, never());
    assert.deepEqual(ids(taken), ['a', 'b']);
    queue.requeue(taken ?? []);
    assert.equal(queue.pending, 3);
    assert.deepEqual(ids(await queue.takeBatch(3, 0, never())), ['a', 'b', 'c']);
  });

  it('takes back only as many jobs as its capacity has room for, and returns the rest', async () => {
    const queue = new JobQueue(3, new ManualClock());
    for (const id of ['a', 'b', 'c']) queue.offer(job(id));
    const taken = await queue.takeBatch(3, 0, never());
    queue.offer(job('d'));
    queue.offer(job('e'));
    const refused = queue.requeue(taken ?? []);
    assert.deepEqual(refused.map((j) => j.id), ['b', 'c']);
    assert.equal(queue.pending, 3);
    assert.deepEqual(ids(await queue.takeBatch(3, 0, never())), ['a', 'd', 'e']);
  });
});
