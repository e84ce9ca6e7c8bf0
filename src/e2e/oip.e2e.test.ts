// The Open Inference Protocol over REST against real workers: a Python handler behind the kservev2
// envelope (metadata from model-config.yaml's oip block) and the built-in onnx handler (metadata
// from the ONNX session), JSON and binary tensors, versions, and {"error": ...} errors.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lanternPerTest, onnxMar, request, waitFor, type Lantern, type MarSpec } from './harness.js';
import { decodeTensor, encodeTensor } from '../http/oip-binary.js';

const OIP_CONFIG = [
  'oip:',
  '  platform: python_kservev2',
  '  inputs:',
  '    - name: x',
  '      datatype: INT64',
  '      shape: [-1, 2]',
  '  outputs:',
  '    - name: x',
  '      datatype: INT64',
  '      shape: [-1]',
  '',
].join('\n');
const KV: MarSpec = { file: 'kv.mar', handler: 'kserve_handler.py', modelName: 'kv', version: '3.0', config: OIP_CONFIG };
const JSON_HEADERS = { 'content-type': 'application/json' };

async function ready(lantern: Lantern, model: string): Promise<void> {
  await waitFor(`${model} ready`, async () => (await request('GET', `${lantern.inference}/v2/models/${model}/ready`)).status === 200);
}

describe('Open Inference Protocol over REST', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('serves server metadata, health and readiness, and a Python model through the kservev2 envelope', async () => {
    const lantern = await lanterns.start({ archives: [KV], properties: ['service_envelope=kservev2', 'load_models=kv.mar'] });
    const base = lantern.inference;
    await ready(lantern, 'kv');
    const server = (await request('GET', `${base}/v2`)).json<Record<string, unknown>>();
    assert.equal(server.name, 'Torchserve');
    assert.deepEqual(server.extensions, server.extenstion);
    assert.ok((server.extensions as string[]).includes('binary_tensor_data'));
    assert.deepEqual((await request('GET', `${base}/v2/health/live`)).json(), { live: true });
    const health = await request('GET', `${base}/v2/health/ready`);
    assert.deepEqual([health.status, health.json()], [200, { ready: true }]);
    assert.deepEqual((await request('GET', `${base}/v2/models/kv/versions/3.0/ready`)).json(), { name: 'kv', ready: true });
    assert.deepEqual((await request('GET', `${base}/v2/models/kv`)).json(), {
      name: 'kv',
      versions: ['3.0'],
      platform: 'python_kservev2',
      inputs: [{ name: 'x', datatype: 'INT64', shape: [-1, 2] }],
      outputs: [{ name: 'x', datatype: 'INT64', shape: [-1] }],
    });

    const body = { id: 'a1', inputs: [{ name: 'x', shape: [2, 2], datatype: 'INT64', data: [1, 2, 3, 4] }] };
    const inferred = await request('POST', `${base}/v2/models/kv/versions/3.0/infer`, { headers: JSON_HEADERS, body: JSON.stringify(body) });
    assert.equal(inferred.status, 200, inferred.text);
    assert.equal(inferred.headers.get('content-type'), 'application/json');
    assert.deepEqual(inferred.json(), { id: 'a1', model_name: 'kv', model_version: '3.0', outputs: [{ name: 'x', datatype: 'INT64', data: [1, 2, 3, 4], shape: [4] }] });

    // Binary in and out: the edge turns the tensors into the JSON the envelope reads, and back.
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'x', shape: [1, 2], datatype: 'INT64', parameters: { binary_data_size: 16 } }],
        outputs: [{ name: 'x', parameters: { binary_data: true } }],
      }),
    );
    const binary = await request('POST', `${base}/v2/models/kv/infer`, {
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, encodeTensor('INT64', [5, -6])]),
    });
    assert.equal(binary.status, 200, binary.text);
    const length = Number(binary.headers.get('inference-header-content-length'));
    const replyHeader = JSON.parse(binary.bytes.toString('utf8', 0, length)) as { outputs: Array<{ name: string; datatype: string; parameters: Record<string, number> }> };
    assert.deepEqual(replyHeader.outputs[0]?.parameters, { binary_data_size: 16 });
    assert.deepEqual(decodeTensor('INT64', binary.bytes.subarray(length), 'x'), [5, -6]);

    // Errors in the protocol's shape.
    const missing = await request('GET', `${base}/v2/models/nope`);
    assert.deepEqual([missing.status, missing.json()], [404, { error: 'Model not found: nope' }]);
    const badVersion = await request('POST', `${base}/v2/models/kv/versions/9.9/infer`, { headers: JSON_HEADERS, body: JSON.stringify(body) });
    assert.equal(badVersion.status, 404);
    assert.ok(typeof badVersion.json<{ error: string }>().error === 'string');
    const cut = await request('POST', `${base}/v2/models/kv/infer`, { headers: { 'inference-header-content-length': '999' }, body: header });
    assert.equal(cut.status, 400);
    assert.match(cut.json<{ error: string }>().error, /does not fit the body/);
    const failed = await request('POST', `${base}/v2/models/kv/infer`, { headers: JSON_HEADERS, body: JSON.stringify({ inputs: [{ name: 'x', shape: [3], datatype: 'INT64', data: [1] }] }) });
    assert.deepEqual([failed.status, failed.json()], [503, { error: 'Prediction failed' }]);
  });

  it('describes an ONNX model from its session and answers its inference', async () => {
    const lantern = await lanterns.start();
    await lantern.writeStoreFile('mlp.mar', await onnxMar());
    const registered = await request('POST', `${lantern.management}/models?url=mlp.mar&initial_workers=1&synchronous=true`);
    assert.equal(registered.status, 200, registered.text);
    await ready(lantern, 'mlp');
    const meta = (await request('GET', `${lantern.inference}/v2/models/mlp`)).json<{ platform: string; inputs: Array<{ name: string; datatype: string; shape: number[] }>; outputs: unknown[] }>();
    assert.equal(meta.platform, 'onnxruntime_onnx');
    assert.deepEqual(meta.inputs.map((i) => [i.name, i.datatype, i.shape[i.shape.length - 1]]), [['pixels', 'FP32', 64]]);
    assert.ok(meta.outputs.length > 0);
    const reply = await request('POST', `${lantern.inference}/v2/models/mlp/infer`, {
      headers: JSON_HEADERS,
      body: JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'FP32', data: new Array(64).fill(0) }] }),
    });
    assert.equal(reply.status, 200, reply.text);
    assert.ok(reply.json<{ outputs: unknown[] }>().outputs.length > 0);
  });
});
