// Hostile request bodies (issue 21 item 1): a ~2 KB body the Python worker cannot decode, such as
// JSON nested 1,000 deep, reaches the handler as bytes on every inference API, as TorchServe's
// worker passes undecodable bodies, and the worker that decoded it keeps serving.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lanternPerTest, pidAlive, request, waitFor, type Lantern, type MarSpec } from './harness.js';
import { FREE_PORTS } from './hostile-support.js';

// echo_handler.py describes each value it was given: {type: 'bytes', hex} for a bytearray.
const ECHO: MarSpec = { file: 'echo.mar', handler: 'echo_handler.py', modelName: 'echo' };

interface Seen {
  readonly values: Record<string, { type: string; hex?: string; value?: unknown }>;
}

async function workerPids(lantern: Lantern, model: string): Promise<number[]> {
  const described = await request('GET', `${lantern.management}/models/${model}`);
  assert.equal(described.status, 200, described.text);
  const [entry] = described.json<Array<{ workers: Array<{ pid: number; status: string }> }>>();
  assert.ok(entry !== undefined);
  assert.ok(entry.workers.every((w) => w.status === 'READY'), described.text);
  return entry.workers.map((w) => w.pid);
}

describe('hostile request bodies', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('hands JSON nested 1,000 deep to a Python handler as bytes on /predictions, /v1 and /v2, and the worker stays', async () => {
    const lantern = await lanterns.start({ archives: [ECHO], properties: [...FREE_PORTS, 'load_models=echo.mar'] });
    await waitFor('a healthy server', async () => (await request('GET', `${lantern.inference}/ping`)).status === 200, 60_000);
    const pids = await workerPids(lantern, 'echo');
    assert.equal(pids.length, 1);
    lanterns.seen(pids);

    const nested = `${'['.repeat(1_000)}${']'.repeat(1_000)}`;
    const objects = `${'{"a":'.repeat(1_000)}1${'}'.repeat(1_000)}`;
    const paths = ['/predictions/echo', '/v1/models/echo:predict', '/v2/models/echo/infer'];
    for (const body of [nested, objects]) {
      for (const path of paths) {
        const reply = await request('POST', `${lantern.inference}${path}`, { body, headers: { 'content-type': 'application/json' } });
        assert.equal(reply.status, 200, `${path}: ${reply.text}`);
        assert.deepEqual(reply.json<Seen>().values.body, { type: 'bytes', hex: Buffer.from(body).toString('hex') }, path);
      }
    }

    // Still the same process, and it still decodes the JSON it can.
    assert.deepEqual(await workerPids(lantern, 'echo'), pids);
    assert.ok(pids.every(pidAlive));
    const fine = await request('POST', `${lantern.inference}/predictions/echo`, { body: '[[1]]', headers: { 'content-type': 'application/json' } });
    assert.deepEqual(fine.json<Seen>().values.body, { type: 'json', value: [[1]] });
    assert.deepEqual(await workerPids(lantern, 'echo'), pids);
  });
});
