// Autoscaling over real workers: with max_worker > min_worker, waiting requests bring more
// workers (never more than max) and an idle period takes them away again (never below min).
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lanternPerTest, request, waitFor, type Lantern, type MarSpec } from './harness.js';

const SLOW: MarSpec = { file: 'slow.mar', handler: 'slow_handler.py', modelName: 'slow' };

async function workerCount(lantern: Lantern): Promise<{ count: number; min: number; max: number }> {
  const reply = await request('GET', `${lantern.management}/models/slow`);
  const [d] = reply.json<Array<{ minWorkers: number; maxWorkers: number; workers: unknown[] }>>();
  return { count: d?.workers.length ?? 0, min: d?.minWorkers ?? -1, max: d?.maxWorkers ?? -1 };
}

describe('autoscaling', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('adds workers up to max while requests wait and removes them down to min when idle', async () => {
    const lantern = await lanterns.start({
      archives: [SLOW],
      properties: ['autoscale_up_after_ms=300', 'autoscale_down_after_sec=2'],
    });
    assert.equal((await request('POST', `${lantern.management}/models?url=slow.mar&initial_workers=1&synchronous=true`)).status, 200);
    const scaled = await request('PUT', `${lantern.management}/models/slow?min_worker=1&max_worker=3&synchronous=true`);
    assert.equal(scaled.status, 200, scaled.text);
    let peak = 1;
    const replies = Promise.all(Array.from({ length: 12 }, () => request('POST', `${lantern.inference}/predictions/slow`, { body: '0.8' })));
    await waitFor(
      'scale up to max (3 workers)',
      async () => {
        const { count } = await workerCount(lantern);
        peak = Math.max(peak, count);
        lanterns.seen(lantern.pids('slow'));
        return count >= 3;
      },
      15_000,
      100,
    );
    for (const reply of await replies) assert.equal(reply.status, 200, reply.text);
    assert.equal(peak, 3, 'scaled up to max, not beyond');
    const described = await workerCount(lantern);
    assert.deepEqual([described.min, described.max], [1, 3]);
    // Idle: back to min, one worker per idle period.
    await waitFor('scale down to min', async () => (await workerCount(lantern)).count === 1, 20_000, 200);
    // Staying at min is shown only by time passing: longer than one idle period (2 s) more.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await workerCount(lantern)).count, 1);
  });

  it('leaves the pool alone when max_worker equals min_worker', async () => {
    const lantern = await lanterns.start({ archives: [SLOW], properties: ['autoscale_up_after_ms=100'] });
    assert.equal((await request('POST', `${lantern.management}/models?url=slow.mar&initial_workers=1&synchronous=true`)).status, 200);
    const replies = await Promise.all(Array.from({ length: 4 }, () => request('POST', `${lantern.inference}/predictions/slow`, { body: '0.4' })));
    for (const reply of replies) assert.equal(reply.status, 200, reply.text);
    assert.equal((await workerCount(lantern)).count, 1);
  });
});
