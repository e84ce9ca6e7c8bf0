// The Open Inference Protocol over gRPC, on the gRPC inference port beside TorchServe's service,
// under KServe's and TorchServe's service names, with token authorization: health, metadata, and
// ModelInfer with typed contents and with raw_input_contents, against a Python kservev2 model.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { status as GrpcCode } from '@grpc/grpc-js';
import { lanternPerTest, request, waitFor, type MarSpec } from './harness.js';
import { grpcClient, targetOf, type UnaryResult } from './grpc-client.js';
import { decodeTensor, encodeTensor } from '../http/oip-binary.js';

const KV: MarSpec = { file: 'kv.mar', handler: 'kserve_handler.py', modelName: 'kv', version: '3.0', config: 'oip:\n  platform: python_kservev2\n' };

function value<T>(result: UnaryResult<T>): T {
  if (!result.ok) assert.fail(`call failed: ${result.code} ${result.details}`);
  return result.value;
}

describe('Open Inference Protocol over gRPC', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('serves both service names with the inference key: health, metadata and typed and raw ModelInfer', async () => {
    const lantern = await lanterns.start({ archives: [KV], properties: ['service_envelope=kservev2', 'load_models=kv.mar', 'disable_token_authorization=false'] });
    const keys = JSON.parse(await readFile(lantern.server.keyFile ?? '', 'utf8')) as { inference: { key: string }; management: { key: string } };
    const key = keys.inference.key;
    const target = targetOf(lantern.server.listeners.find((l) => l.api === 'grpc-inference')?.url ?? '');
    await waitFor('kv ready', async () => (await request('GET', `${lantern.inference}/v2/models/kv/ready`, { headers: { authorization: `Bearer ${key}` } })).status === 200);
    for (const service of ['oip', 'oip-torchserve'] as const) {
      const client = grpcClient(service, target);
      try {
        const refused = await client.unary('ServerLive', {}, keys.management.key);
        assert.equal(refused.ok ? -1 : refused.code, GrpcCode.PERMISSION_DENIED, service);
        assert.deepEqual(value(await client.unary('ServerLive', {}, key)), { live: true });
        assert.deepEqual(value(await client.unary('ServerReady', {}, key)), { ready: true });
        assert.deepEqual(value(await client.unary('ModelReady', { name: 'kv', version: '3.0' }, key)), { ready: true });
        const missing = await client.unary('ModelReady', { name: 'nope' }, key);
        assert.equal(missing.ok ? -1 : missing.code, GrpcCode.NOT_FOUND);
        const server = value(await client.unary<{ name: string; extensions: string[] }>('ServerMetadata', {}, key));
        assert.ok(server.extensions.includes('kserve'));
        const meta = value(await client.unary<{ name: string; versions: string[]; platform: string }>('ModelMetadata', { name: 'kv' }, key));
        assert.deepEqual([meta.name, meta.versions, meta.platform], ['kv', ['3.0'], 'python_kservev2']);

        const typed = value(
          await client.unary<{ id: string; model_version: string; outputs: Array<{ name: string; datatype: string; shape: string[]; contents: { int64_contents: string[]; bytes_contents: Buffer[] } }> }>(
            'ModelInfer',
            {
              model_name: 'kv',
              id: 'g1',
              inputs: [
                { name: 'x', datatype: 'INT64', shape: [2, 2], contents: { int64_contents: [1, 2, 3, -4] } },
                { name: 'w', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('hi')] } },
              ],
            },
            key,
          ),
        );
        assert.equal(typed.id, 'g1');
        assert.equal(typed.model_version, '3.0');
        assert.deepEqual(typed.outputs.map((o) => [o.name, o.datatype, o.shape]), [['x', 'INT64', ['4']], ['w', 'BYTES', ['1']]]);
        assert.deepEqual(typed.outputs[0]?.contents.int64_contents, ['1', '2', '3', '-4']);
        assert.equal(typed.outputs[1]?.contents.bytes_contents[0]?.toString(), 'hi');

        const raw = value(
          await client.unary<{ outputs: Array<{ name: string; datatype: string }>; raw_output_contents: Buffer[] }>(
            'ModelInfer',
            { model_name: 'kv', model_version: '3.0', inputs: [{ name: 'f', datatype: 'FP32', shape: [2] }], raw_input_contents: [encodeTensor('FP32', [0.5, -2])] },
            key,
          ),
        );
        // The kservev2 envelope answers FP64 for Python floats, as TorchServe's does.
        assert.deepEqual(raw.outputs.map((o) => [o.name, o.datatype]), [['f', 'FP64']]);
        assert.deepEqual(decodeTensor('FP64', raw.raw_output_contents[0] as Buffer, 'f'), [0.5, -2]);

        const bad = await client.unary('ModelInfer', { model_name: 'kv', inputs: [{ name: 'f', datatype: 'FP32', shape: [1] }], raw_input_contents: [Buffer.alloc(3)] }, key);
        assert.equal(bad.ok ? -1 : bad.code, GrpcCode.INVALID_ARGUMENT);
      } finally {
        client.close();
      }
    }
  });
});
