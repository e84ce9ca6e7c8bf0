// max_worker_rss_mb (issue #21): a handler that leaks is replaced by a fresh worker process between
// batches, instead of growing without bound while /ping stays healthy. The replacement shows in
// the log, in describe (a new pid) and in lantern_worker_restarts_total.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lanternPerTest, request, waitFor, type MarSpec } from './harness.js';
import { waitForLine } from './observed-state.js';

const LEAKING: MarSpec = { file: 'leak.mar', handler: 'leaking_handler.py', modelName: 'leak' };

describe('the worker memory limit', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('replaces a leaking worker once it is over max_worker_rss_mb, answering every request', async () => {
    const lantern = await lanterns.start({ archives: [LEAKING], properties: ['max_worker_rss_mb=80', 'metrics_mode=prometheus'] });
    assert.equal((await request('POST', `${lantern.management}/models?url=leak.mar&initial_workers=1&synchronous=true`)).status, 200);
    const [first] = lantern.pids('leak');
    const pids = new Set<number>();
    // Each request keeps 20 MB; the limit is crossed within a few, and checked at most once a second.
    await waitFor('a fresh worker', async () => {
      const reply = await request('POST', `${lantern.inference}/predictions/leak`, { body: 'x' });
      assert.equal(reply.status, 200, reply.text);
      pids.add(reply.json<{ pid: number }>().pid);
      return pids.size > 1;
    }, 30_000, 200);
    lanterns.seen([...pids]);
    await waitForLine(lantern.logs, 'MB over max_worker_rss_mb=80; starting a fresh process');
    const [described] = (await request('GET', `${lantern.management}/models/leak`)).json<Array<{ workers: Array<{ id: string; pid: number }> }>>();
    assert.equal(described?.workers.length, 1);
    assert.notEqual(described?.workers[0]?.pid, first);
    assert.equal(described?.workers[0]?.id, '9000', 'the same worker id');
    const metricsUrl = lantern.server.listeners.find((l) => l.api === 'metrics')?.url;
    const metrics = await request('GET', `${metricsUrl}/metrics`);
    assert.match(metrics.text, /lantern_worker_restarts_total\{[^}]*model_name="leak"[^}]*\} [1-9]/);
  });
});
