// KServe over real workers: the kserve and kservev2 envelopes (service_envelope), KServe v1's
// routes on the inference listener and on one shared inference/management listener.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { freePort } from './lantern-process.js';
import { lanternPerTest, request, waitFor, type MarSpec } from './harness.js';

const KV: MarSpec = { file: 'kv.mar', handler: 'kserve_handler.py', modelName: 'kv', version: '3.0' };
const json = { 'content-type': 'application/json' };

describe('KServe', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('serves KServe v1 with the kserve envelope on one shared listener, with the inference key', async () => {
    const port = await freePort();
    const lantern = await lanterns.start({
      archives: [KV],
      properties: [
        `inference_address=http://127.0.0.1:${port}`,
        `management_address=http://127.0.0.1:${port}`,
        'service_envelope=kserve',
        'load_models=kv.mar',
        'disable_token_authorization=false',
      ],
    });
    assert.equal(lantern.inference, lantern.management);
    const keys = JSON.parse(await readFile(lantern.server.keyFile ?? '', 'utf8')) as { inference: { key: string }; management: { key: string } };
    const auth = { authorization: `Bearer ${keys.inference.key}` };
    const base = lantern.inference;
    await waitFor('kv ready', async () => (await request('GET', `${base}/v1/models/kv`, { headers: auth })).json<{ ready: boolean }>().ready);
    assert.deepEqual((await request('GET', `${base}/v1/models/kv`, { headers: auth })).json(), { name: 'kv', ready: true });
    assert.deepEqual((await request('GET', `${base}/v1/models`, { headers: auth })).json(), { models: ['kv'] });
    const predicted = await request('POST', `${base}/v1/models/kv:predict`, { headers: { ...auth, ...json }, body: JSON.stringify({ instances: [1, 2.5] }) });
    assert.equal(predicted.status, 200, predicted.text);
    assert.deepEqual(predicted.json(), { predictions: [2, 5] });
    const explained = await request('POST', `${base}/v1/models/kv:explain`, { headers: { ...auth, ...json }, body: JSON.stringify({ instances: [4] }) });
    assert.deepEqual(explained.json(), { explanations: [8] });
    // The inference routes need the inference key, also on the shared listener.
    assert.equal((await request('GET', `${base}/v1/models/kv`)).status, 400);
    assert.equal((await request('GET', `${base}/v1/models/kv`, { headers: { authorization: `Bearer ${keys.management.key}` } })).status, 400);
    // An unknown model is TorchServe's 404.
    assert.equal((await request('GET', `${base}/v1/models/nope`, { headers: auth })).status, 404);
  });

  it('answers KServe v2 inference through the kservev2 envelope, outputs named after the inputs', async () => {
    const lantern = await lanterns.start({ archives: [KV], properties: ['service_envelope=kservev2', 'load_models=kv.mar'] });
    const body = {
      id: 'req-7',
      inputs: [
        { name: 'x', shape: [2, 2], datatype: 'INT64', data: [1, 2, 3, 4] },
        { name: 'word', shape: [1], datatype: 'BYTES', data: ['hi'] },
      ],
    };
    const reply = await request('POST', `${lantern.inference}/v2/models/kv/infer`, { headers: json, body: JSON.stringify(body) });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json(), {
      id: 'req-7',
      model_name: 'kv',
      model_version: '3.0',
      outputs: [
        { name: 'x', datatype: 'INT64', data: [1, 2, 3, 4], shape: [4] },
        { name: 'word', datatype: 'BYTES', data: ['hi'], shape: [1] },
      ],
    });
    // The management listener's KServe v1 readiness uses the same predicate.
    assert.deepEqual((await request('GET', `${lantern.management}/v1/models/kv`)).json(), { name: 'kv', ready: true });
    // An unknown model is TorchServe's 404 there too (TorchServe 0.12.0's ManagementRequestHandler), not "not ready".
    const unknown = await request('GET', `${lantern.management}/v1/models/nope`);
    assert.equal(unknown.status, 404, unknown.text);
    assert.deepEqual(unknown.json(), { code: 404, type: 'ModelNotFoundException', message: 'Model not found: nope' });
  });
});
