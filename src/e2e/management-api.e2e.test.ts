// Every example of the management API document (spec/management_api.md), against a real server
// with real Python workers; local archives in the model store stand in for the internet URLs.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import {
  expectError,
  expectStatus,
  lanternPerTest,
  pidAlive,
  request,
  waitAllDead,
  waitFor,
  UUID,
  type Lantern,
  type MarSpec,
} from './harness.js';

const NOOP: MarSpec = { file: 'noop.mar', handler: 'echo_handler.py', modelName: 'noop' };
const NOOP_2: MarSpec = { file: 'noop_2.mar', handler: 'echo_handler.py', modelName: 'noop', version: '2.0' };
const CUSTOMIZED: MarSpec = { file: 'noop-customized.mar', handler: 'describe_handler.py', modelName: 'noop-customized' };

const ZERO_WORKERS = (name: string, version = '1.0'): string =>
  `Model "${name}" Version: ${version} registered with 0 initial workers. Use scale workers API to add workers for the model.`;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface Worker {
  id: string;
  startTime: string;
  status: string;
  memoryUsage: number;
  pid: number;
  gpu: boolean;
  gpuUsage: string;
}

async function describeModel(lantern: Lantern, path: string): Promise<Array<Record<string, any>>> {
  const reply = await request('GET', `${lantern.management}/models/${path}`);
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.headers.get('content-type'), 'application/json');
  const body: unknown = reply.json();
  assert.ok(Array.isArray(body), 'describe answers with an array');
  return body as Array<Record<string, any>>;
}

async function readyWorkers(lantern: Lantern, path: string, count: number): Promise<Worker[]> {
  return waitFor(`${count} READY workers of ${path}`, async () => {
    const [model] = await describeModel(lantern, path);
    const workers = (model?.workers ?? []) as Worker[];
    return workers.length === count && workers.every((w) => w.status === 'READY') ? workers : null;
  });
}

function checkWorker(worker: Worker): void {
  assert.deepEqual(Object.keys(worker), ['id', 'startTime', 'status', 'memoryUsage', 'pid', 'gpu', 'gpuUsage']);
  assert.match(worker.id, /^\d+$/);
  assert.match(worker.startTime, ISO_DATE);
  assert.equal(worker.status, 'READY');
  assert.ok(worker.memoryUsage > 0, `memoryUsage ${worker.memoryUsage}`);
  assert.ok(pidAlive(worker.pid), `worker pid ${worker.pid} is alive`);
  assert.equal(worker.gpu, false);
  assert.equal(worker.gpuUsage, 'N/A');
}

describe('management API examples', () => {
  const lanterns = lanternPerTest({ afterEach });

  describe('register a model', () => {
    it('registers an archive from the model store with 0 initial workers', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      const reply = await request('POST', `${lantern.management}/models?url=noop.mar`);
      expectStatus(reply, 200, ZERO_WORKERS('noop'));
      assert.match(reply.headers.get('x-request-id') ?? '', UUID);
      assert.equal(reply.headers.get('connection'), 'keep-alive');
      assert.equal(reply.headers.get('content-length'), String(reply.bytes.length));
      assert.equal(reply.headers.get('pragma'), 'no-cache');
      assert.equal(reply.headers.get('cache-control'), 'no-cache; no-store, must-revalidate, private');
      assert.equal(reply.headers.get('expires'), 'Thu, 01 Jan 1970 00:00:00 UTC');
      const [model] = await describeModel(lantern, 'noop');
      assert.equal(model?.modelUrl, 'noop.mar');
      assert.deepEqual(model?.workers, []);
    });

    it('answers an asynchronous registration with 202 before the workers are up, then starts them', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      const reply = await request('POST', `${lantern.management}/models?initial_workers=1&synchronous=false&url=noop.mar`);
      expectStatus(reply, 202, 'Processing worker updates...');
      const [worker] = await readyWorkers(lantern, 'noop', 1);
      checkWorker(worker as Worker);
    });

    it('answers a synchronous registration with 200 once the workers are loaded', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      const reply = await request('POST', `${lantern.management}/models?initial_workers=1&synchronous=true&url=noop.mar`);
      expectStatus(reply, 200, 'Model "noop" Version: 1.0 registered with 1 initial workers');
      const [model] = await describeModel(lantern, 'noop');
      assert.equal(model?.workers.length, 1);
      checkWorker(model?.workers[0] as Worker);
    });

    it('registers synchronously by default (the code default, not the documented one)', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      const reply = await request('POST', `${lantern.management}/models?initial_workers=1&url=noop.mar`);
      expectStatus(reply, 200, 'Model "noop" Version: 1.0 registered with 1 initial workers');
    });

    it('takes the registration parameters from a JSON body', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      const reply = await request('POST', `${lantern.management}/models`, {
        body: JSON.stringify({ url: 'noop.mar', model_name: 'renamed', batch_size: 3, max_batch_delay: 50 }),
        headers: { 'content-type': 'application/json' },
      });
      expectStatus(reply, 200, ZERO_WORKERS('renamed'));
      const [model] = await describeModel(lantern, 'renamed');
      assert.equal(model?.batchSize, 3);
      assert.equal(model?.maxBatchDelay, 50);
    });

    it('registers the bundled iris example in directory form and predicts with it', async () => {
      const lantern = await lanterns.start({ withIris: true });
      expectStatus(
        await request('POST', `${lantern.management}/models?url=iris&initial_workers=1&synchronous=true`),
        200,
        'Model "iris" Version: 1.0 registered with 1 initial workers',
      );
      const reply = await request('POST', `${lantern.inference}/predictions/iris`, {
        body: JSON.stringify({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(reply.status, 200, reply.text);
      const probabilities = reply.json<Record<string, number>>();
      assert.deepEqual(Object.keys(probabilities).sort(), ['setosa', 'versicolor', 'virginica']);
      assert.equal(Object.keys(probabilities)[0], 'setosa');
    });
  });

  describe('scale workers', () => {
    it('answers an asynchronous scale with 202 and reaches the new worker count', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      expectStatus(await request('POST', `${lantern.management}/models?url=noop.mar`), 200, ZERO_WORKERS('noop'));
      expectStatus(await request('PUT', `${lantern.management}/models/noop?min_worker=3`), 202, 'Processing worker updates...');
      const workers = await readyWorkers(lantern, 'noop', 3);
      for (const w of workers) checkWorker(w);
      assert.equal(new Set(workers.map((w) => w.pid)).size, 3, 'three distinct processes');
      assert.deepEqual(workers.map((w) => w.id), ['9000', '9001', '9002']);
      const [model] = await describeModel(lantern, 'noop');
      assert.equal(model?.minWorkers, 3);
      assert.equal(model?.maxWorkers, 3);
    });

    it('answers a synchronous scale with 200 after the workers are adjusted', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      expectStatus(await request('POST', `${lantern.management}/models?url=noop.mar`), 200, ZERO_WORKERS('noop'));
      const reply = await request('PUT', `${lantern.management}/models/noop?min_worker=3&synchronous=true`);
      expectStatus(reply, 200, 'Workers scaled to 3 for model: noop');
      const [model] = await describeModel(lantern, 'noop');
      assert.equal(model?.workers.length, 3);
      for (const w of model?.workers as Worker[]) checkWorker(w);
    });

    it('scales a given version through the versioned path', async () => {
      const lantern = await lanterns.start({ archives: [NOOP, NOOP_2] });
      expectStatus(await request('POST', `${lantern.management}/models?url=noop.mar`), 200, ZERO_WORKERS('noop'));
      expectStatus(await request('POST', `${lantern.management}/models?url=noop_2.mar`), 200, ZERO_WORKERS('noop', '2.0'));
      const reply = await request('PUT', `${lantern.management}/models/noop/2.0?min_worker=3&synchronous=true`);
      expectStatus(reply, 200, 'Workers scaled to 3 for model: noop, version: 2.0');
      const [v2] = await describeModel(lantern, 'noop/2.0');
      assert.equal(v2?.workers.length, 3);
      const [v1] = await describeModel(lantern, 'noop/1.0');
      assert.equal(v1?.workers.length, 0, 'the other version is untouched');
    });
  });

  describe('describe model', () => {
    it('describes the default version with its runtime status', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      await request('POST', `${lantern.management}/models?url=noop.mar&initial_workers=1&synchronous=true`);
      const body = await describeModel(lantern, 'noop');
      assert.equal(body.length, 1);
      const model = body[0] as Record<string, any>;
      assert.deepEqual(Object.keys(model).slice(0, 8), [
        'modelName', 'modelVersion', 'modelUrl', 'runtime', 'minWorkers', 'maxWorkers', 'batchSize', 'maxBatchDelay',
      ]);
      assert.equal(model.modelName, 'noop');
      assert.equal(model.modelVersion, '1.0');
      assert.equal(model.modelUrl, 'noop.mar');
      assert.equal(model.runtime, 'python');
      assert.equal(model.minWorkers, 1);
      assert.equal(model.maxWorkers, 1);
      assert.equal(model.batchSize, 1);
      assert.equal(model.maxBatchDelay, 100);
      assert.equal(model.loadedAtStartup, false);
      assert.equal('engine' in model, false, 'engine is never set');
      assert.equal('customizedMetadata' in model, false);
      assert.deepEqual(model.jobQueueStatus, { remainingCapacity: 100, pendingRequests: 0 });
      assert.equal(model.workers.length, 1);
      checkWorker(model.workers[0]);
      assert.equal(model.workers[0].id, '9000', 'the first worker of a server is 9000');
    });

    it('describes a given version and all versions', async () => {
      const lantern = await lanterns.start({ archives: [NOOP, NOOP_2] });
      await request('POST', `${lantern.management}/models?url=noop.mar&initial_workers=1&synchronous=true`);
      await request('POST', `${lantern.management}/models?url=noop_2.mar&initial_workers=1&synchronous=true`);
      const [v2, ...rest] = await describeModel(lantern, 'noop/2.0');
      assert.equal(rest.length, 0);
      assert.equal(v2?.modelName, 'noop');
      assert.equal(v2?.modelVersion, '2.0');
      assert.equal(v2?.modelUrl, 'noop_2.mar');
      checkWorker(v2?.workers[0]);
      assert.equal(v2?.workers[0].id, '9001');

      const all = await describeModel(lantern, 'noop/all');
      assert.equal(all.length, 2);
      const byVersion = new Map(all.map((m) => [m.modelVersion as string, m]));
      assert.equal(byVersion.get('1.0')?.modelUrl, 'noop.mar');
      assert.equal(byVersion.get('2.0')?.modelUrl, 'noop_2.mar');
      for (const m of all) {
        assert.equal(m.workers.length, 1);
        checkWorker(m.workers[0]);
      }
    });

    it('adds the handler metadata as a JSON object with customized=true', async () => {
      const lantern = await lanterns.start({ archives: [CUSTOMIZED] });
      await request('POST', `${lantern.management}/models?url=noop-customized.mar&initial_workers=1&synchronous=true`);
      for (const path of ['noop-customized/1.0?customized=true', 'noop-customized?customized=true']) {
        const reply = await request('GET', `${lantern.management}/models/${path}`);
        assert.equal(reply.status, 200, reply.text);
        assert.equal(reply.headers.get('content-type'), 'application/json');
        const [model, ...rest] = reply.json<Array<Record<string, any>>>();
        assert.equal(rest.length, 0);
        assert.equal(model?.modelName, 'noop-customized');
        assert.equal(model?.modelUrl, 'noop-customized.mar');
        assert.equal(model?.workers.length, 1);
        assert.deepEqual(model?.customizedMetadata, { data1: '1', data2: '2' });
      }
      // The handler still predicts normally.
      const prediction = await request('POST', `${lantern.inference}/predictions/noop-customized`, { body: 'x' });
      assert.equal(prediction.status, 200);
      assert.equal(prediction.text, 'prediction');
    });

    it('refuses customized=true for a model without workers', async () => {
      const lantern = await lanterns.start({ archives: [CUSTOMIZED] });
      await request('POST', `${lantern.management}/models?url=noop-customized.mar`);
      expectError(
        await request('GET', `${lantern.management}/models/noop-customized?customized=true`),
        503,
        'ServiceUnavailableException',
        'Model "noop-customized" has no worker to serve describe request. Please use scale workers API to add workers.',
      );
    });

    it('answers 404 for unknown models and versions', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      await request('POST', `${lantern.management}/models?url=noop.mar`);
      expectError(await request('GET', `${lantern.management}/models/nope`), 404, 'ModelNotFoundException', 'Model not found: nope');
      expectError(
        await request('GET', `${lantern.management}/models/noop/9.9`),
        404,
        'ModelVersionNotFoundException',
        'Model version: 9.9 does not exist for model: noop',
      );
    });
  });

  describe('unregister a model', () => {
    it('unregisters a version, stops its worker process and forgets the model', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      await request('POST', `${lantern.management}/models?url=noop.mar&initial_workers=1&synchronous=true`);
      const pids = lantern.pids('noop');
      assert.equal(pids.length, 1);
      lanterns.seen(pids);
      expectStatus(await request('DELETE', `${lantern.management}/models/noop/1.0`), 200, 'Model "noop" unregistered');
      await waitAllDead(pids);
      expectError(await request('GET', `${lantern.management}/models/noop`), 404, 'ModelNotFoundException', 'Model not found: noop');
      const list = await request('GET', `${lantern.management}/models`);
      assert.deepEqual(list.json(), { models: [] });
      // The archive can be registered again afterwards.
      expectStatus(await request('POST', `${lantern.management}/models?url=noop.mar`), 200, ZERO_WORKERS('noop'));
    });

    it('answers 404 when unregistering an unknown model or version', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      await request('POST', `${lantern.management}/models?url=noop.mar`);
      expectError(await request('DELETE', `${lantern.management}/models/nope`), 404, 'ModelNotFoundException', 'Model not found: nope');
      expectError(
        await request('DELETE', `${lantern.management}/models/noop/3.0`),
        404,
        'ModelVersionNotFoundException',
        'Model version: 3.0 does not exist for model: noop',
      );
    });
  });

  describe('list models', () => {
    const NAMES = ['alpha', 'beta', 'gamma', 'noop', 'noop_v0.1'];

    async function registerFive(lantern: Lantern): Promise<void> {
      // Registered out of order: the list is sorted by name.
      for (const name of [...NAMES].reverse()) {
        expectStatus(await request('POST', `${lantern.management}/models?url=noop.mar&model_name=${name}`), 200, ZERO_WORKERS(name));
      }
    }

    const page = (names: string[], token?: string): object => ({
      ...(token === undefined ? {} : { nextPageToken: token }),
      models: names.map((modelName) => ({ modelName, modelUrl: 'noop.mar' })),
    });

    async function list(lantern: Lantern, query: string): Promise<string> {
      const reply = await request('GET', `${lantern.management}/models${query}`);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.headers.get('content-type'), 'application/json');
      return reply.text;
    }

    const pretty = (value: object): string => `${JSON.stringify(value, null, 2)}\n`;

    it('lists the default versions sorted by name, without a token when everything fits', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      assert.equal(await list(lantern, ''), pretty(page([])));
      await registerFive(lantern);
      assert.equal(await list(lantern, ''), pretty(page(NAMES)));
    });

    it('pages with limit and next_page_token', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      await registerFive(lantern);
      assert.equal(await list(lantern, '?limit=2&next_page_token=2'), pretty(page(['gamma', 'noop'], '4')));
      assert.equal(await list(lantern, '?limit=2'), pretty(page(['alpha', 'beta'], '2')));
      assert.equal(await list(lantern, '?limit=2&next_page_token=4'), pretty(page(['noop_v0.1'])));
      // A page ending exactly at the last model still carries a token; the next page is empty.
      assert.equal(await list(lantern, '?limit=5'), pretty(page(NAMES, '5')));
      assert.equal(await list(lantern, '?limit=5&next_page_token=5'), pretty(page([])));
      assert.equal(await list(lantern, '?limit=0'), pretty(page([], '0')));
      // Out-of-range and unparseable values take the defaults.
      assert.equal(await list(lantern, '?limit=500'), pretty(page(NAMES)));
      assert.equal(await list(lantern, '?limit=-1&next_page_token=-3'), pretty(page(NAMES)));
      assert.equal(await list(lantern, '?limit=abc&next_page_token=xyz'), pretty(page(NAMES)));
    });

    it('lists only the default version of a model with several versions', async () => {
      const lantern = await lanterns.start({ archives: [NOOP, NOOP_2] });
      await request('POST', `${lantern.management}/models?url=noop.mar`);
      await request('POST', `${lantern.management}/models?url=noop_2.mar`);
      assert.equal(await list(lantern, ''), pretty({ models: [{ modelName: 'noop', modelUrl: 'noop.mar' }] }));
    });
  });

  describe('API description', () => {
    it('serves a valid OpenAPI 3.0.1 document on OPTIONS / of both listeners', async () => {
      const lantern = await lanterns.start();
      const documents: Record<string, any> = {};
      for (const [api, base] of [['inference', lantern.inference], ['management', lantern.management]] as const) {
        const reply = await request('OPTIONS', `${base}/`);
        assert.equal(reply.status, 200, reply.text);
        assert.equal(reply.headers.get('content-type'), 'application/json');
        const document = reply.json<Record<string, any>>();
        assert.equal(document.openapi, '3.0.1');
        assert.equal(document.info.title, 'TorchServe APIs');
        const result = await new Validator().validate(document);
        assert.equal(result.valid, true, JSON.stringify(result.errors));
        const again = await request('GET', `${base}/api-description`);
        assert.deepEqual(again.json(), document);
        documents[api] = document;
      }
      const management = documents.management.paths;
      assert.deepEqual(Object.keys(management['/models']).sort(), ['get', 'post']);
      assert.deepEqual(Object.keys(management['/models/{model_name}']).sort(), ['delete', 'get', 'put']);
      assert.deepEqual(Object.keys(management['/models/{model_name}/{model_version}']).sort(), ['delete', 'get', 'put']);
      assert.ok(management['/models/{model_name}/{model_version}/set-default'].put);
      const inference = documents.inference.paths;
      assert.ok(inference['/ping']);
      assert.ok(inference['/predictions/{model_name}']);
      assert.ok(inference['/predictions/{model_name}/{model_version}'], 'the versioned prediction route is described (spec §0.2)');
      assert.equal(inference['/models'], undefined, 'each listener describes its own API');
    });

    it('answers other methods on / with 405', async () => {
      const lantern = await lanterns.start();
      for (const base of [lantern.inference, lantern.management]) {
        expectError(
          await request('GET', `${base}/`),
          405,
          'MethodNotAllowedException',
          'Requested method is not allowed, please refer to API document.',
        );
      }
    });
  });

  describe('set default version', () => {
    it('switches the default version', async () => {
      const lantern = await lanterns.start({ archives: [NOOP, NOOP_2] });
      await request('POST', `${lantern.management}/models?url=noop.mar`);
      await request('POST', `${lantern.management}/models?url=noop_2.mar`);
      assert.equal((await describeModel(lantern, 'noop'))[0]?.modelVersion, '1.0', 'the first version is the default');
      expectStatus(
        await request('PUT', `${lantern.management}/models/noop/2.0/set-default`),
        200,
        'Default version successfully updated for model "noop" to "2.0"',
      );
      assert.equal((await describeModel(lantern, 'noop'))[0]?.modelVersion, '2.0');
      const list = await request('GET', `${lantern.management}/models`);
      assert.deepEqual(list.json(), { models: [{ modelName: 'noop', modelUrl: 'noop_2.mar' }] });
    });

    it('answers 404 for an unknown model or version', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      await request('POST', `${lantern.management}/models?url=noop.mar`);
      expectError(await request('PUT', `${lantern.management}/models/nope/1.0/set-default`), 404, 'ModelNotFoundException', 'Model not found: nope');
      expectError(
        await request('PUT', `${lantern.management}/models/noop/3.0/set-default`),
        404,
        'ModelVersionNotFoundException',
        'Model version 3.0 does not exist for model noop',
      );
    });
  });
});
