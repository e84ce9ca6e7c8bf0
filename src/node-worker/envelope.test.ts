import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InferenceRequest } from '../protocol/messages.js';
import { datatypeOf, withEnvelope } from './envelope.js';
import { HandlerContext } from './handler-context.js';
import { predict, type LoadedHandler } from './predict.js';
import { WorkerMetrics } from './worker-metrics.js';

const context = (): HandlerContext =>
  new HandlerContext({
    modelName: 'm',
    modelDir: '/m',
    manifest: { model: { modelName: 'adder', modelVersion: '2.0' } },
    modelYamlConfig: {},
    batchSize: 2,
    gpuId: null,
    serverVersion: '0.1.0',
    limitMaxImagePixels: true,
    metrics: new WorkerMetrics('m', { hostname: 'host', nowMs: () => 0, writeLine: () => undefined }),
  });

const request = (id: string, body: unknown, explain = 'False'): InferenceRequest => ({
  requestId: id,
  headers: [['explain', explain]],
  parameters: [{ name: 'body', contentType: 'application/json', value: Buffer.from(JSON.stringify(body)) }],
});

const seen: unknown[] = [];
const handler: LoadedHandler = {
  handle: (rows) => {
    seen.push(rows);
    return rows.map((r) => (typeof r === 'number' ? r * 2 : (r as { data?: unknown }).data ?? r));
  },
};

async function bodies(envelope: 'body' | 'json' | 'kserve' | 'kservev2', requests: InferenceRequest[]): Promise<unknown[]> {
  const reply = await predict(withEnvelope(envelope, handler), context(), requests, { decodeInput: true, logError: () => undefined, nowMs: () => 0 });
  assert.equal(reply.code, 200, reply.message);
  return reply.responses.map((r) => JSON.parse(r.body.toString('utf8')) as unknown);
}

describe('Node service envelopes', () => {
  it('kserve gives the handler the instances and answers predictions, or explanations when explain is True', async () => {
    seen.length = 0;
    assert.deepEqual(await bodies('kserve', [request('a', { instances: [1, 2, 3] })]), [{ predictions: [2, 4, 6] }]);
    assert.deepEqual(seen, [[1, 2, 3]]);
    assert.deepEqual(await bodies('kserve', [request('a', { instances: [4] }, 'True')]), [{ explanations: [8] }]);
  });

  it('kservev2 reshapes the inputs and names each output after its input, with id, model name and version', async () => {
    seen.length = 0;
    const body = {
      id: 'r1',
      inputs: [
        { name: 'x', shape: [2, 2], datatype: 'INT64', data: [1, 2, 3, 4] },
        { name: 'w', shape: [1], datatype: 'BYTES', data: ['hi'] },
        { name: 'f', shape: [2], datatype: 'FP32', data: [0.5, 1] },
      ],
    };
    const [reply] = await bodies('kservev2', [request('req-1', body)]);
    assert.deepEqual((seen[0] as Array<{ data: unknown }>).map((t) => t.data), [[[1, 2], [3, 4]], 'hi', [0.5, 1]]);
    assert.deepEqual(reply, {
      id: 'r1',
      model_name: 'adder',
      model_version: '2.0',
      outputs: [
        { name: 'x', datatype: 'INT64', data: [1, 2, 3, 4], shape: [4] },
        { name: 'w', datatype: 'BYTES', data: ['hi'], shape: [1] },
        { name: 'f', datatype: 'FP64', data: [0.5, 1], shape: [2] },
      ],
    });
    const [noId] = await bodies('kservev2', [request('req-2', { inputs: [{ name: 'b', shape: [1], datatype: 'BOOL', data: [true] }] })]);
    assert.deepEqual(noId, { id: 'req-2', model_name: 'adder', model_version: '2.0', outputs: [{ name: 'b', datatype: 'BOOL', data: [true], shape: [1] }] });
  });

  it('kservev2 fails the request when data does not fill its shape', async () => {
    const reply = await predict(withEnvelope('kservev2', handler), context(), [request('a', { inputs: [{ name: 'x', shape: [3], datatype: 'INT32', data: [1, 2] }] })], {
      decodeInput: true,
      logError: () => undefined,
      nowMs: () => 0,
    });
    assert.deepEqual([reply.code, reply.message], [503, 'Prediction failed']);
  });

  it('json joins the instances of a batch and splits the predictions back per request', async () => {
    seen.length = 0;
    const replies = await bodies('json', [request('a', { instances: [1, 2] }), request('b', { instances: [5] })]);
    assert.deepEqual(replies, [{ predictions: [2, 4] }, { predictions: [10] }]);
    assert.deepEqual(seen, [[1, 2, 5]]);
  });

  it('body hands over each request body', async () => {
    assert.deepEqual(await bodies('body', [request('a', { k: 1 }), request('b', [7])]), [{ k: 1 }, [7]]);
  });

  it('infers datatypes from typed arrays and plain values', () => {
    assert.equal(datatypeOf(new Float32Array(2), [0, 0]), 'FP32');
    assert.equal(datatypeOf([1, 2], [1, 2]), 'INT64');
    assert.equal(datatypeOf([1.5], [1.5]), 'FP64');
    assert.equal(datatypeOf(['a'], ['a']), 'BYTES');
    assert.equal(datatypeOf([true], [true]), 'BOOL');
  });
});
