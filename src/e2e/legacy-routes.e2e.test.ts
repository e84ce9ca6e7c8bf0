// TorchServe's SageMaker-style and legacy inference routes (spec §2.1), as TorchServe 0.12.0 answers
// them (checked by hand against it): /invocations, /models/{m}/invoke, /{m}[/{v}]/predict. Their
// query parameters become inputs ahead of the body's, and they add no url_path or explain header.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, lanternPerTest, request, type MarSpec } from './harness.js';

const ECHO: MarSpec = { file: 'echo.mar', handler: 'echo_handler.py', modelName: 'echo' };
const OTHER: MarSpec = { file: 'other.mar', handler: 'echo_handler.py', modelName: 'other' };

interface Echoed {
  keys: string[];
  values: Record<string, { type: string; value?: unknown; hex?: string }>;
  headers: Record<string, string>;
}

const text = (v: { value?: unknown; hex?: string } | undefined): string =>
  v?.hex !== undefined ? Buffer.from(v.hex, 'hex').toString('utf8') : String(v?.value);

describe('SageMaker and legacy inference routes', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('pass query parameters as inputs before the body, with no url_path or explain header', async () => {
    const lantern = await lanterns.start({ archives: [ECHO], properties: ['load_models=echo.mar'] });
    const post = (path: string) => request('POST', `${lantern.inference}${path}`, { body: 'hello', headers: { 'content-type': 'text/plain' } });
    for (const [path, keys] of [
      ['/invocations?model_name=echo&a=1&b=two', ['a', 'b', 'body', 'model_name']],
      ['/models/echo/invoke?a=1', ['a', 'body']],
      ['/echo/predict?a=1', ['a', 'body']],
      ['/echo/1.0/predict?x=y', ['body', 'x']],
    ] as const) {
      const reply = await post(path);
      assert.equal(reply.status, 200, `${path}: ${reply.text}`);
      const echoed = reply.json<Echoed>();
      assert.deepEqual(echoed?.keys, keys, path);
      assert.equal(text(echoed?.values.body), 'hello');
      assert.equal(echoed?.headers.url_path, undefined, path);
      assert.equal(echoed?.headers.explain, undefined, path);
    }
    const repeated = (await post('/echo/predict?a=1&a=2')).json<Echoed>();
    assert.equal(text(repeated.values.a), '2', 'a repeated name: the last value');
    // No ?model_name: the one model loaded at start.
    assert.equal((await post('/invocations?a=1')).status, 200);
  });

  it('take model_name from a form field, and refuse /invocations that names no model when it cannot guess', async () => {
    const lantern = await lanterns.start({ archives: [ECHO, OTHER] });
    for (const url of ['echo.mar', 'other.mar']) {
      assert.equal((await request('POST', `${lantern.management}/models?url=${url}&initial_workers=1&synchronous=true`)).status, 200);
    }
    const form = new FormData();
    form.append('model_name', 'other');
    form.append('data', 'xyz');
    const reply = await request('POST', `${lantern.inference}/invocations`, { body: form });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json<Echoed>().keys, ['data', 'model_name']);
    expectError(await request('POST', `${lantern.inference}/invocations?a=1`, { body: 'x' }), 400, 'BadRequestException', 'Parameter model_name is required.');
    expectError(
      await request('POST', `${lantern.inference}/models/echo/other`, { body: 'x' }),
      404,
      'ResourceNotFoundException',
      'Requested resource is not found, please refer to API document.',
    );
  });
});
