import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ModelActivity } from './model-activity.js';

describe('ModelActivity', () => {
  it('counts requests and errors per window and reports p50 and p99 within a bucket of the true values', () => {
    let now = 10_000;
    const activity = new ModelActivity(() => now, 2000, 5);
    for (let i = 1; i <= 100; i++) activity.answered('m', '1', i, i % 10 !== 0);
    now += 2000;
    activity.answered('m', '1', 3, true);
    const { windowMs, points } = activity.series('m', '1');
    assert.equal(windowMs, 2000);
    assert.equal(points.length, 5);
    const [full, current] = points.slice(-2);
    assert.deepEqual([full?.requests, full?.errors], [100, 10]);
    assert.ok(full?.p50Ms !== null && full!.p50Ms! >= 50 && full!.p50Ms! <= 50 * 1.12, `p50 ${full?.p50Ms}`);
    assert.ok(full?.p99Ms !== null && full!.p99Ms! >= 99 && full!.p99Ms! <= 99 * 1.12, `p99 ${full?.p99Ms}`);
    assert.equal(current?.requests, 1);
    assert.equal(points[0]?.p50Ms, null, 'a window without requests has no latency');
  });

  it('keeps only the newest windows and forgets versions no longer registered', () => {
    let now = 0;
    const activity = new ModelActivity(() => now, 1000, 3);
    for (let i = 0; i < 10; i++) {
      activity.answered('m', '1', 1, true);
      now += 1000;
    }
    assert.deepEqual(activity.series('m', '1').points.map((p) => p.requests), [1, 1, 0]);
    activity.answered('n', '1', 1, true);
    activity.retainOnly([{ name: 'n', version: '1' }]);
    assert.deepEqual(activity.series('m', '1').points.map((p) => p.requests), [0, 0, 0]);
    activity.forget('n', '1');
    assert.deepEqual(activity.series('n', '1').points.map((p) => p.requests), [0, 0, 0]);
  });
});

describe('ModelActivity buckets', () => {
  it('puts a latency in the first bucket at or above it, however it is computed', () => {
    let now = 0;
    const activity = new ModelActivity(() => now, 1000, 1);
    const samples = [0, 0.2, 0.5, 0.56, 0.5601, 1, 7.3, 100, 99_999, 1e9];
    for (const ms of samples) {
      activity.answered('m', '1', ms, true);
      const p = activity.series('m', '1').points[0]?.p50Ms;
      assert.ok(p !== null && p !== undefined);
      // A single sample: its bucket's bound is at or above it and less than 12 % above, except past the last bucket.
      if (ms > 0.5 && ms < 100_000) assert.ok(p >= ms - 0.01 && p <= ms * 1.12 + 0.01, `${ms} ms reported as ${p}`);
      now += 1000;
    }
  });
});
