import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineDepth } from './worker-pool.js';

describe('pipelineDepth (batches a busy worker holds)', () => {
  it('holds the running batch and one more until the batch time is known, and when batches take 1 ms or more', () => {
    assert.equal(pipelineDepth(null), 2);
    assert.equal(pipelineDepth(1), 2);
    assert.equal(pipelineDepth(250), 2);
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
});
