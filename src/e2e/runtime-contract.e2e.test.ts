// One contract, two runtimes: the same end-to-end tests (predict, batch, describe, customized
// describe, handler errors, timeout, crash, scale) run against the Python handler
// test/fixtures/contract/contract_handler.py and its TypeScript twin contract_handler.ts, each
// packed in a .mar and served by real worker processes.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expectError, expectStatus, lanternPerTest, pidAlive, REPO_ROOT, request, waitAllDead, waitFor, type Lantern } from './harness.js';
import { marOf } from './mar-builder.js';

const CONTRACT_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'contract');

interface Runtime {
  readonly runtime: 'python' | 'node';
  readonly handler: string;
}

const RUNTIMES: readonly Runtime[] = [
  { runtime: 'python', handler: 'contract_handler.py' },
  { runtime: 'node', handler: 'contract_handler.ts' },
];

interface Described {
  runtime: string;
  workers: Array<{ id: string; status: string; pid: number }>;
  customizedMetadata?: unknown;
}

interface Prediction {
  batch_size: number;
  request_id: string;
  pid: number;
  input: { type: string; value?: unknown; hex?: string };
}

for (const rt of RUNTIMES) {
  describe(`the ${rt.runtime} runtime`, () => {
    const lanterns = lanternPerTest({ afterEach });

    /** A server with the contract model registered under the name `contract`. */
    async function serve(query = 'initial_workers=1'): Promise<Lantern> {
      const lantern = await lanterns.start();
      const handler = await readFile(path.join(CONTRACT_DIR, rt.handler));
      await lantern.writeStoreFile('contract.mar', await marOf({ [rt.handler]: handler }, { modelName: 'contract', handler: rt.handler }, rt.runtime));
      const reply = await request('POST', `${lantern.management}/models?url=contract.mar&synchronous=true&${query}`);
      assert.equal(reply.status, 200, reply.text);
      return lantern;
    }

    const predict = (lantern: Lantern, body: string, contentType = 'text/plain'): ReturnType<typeof request> =>
      request('POST', `${lantern.inference}/predictions/contract`, { body, headers: { 'content-type': contentType } });

    async function described(lantern: Lantern, query = ''): Promise<Described> {
      const reply = await request('GET', `${lantern.management}/models/contract${query}`);
      assert.equal(reply.status, 200, reply.text);
      return reply.json<Described[]>()[0] as Described;
    }

    async function restarted(lantern: Lantern, before: { id: string; pid: number }): Promise<{ id: string; pid: number }> {
      await waitAllDead([before.pid]);
      const after = await waitFor('the worker to be back', async () => {
        const [w] = (await described(lantern)).workers;
        return w !== undefined && w.status === 'READY' && w.pid !== before.pid ? w : null;
      }, 60_000);
      assert.equal(after.id, before.id, 'the restarted worker keeps its id');
      lanterns.seen([after.pid]);
      return after;
    }

    it('predicts, decoding JSON, text and bytes by content type', async () => {
      const lantern = await serve();
      const json = await predict(lantern, '{"a": [1, 2]}', 'application/json');
      assert.equal(json.status, 200, json.text);
      assert.deepEqual(json.json<Prediction>().input, { type: 'json', value: { a: [1, 2] } });
      assert.equal(json.json<Prediction>().request_id, json.headers.get('x-request-id'));
      const text = await predict(lantern, 'héllo', 'text/plain');
      assert.deepEqual(text.json<Prediction>().input, { type: 'str', value: 'héllo' });
      const bytes = await predict(lantern, 'raw', 'application/octet-stream');
      assert.deepEqual(bytes.json<Prediction>().input, { type: 'bytes', hex: Buffer.from('raw').toString('hex') });
      assert.equal(text.json<Prediction>().pid, lantern.pids('contract')[0]);
    });

    it('hands concurrent requests to the handler as one batch', async () => {
      const lantern = await serve('initial_workers=1&batch_size=4&max_batch_delay=2000');
      const replies = await Promise.all([0, 1, 2, 3].map((i) => predict(lantern, `x${i}`)));
      for (const r of replies) assert.equal(r.status, 200, r.text);
      assert.deepEqual(replies.map((r) => r.json<Prediction>().batch_size), [4, 4, 4, 4]);
      assert.deepEqual(replies.map((r) => r.json<Prediction>().request_id), replies.map((r) => r.headers.get('x-request-id')));
      assert.deepEqual(replies.map((r) => r.json<Prediction>().input.value), ['x0', 'x1', 'x2', 'x3']);
    });

    it('describes the model with its runtime and live workers', async () => {
      const lantern = await serve();
      const model = await described(lantern);
      assert.equal(model.runtime, rt.runtime);
      assert.equal(model.workers.length, 1);
      assert.equal(model.workers[0]?.status, 'READY');
      assert.ok(pidAlive(model.workers[0]?.pid ?? -1));
      assert.equal('customizedMetadata' in model, false);
    });

    it('answers a customized describe with the handler metadata', async () => {
      const lantern = await serve();
      const model = await described(lantern, '?customized=true');
      assert.deepEqual(model.customizedMetadata, { data1: '1', data2: '2' });
      assert.equal(model.runtime, rt.runtime);
    });

    it('maps a handler error with a code to that code and message', async () => {
      const lantern = await serve();
      const reply = await predict(lantern, 'fail');
      assert.equal(reply.status, 418, reply.text);
      assert.equal(reply.json<{ message: string }>().message, 'the handler refused this input');
      assert.equal((await predict(lantern, 'ok')).status, 200, 'the worker keeps serving');
    });

    it('answers 500 when the worker exceeds response_timeout, then recovers', async () => {
      const lantern = await serve('initial_workers=1&response_timeout=2');
      const [before] = (await described(lantern)).workers;
      assert.ok(before !== undefined);
      lanterns.seen([before.pid]);
      expectError(await predict(lantern, 'sleep:60'), 500, 'InternalServerException', 'Worker died.');
      const after = await restarted(lantern, before);
      const reply = await predict(lantern, 'ok');
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.json<Prediction>().pid, after.pid);
    });

    it('answers the request of a crashed worker with 500 and restarts the worker', async () => {
      const lantern = await serve();
      const [before] = (await described(lantern)).workers;
      assert.ok(before !== undefined);
      lanterns.seen([before.pid]);
      expectError(await predict(lantern, 'crash'), 500, 'InternalServerException', 'Worker died.');
      const after = await restarted(lantern, before);
      const reply = await predict(lantern, 'ok');
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.json<Prediction>().pid, after.pid);
    });

    it('starts and stops real processes when scaling up and down', async () => {
      const lantern = await serve();
      const [first] = lantern.pids('contract');
      assert.ok(first !== undefined && pidAlive(first));
      expectStatus(await request('PUT', `${lantern.management}/models/contract?min_worker=3&synchronous=true`), 200, 'Workers scaled to 3 for model: contract');
      const three = lantern.pids('contract');
      lanterns.seen(three);
      assert.equal(three.length, 3);
      assert.ok(three.every(pidAlive));
      expectStatus(await request('PUT', `${lantern.management}/models/contract?min_worker=1&synchronous=true`), 200, 'Workers scaled to 1 for model: contract');
      assert.deepEqual(lantern.pids('contract'), [first]);
      await waitAllDead(three.filter((p) => p !== first));
      const reply = await predict(lantern, 'ok');
      assert.equal(reply.json<Prediction>().pid, first);
    });
  });
}
