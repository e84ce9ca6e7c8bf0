import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { threadEnvironment, threadsPerWorker } from './thread-budget.js';

describe('the thread budget', () => {
  it('splits the cores between the workers a model may have, at least one thread each', () => {
    const auto = { cpuCount: 8, serverThreads: 0, modelThreads: null };
    assert.equal(threadsPerWorker(auto, 1), 8);
    assert.equal(threadsPerWorker(auto, 2), 4);
    assert.equal(threadsPerWorker(auto, 3), 2);
    assert.equal(threadsPerWorker(auto, 16), 1);
    assert.equal(threadsPerWorker(auto, 0), 8);
  });

  it('takes the model-config.yaml number over worker_threads, and worker_threads over the split', () => {
    assert.equal(threadsPerWorker({ cpuCount: 8, serverThreads: 3, modelThreads: null }, 2), 3);
    assert.equal(threadsPerWorker({ cpuCount: 8, serverThreads: 3, modelThreads: 5 }, 2), 5);
  });

  it("never overrides OMP_NUM_THREADS or MKL_NUM_THREADS that the user set", () => {
    assert.deepEqual(threadEnvironment(2, {}), { LANTERN_WORKER_THREADS: '2', OMP_NUM_THREADS: '2', MKL_NUM_THREADS: '2' });
    assert.deepEqual(threadEnvironment(2, { OMP_NUM_THREADS: '6' }), { LANTERN_WORKER_THREADS: '2', MKL_NUM_THREADS: '2' });
  });
});
