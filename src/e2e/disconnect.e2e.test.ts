// A client that goes away while its request waits in the queue: the request is withdrawn and
// never reaches a worker (issue #4: exactly one answer, and no work for nobody).
import { afterEach, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { lanternPerTest, request, waitFor, type MarSpec } from './harness.js';

const SLOW: MarSpec = { file: 'slow.mar', handler: 'slow_handler.py', modelName: 'slow' };

const lanterns = lanternPerTest({ afterEach });

it('withdraws a queued request whose client disconnected before a worker took it', async () => {
  const lantern = await lanterns.start({ archives: [SLOW] });
  const reg = await request('POST', `${lantern.management}/models?url=slow.mar&initial_workers=1&synchronous=true`);
  assert.equal(reg.status, 200, reg.text);

  // The only worker is busy for 2 s.
  const busy = request('POST', `${lantern.inference}/predictions/slow`, { body: '2' });
  await waitFor('the worker to take the first request', () => lantern.logs.some((l) => l.includes('slow_handler: sleeping 2')));

  // A second request queues behind it, then its client hangs up.
  const target = new URL(`${lantern.inference}/predictions/slow`);
  const abandoned = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST' });
  abandoned.on('error', () => undefined);
  abandoned.end('1.5');
  const pending = async (): Promise<number> => {
    const [model] = (await request('GET', `${lantern.management}/models/slow`)).json<Array<{ jobQueueStatus: { pendingRequests: number } }>>();
    return model?.jobQueueStatus.pendingRequests ?? -1;
  };
  await waitFor('the second request to be queued', async () => (await pending()) === 1);
  abandoned.destroy();
  await waitFor('the abandoned request to leave the queue', async () => (await pending()) === 0);

  const first = await busy;
  assert.equal(first.status, 200, first.text);
  // The worker is free again and the abandoned request never ran.
  const after = await request('POST', `${lantern.inference}/predictions/slow`, { body: '0' });
  assert.equal(after.status, 200, after.text);
  assert.equal(lantern.logs.filter((l) => l.includes('slow_handler: sleeping 1.5')).length, 0);
});
