import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { Autoscaler, autoscaleSettings, type PoolLoad } from './autoscaler.js';

const SETTINGS = { scaleUpAfterMs: 1000, scaleDownAfterMs: 5000, intervalMs: 250 };
const load = (over: Partial<PoolLoad>): PoolLoad => ({ size: 1, min: 1, max: 3, queued: 0, idle: 0, starting: 0, ...over });

function scaler(): Autoscaler {
  return new Autoscaler(SETTINGS, new ManualClock(), () => load({}), () => undefined);
}

describe('Autoscaler', () => {
  it('adds a worker once requests have waited with no idle worker for scaleUpAfterMs', () => {
    const a = scaler();
    const busy = load({ queued: 4, idle: 0 });
    assert.equal(a.decide(0, busy), 'hold');
    assert.equal(a.decide(999, busy), 'hold');
    assert.equal(a.decide(1000, busy), 'up');
    // The next step needs another full wait.
    assert.equal(a.decide(1100, { ...busy, size: 2 }), 'hold');
    assert.equal(a.decide(2100, { ...busy, size: 2 }), 'up');
  });

  it('never goes above max or below min, and does nothing when max equals min', () => {
    const a = scaler();
    assert.equal(a.decide(0, load({ size: 3, queued: 9 })), 'hold');
    assert.equal(a.decide(5000, load({ size: 3, queued: 9 })), 'hold');
    assert.equal(a.decide(0, load({ size: 1, idle: 1 })), 'hold');
    assert.equal(a.decide(10_000, load({ size: 1, idle: 1 })), 'hold');
    assert.equal(a.decide(0, load({ min: 2, max: 2, size: 2, queued: 9 })), 'hold');
    assert.equal(a.decide(9000, load({ min: 2, max: 2, size: 2, queued: 9 })), 'hold');
  });

  it('waits for a starting worker instead of adding another, and forgets a wait that ended', () => {
    const a = scaler();
    assert.equal(a.decide(0, load({ queued: 3 })), 'hold');
    assert.equal(a.decide(1500, load({ queued: 3, starting: 1, size: 2 })), 'hold');
    assert.equal(a.decide(1600, load({ queued: 0, idle: 1 })), 'hold');
    assert.equal(a.decide(1700, load({ queued: 3 })), 'hold');
    assert.equal(a.decide(2699, load({ queued: 3 })), 'hold');
    assert.equal(a.decide(2700, load({ queued: 3 })), 'up');
  });

  it('removes a worker above min after an idle period, one period per step', () => {
    const a = scaler();
    const quiet = load({ size: 3, idle: 2 });
    assert.equal(a.decide(0, quiet), 'hold');
    assert.equal(a.decide(4999, quiet), 'hold');
    assert.equal(a.decide(5000, quiet), 'down');
    assert.equal(a.decide(6000, { ...quiet, size: 2 }), 'hold');
    assert.equal(a.decide(11_000, { ...quiet, size: 2 }), 'down');
    // Work arriving resets the idle period.
    assert.equal(a.decide(12_000, { ...quiet, size: 2 }), 'hold');
    assert.equal(a.decide(13_000, { ...quiet, size: 2, queued: 1 }), 'hold');
    assert.equal(a.decide(17_999, { ...quiet, size: 2 }), 'hold');
  });

  it('samples on its clock while max > min and acts on its decisions', () => {
    const clock = new ManualClock();
    let current = load({ queued: 5 });
    const steps: string[] = [];
    const a = new Autoscaler(SETTINGS, clock, () => current, (step) => {
      steps.push(step);
      current = { ...current, size: current.size + 1 };
    });
    a.update(1, 3);
    clock.advance(5000);
    assert.deepEqual(steps, ['up', 'up']);
    a.close();
    current = load({ size: 3, idle: 3 });
    clock.advance(60_000);
    assert.deepEqual(steps, ['up', 'up']);
  });

  it('takes per-model timings from model-config.yaml over the server settings', () => {
    assert.deepEqual(autoscaleSettings(SETTINGS, null), SETTINGS);
    assert.deepEqual(autoscaleSettings(SETTINGS, { autoscaleUpAfterMs: 200, autoscaleDownAfterSec: 10 }), {
      scaleUpAfterMs: 200,
      scaleDownAfterMs: 10_000,
      intervalMs: 250,
    });
    assert.deepEqual(autoscaleSettings(SETTINGS, { autoscaleUpAfterMs: 'soon', autoscaleDownAfterSec: -1 }), SETTINGS);
  });
});
