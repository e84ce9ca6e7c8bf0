import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INITIAL_STATE, InvalidTransition, transition, withinRetryWindow, type WorkerState } from './worker-state.js';

const policy = { retryWindowMs: 10_000 };

describe('the worker state machine', () => {
  it('goes starting → ready → busy → ready as a worker loads and serves', () => {
    const ready = transition(INITIAL_STATE, { type: 'loaded' }, policy);
    assert.deepEqual(ready, { kind: 'ready' });
    const busy = transition(ready, { type: 'batch-sent' }, policy);
    assert.deepEqual(busy, { kind: 'busy' });
    assert.equal(transition(busy, { type: 'batch-sent' }, policy), busy, 'a pipelined batch keeps it busy');
    assert.deepEqual(transition(busy, { type: 'batch-done' }, policy), { kind: 'ready' });
  });

  it('backs off after a failure with TorchServe delays, keeping when the failures began', () => {
    const first = transition({ kind: 'busy' }, { type: 'exited', atMs: 500 }, policy);
    assert.deepEqual(first, { kind: 'backing-off', attempt: 1, failingSinceMs: 500, delayMs: 1000 });
    const restarted = transition(first, { type: 'retry' }, policy);
    assert.deepEqual(restarted, { kind: 'starting', attempt: 2, failingSinceMs: 500 });
    const second = transition(restarted, { type: 'exited', atMs: 1600 }, policy);
    assert.deepEqual(second, { kind: 'backing-off', attempt: 2, failingSinceMs: 500, delayMs: 1000 });
    const third = transition(transition(second, { type: 'retry' }, policy), { type: 'exited', atMs: 2700 }, policy);
    assert.deepEqual(third, { kind: 'backing-off', attempt: 3, failingSinceMs: 500, delayMs: 2000 });
  });

  it('fails for good once the slot has been failing for the whole retry window', () => {
    const starting: WorkerState = { kind: 'starting', attempt: 5, failingSinceMs: 0 };
    assert.deepEqual(transition(starting, { type: 'exited', atMs: 10_000 }, policy), { kind: 'failed' });
    assert.equal(withinRetryWindow(starting, 9_999, policy), true);
    assert.equal(withinRetryWindow(starting, 10_000, policy), false);
  });

  it('stops: a slot waiting to restart is stopped at once, others once their process exits', () => {
    assert.deepEqual(transition({ kind: 'backing-off', attempt: 1, failingSinceMs: 0, delayMs: 1000 }, { type: 'stop', finishBatch: true }, policy), { kind: 'stopped' });
    const stopping = transition({ kind: 'busy' }, { type: 'stop', finishBatch: true }, policy);
    assert.deepEqual(stopping, { kind: 'stopping', finishBatch: true });
    assert.equal(transition(stopping, { type: 'batch-done' }, policy), stopping);
    assert.equal(transition(stopping, { type: 'loaded' }, policy), stopping);
    assert.deepEqual(transition(stopping, { type: 'exited', atMs: 0 }, policy), { kind: 'stopped' });
  });

  it('recycles a ready worker: a fresh start once its process exits, with no failure counted', () => {
    const recycling = transition({ kind: 'ready' }, { type: 'recycle' }, policy);
    assert.deepEqual(recycling, { kind: 'recycling' });
    assert.deepEqual(transition(recycling, { type: 'exited', atMs: 5 }, policy), { kind: 'starting', attempt: 1, failingSinceMs: null });
    assert.deepEqual(transition(recycling, { type: 'stop', finishBatch: true }, policy), { kind: 'stopping', finishBatch: true });
    assert.throws(() => transition({ kind: 'busy' }, { type: 'recycle' }, policy), InvalidTransition);
  });

  it('ignores events after a terminal state and refuses events that cannot happen', () => {
    const stopped: WorkerState = { kind: 'stopped' };
    assert.equal(transition(stopped, { type: 'loaded' }, policy), stopped);
    assert.throws(() => transition({ kind: 'ready' }, { type: 'batch-done' }, policy), InvalidTransition);
    assert.throws(() => transition(INITIAL_STATE, { type: 'batch-sent' }, policy), InvalidTransition);
    assert.throws(() => transition({ kind: 'ready' }, { type: 'retry' }, policy), /cannot take 'retry' while ready/);
  });
});
