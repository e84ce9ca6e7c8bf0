// Model API control (spec §4): without enable_model_api, register and unregister answer 405 while
// the rest of the management API and inference keep working.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, expectStatus, lanternPerTest, request, type MarSpec } from './harness.js';

const NOOP: MarSpec = { file: 'noop.mar', handler: 'echo_handler.py', modelName: 'noop' };
const NOOP_2: MarSpec = { file: 'noop_2.mar', handler: 'echo_handler.py', modelName: 'noop', version: '2.0' };
const NOT_ALLOWED = 'Requested method is not allowed, please refer to API document.';

describe('model API control', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('refuses register and unregister with 405 when the model API is disabled', async () => {
    const lantern = await lanterns.start({ archives: [NOOP], enableModelApi: false, properties: ['load_models=noop.mar'] });
    expectError(await request('POST', `${lantern.management}/models?url=noop.mar&model_name=other`), 405, 'MethodNotAllowedException', NOT_ALLOWED);
    expectError(
      await request('POST', `${lantern.management}/models`, { body: JSON.stringify({ url: 'noop.mar' }), headers: { 'content-type': 'application/json' } }),
      405,
      'MethodNotAllowedException',
      NOT_ALLOWED,
    );
    expectError(await request('DELETE', `${lantern.management}/models/noop`), 405, 'MethodNotAllowedException', NOT_ALLOWED);
    expectError(await request('DELETE', `${lantern.management}/models/noop/1.0`), 405, 'MethodNotAllowedException', NOT_ALLOWED);
    const list = await request('GET', `${lantern.management}/models`);
    assert.deepEqual(list.json(), { models: [{ modelName: 'noop', modelUrl: 'noop.mar' }] }, 'nothing was registered or removed');
  });

  it('still scales, describes, sets the default and predicts when the model API is disabled', async () => {
    const lantern = await lanterns.start({ archives: [NOOP, NOOP_2], enableModelApi: false, properties: ['load_models=noop.mar,noop_2.mar'] });
    // Startup models get workers in the background (one per CPU here).
    const reply = await request('PUT', `${lantern.management}/models/noop?min_worker=2&synchronous=true`);
    expectStatus(reply, 200, 'Workers scaled to 2 for model: noop');
    const [model] = (await request('GET', `${lantern.management}/models/noop`)).json<Array<Record<string, any>>>();
    assert.equal(model?.workers.length, 2);
    assert.equal(model?.loadedAtStartup, true);
    const prediction = await request('POST', `${lantern.inference}/predictions/noop`, { body: 'hi', headers: { 'content-type': 'text/plain' } });
    assert.equal(prediction.status, 200, prediction.text);
    expectStatus(
      await request('PUT', `${lantern.management}/models/noop/2.0/set-default`),
      200,
      'Default version successfully updated for model "noop" to "2.0"',
    );
    const [described] = (await request('GET', `${lantern.management}/models/noop`)).json<Array<Record<string, any>>>();
    assert.equal(described?.modelVersion, '2.0');
  });
});
