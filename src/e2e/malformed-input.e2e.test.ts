// Bad requests and bad archives (spec §0.4, §1.2–§1.4): exact status codes, types and messages,
// and nothing left registered or running afterwards.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ZipFile } from 'yazl';
import { expectError, expectStatus, lanternPerTest, marBytes, request, waitFor, type Lantern, type MarSpec } from './harness.js';

const NOOP: MarSpec = { file: 'noop.mar', handler: 'echo_handler.py', modelName: 'noop' };
const NAMELESS: MarSpec = { file: 'nameless.mar', handler: 'echo_handler.py', modelName: null };
const BROKEN: MarSpec = { file: 'broken.mar', handler: 'failing_init_handler.py', modelName: 'broken' };
const NOT_FOUND = 'Requested resource is not found, please refer to API document.';
const NOT_ALLOWED = 'Requested method is not allowed, please refer to API document.';

async function zip(entries: Record<string, string>): Promise<Buffer> {
  const file = new ZipFile();
  for (const [name, data] of Object.entries(entries)) file.addBuffer(Buffer.from(data), name);
  file.end();
  const chunks: Buffer[] = [];
  for await (const chunk of file.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function expectNothingRegistered(lantern: Lantern): Promise<void> {
  const list = await request('GET', `${lantern.management}/models`);
  assert.deepEqual(list.json(), { models: [] });
}

/** A local HTTP server standing in for a download site: serves /<name>.mar from `files`. */
async function archiveSite(files: Record<string, Buffer>): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const body = files[req.url ?? ''];
    if (body === undefined) {
      res.statusCode = 404;
      res.end('no such file');
      return;
    }
    res.setHeader('content-type', 'application/octet-stream');
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('malformed input', () => {
  const lanterns = lanternPerTest({ afterEach });

  describe('registration', () => {
    it('refuses an archive that is not a zip with 400', async () => {
      const lantern = await lanterns.start();
      await lantern.writeStoreFile('bad.mar', 'this is not a zip file');
      const reply = await request('POST', `${lantern.management}/models?url=bad.mar`);
      assert.equal(reply.status, 400, reply.text);
      const body = reply.json<{ code: number; type: string; message: string }>();
      assert.equal(body.code, 400);
      assert.equal(body.type, 'InvalidModelException');
      assert.match(body.message, /^Not a valid zip archive/);
      await expectNothingRegistered(lantern);
    });

    it('refuses an archive whose manifest is not JSON', async () => {
      const lantern = await lanterns.start();
      await lantern.writeStoreFile('garbled.mar', await zip({ 'MAR-INF/MANIFEST.json': '{not json', 'h.py': '' }));
      expectError(await request('POST', `${lantern.management}/models?url=garbled.mar`), 400, 'InvalidModelException', 'Failed to parse signature.json.');
      await expectNothingRegistered(lantern);
    });

    it('needs a model name from the manifest or from model_name', async () => {
      const lantern = await lanterns.start({ archives: [NAMELESS] });
      await lantern.writeStoreFile('manifestless.mar', await zip({ 'echo_handler.py': '' }));
      for (const url of ['nameless.mar', 'manifestless.mar']) {
        expectError(await request('POST', `${lantern.management}/models?url=${url}`), 400, 'InvalidModelException', 'Model name is not defined.');
      }
      await expectNothingRegistered(lantern);
      // model_name supplies the missing name.
      expectStatus(
        await request('POST', `${lantern.management}/models?url=nameless.mar&model_name=named&initial_workers=1`),
        200,
        'Model "named" Version: 1.0 registered with 1 initial workers',
      );
    });

    it('needs a url', async () => {
      const lantern = await lanterns.start();
      expectError(await request('POST', `${lantern.management}/models`), 400, 'BadRequestException', 'Parameter url is required.');
      // An empty url is TorchServe's 404.
      expectError(await request('POST', `${lantern.management}/models?url=`), 404, 'ModelNotFoundException', 'empty url');
      expectError(
        await request('POST', `${lantern.management}/models`, { body: '{"model_name": "x"}', headers: { 'content-type': 'application/json' } }),
        400,
        'BadRequestException',
        'Parameter url is required.',
      );
    });

    it('accepts only the runtimes python, python3 and LSP, case-sensitively', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      for (const runtime of ['PYTHON', 'java']) {
        expectError(
          await request('POST', `${lantern.management}/models?url=noop.mar&runtime=${runtime}`),
          400,
          'BadRequestException',
          `Invalid RuntimeType value: ${runtime}`,
        );
      }
      await expectNothingRegistered(lantern);
      expectStatus(
        await request('POST', `${lantern.management}/models?url=noop.mar&runtime=python3`),
        200,
        'Model "noop" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.',
      );
    });

    it('refuses urls with ".." and urls that name nothing in the model store', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      for (const url of ['../noop.mar', 'sub/../noop.mar', '..']) {
        expectError(
          await request('POST', `${lantern.management}/models?url=${encodeURIComponent(url)}`),
          404,
          'ModelNotFoundException',
          `Relative path is not allowed in url: ${url}`,
        );
      }
      for (const url of ['missing.mar', 'missing']) {
        expectError(await request('POST', `${lantern.management}/models?url=${url}`), 404, 'ModelNotFoundException', `Model not found at: ${url}`);
      }
      await expectNothingRegistered(lantern);
    });

    it('takes back a synchronous registration whose handler fails to initialize', async () => {
      const lantern = await lanterns.start({ archives: [BROKEN] });
      expectError(
        await request('POST', `${lantern.management}/models?url=broken.mar&initial_workers=1&synchronous=true`),
        500,
        'InternalServerException',
        'Failed to start workers for model broken version: 1.0',
      );
      expectError(await request('GET', `${lantern.management}/models/broken`), 404, 'ModelNotFoundException', 'Model not found: broken');
      await expectNothingRegistered(lantern);
      assert.ok(lantern.logs.some((line) => line.includes('this model cannot be loaded')), 'the handler error is in the model log');
      await waitFor('the failed worker to be gone', async () => (await lantern.osWorkerPids()).length === 0);
      // The name is free again.
      expectStatus(
        await request('POST', `${lantern.management}/models?url=broken.mar`),
        200,
        'Model "broken" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.',
      );
    });

    it('downloads archives over HTTP into the model store, and reports failed downloads', async () => {
      const site = await archiveSite({ '/squeezenet1_1.mar': await marBytes({ handler: 'echo_handler.py', modelName: 'squeezenet_v1.1' }) });
      try {
        const lantern = await lanterns.start();
        const url = `${site.url}/squeezenet1_1.mar`;
        expectStatus(
          await request('POST', `${lantern.management}/models?url=${encodeURIComponent(url)}`),
          200,
          'Model "squeezenet_v1.1" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.',
        );
        assert.ok(existsSync(path.join(lantern.store, 'squeezenet1_1.mar')), 'the download is kept in the model store');
        const [model] = (await request('GET', `${lantern.management}/models/squeezenet_v1.1`)).json<Array<{ modelUrl: string }>>();
        assert.equal(model?.modelUrl, url);
        // The same URL again: the file is already in the store.
        expectError(
          await request('POST', `${lantern.management}/models?url=${encodeURIComponent(url)}&model_name=again`),
          500,
          'InternalServerException',
          'Model file already exists squeezenet1_1.mar',
        );
        // Unregistering removes the downloaded copy.
        expectStatus(await request('DELETE', `${lantern.management}/models/squeezenet_v1.1`), 200, 'Model "squeezenet_v1.1" unregistered');
        assert.equal(existsSync(path.join(lantern.store, 'squeezenet1_1.mar')), false);

        const missing = `${site.url}/nothing.mar`;
        expectError(
          await request('POST', `${lantern.management}/models?url=${encodeURIComponent(missing)}`),
          400,
          'DownloadArchiveException',
          `Failed to download archive from: ${missing}`,
        );
        assert.equal(existsSync(path.join(lantern.store, 'nothing.mar')), false, 'a failed download leaves no file');
        await expectNothingRegistered(lantern);
      } finally {
        await site.close();
      }
    });
  });

  describe('routing and parameters', () => {
    it('answers 404 ResourceNotFoundException for unknown management paths', async () => {
      const lantern = await lanterns.start();
      for (const p of ['/foo', '/models/a/b/c/d', '/modelz/a', '/models/a/1.0/make-default']) {
        expectError(await request('GET', `${lantern.management}${p}`), 404, 'ResourceNotFoundException', NOT_FOUND);
      }
    });

    it('answers 405 MethodNotAllowedException for a wrong method', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      await request('POST', `${lantern.management}/models?url=noop.mar`);
      for (const [method, p] of [['PUT', '/models'], ['PATCH', '/models'], ['DELETE', '/models'], ['POST', '/models/noop'], ['POST', '/models/noop/1.0'], ['POST', '/models/noop/1.0/set-default']] as const) {
        expectError(await request(method, `${lantern.management}${p}`), 405, 'MethodNotAllowedException', NOT_ALLOWED);
      }
    });

    it('refuses max_worker below min_worker and negative min_worker', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      await request('POST', `${lantern.management}/models?url=noop.mar`);
      expectError(
        await request('PUT', `${lantern.management}/models/noop?min_worker=3&max_worker=1`),
        400,
        'BadRequestException',
        'max_worker cannot be less than min_worker.',
      );
      const negative = await request('PUT', `${lantern.management}/models/noop?min_worker=-1`);
      assert.equal(negative.status, 500, negative.text);
      assert.equal(negative.json<{ type: string }>().type, 'InternalServerException');
      const [model] = (await request('GET', `${lantern.management}/models/noop`)).json<Array<{ minWorkers: number; workers: unknown[] }>>();
      assert.equal(model?.minWorkers, 0, 'refused scale requests change nothing');
      assert.deepEqual(model?.workers, []);
    });

    it('answers 404 when scaling an unknown model or version', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      await request('POST', `${lantern.management}/models?url=noop.mar`);
      expectError(await request('PUT', `${lantern.management}/models/nope?min_worker=1`), 404, 'ModelNotFoundException', 'Model not found: nope');
      expectError(
        await request('PUT', `${lantern.management}/models/noop/2.0?min_worker=1`),
        404,
        'ModelVersionNotFoundException',
        'Model version: 2.0 does not exist for model: noop',
      );
    });

    it('ignores unparseable integer parameters', async () => {
      const lantern = await lanterns.start({ archives: [NOOP] });
      expectStatus(
        await request('POST', `${lantern.management}/models?url=noop.mar&batch_size=abc&max_batch_delay=1.5`),
        200,
        'Model "noop" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.',
      );
      const [model] = (await request('GET', `${lantern.management}/models/noop`)).json<Array<{ batchSize: number; maxBatchDelay: number }>>();
      assert.equal(model?.batchSize, 1);
      assert.equal(model?.maxBatchDelay, 100);
    });
  });
});
