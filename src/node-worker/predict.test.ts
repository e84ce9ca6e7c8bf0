import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InferenceRequest } from '../protocol/messages.js';
import { decodeValue } from './batch-input.js';
import { HandlerContext } from './handler-context.js';
import { encodeBody, mapHandlerError, predict, type LoadedHandler } from './predict.js';
import { WorkerMetrics } from './worker-metrics.js';

function contextWith(lines: string[]): HandlerContext {
  return new HandlerContext({
    modelName: 'm',
    modelDir: '/m',
    manifest: null,
    modelYamlConfig: {},
    batchSize: 2,
    gpuId: null,
    serverVersion: '0.1.0',
    limitMaxImagePixels: true,
    metrics: new WorkerMetrics('m', { hostname: 'host', nowMs: () => 1_700_000_000_000, writeLine: (l) => lines.push(l) }),
  });
}

const request = (id: string, body: string, contentType: string): InferenceRequest => ({
  requestId: id,
  headers: [['h', 'v']],
  parameters: [{ name: 'body', contentType, value: Buffer.from(body) }],
});

const run = (handler: LoadedHandler, requests: InferenceRequest[], lines: string[] = []) =>
  predict(handler, contextWith(lines), requests, { decodeInput: true, logError: () => undefined, nowMs: () => 0 });

describe('decodeValue', () => {
  it('parses application/json, decodes text/*, and keeps everything else as bytes', () => {
    assert.deepEqual(decodeValue('application/json', Buffer.from('{"a":1}'), true), { a: 1 });
    assert.equal(decodeValue('text/plain', Buffer.from('hé'), true), 'hé');
    assert.deepEqual(decodeValue('image/png', Buffer.from([1, 2]), true), Buffer.from([1, 2]));
    assert.deepEqual(decodeValue('application/json', Buffer.from('{bad'), true), Buffer.from('{bad'));
    assert.deepEqual(decodeValue('text/plain', Buffer.from([0xff]), true), Buffer.from([0xff]));
    assert.deepEqual(decodeValue('application/json', Buffer.from('1'), false), Buffer.from('1'));
  });
});

describe('encodeBody', () => {
  it('sends strings and bytes as they are and anything else as JSON with a 2-space indent', () => {
    assert.equal(encodeBody('x').toString(), 'x');
    assert.equal(encodeBody(Uint8Array.from([65])).toString(), 'A');
    assert.equal(encodeBody({ a: [1] }).toString(), '{\n  "a": [\n    1\n  ]\n}');
    assert.equal(encodeBody(undefined).toString(), 'null');
    assert.equal(encodeBody({ v: Float32Array.from([0.5]) }).toString(), '{\n  "v": [\n    0.5\n  ]\n}');
  });
});

describe('mapHandlerError', () => {
  it('uses errorCode when the error carries one, else 503 Prediction failed', () => {
    assert.deepEqual(mapHandlerError(Object.assign(new Error('no'), { errorCode: 400 })), [400, 'no']);
    assert.deepEqual(mapHandlerError(new Error('boom')), [503, 'Prediction failed']);
    assert.deepEqual(mapHandlerError(new RangeError('Array buffer allocation failed')), [507, 'Out of resources']);
  });
});

describe('predict', () => {
  it('answers each request with its value, status, headers and content type, and emits PredictionTime', async () => {
    const lines: string[] = [];
    const handler: LoadedHandler = {
      handle: (batch, context) => {
        context.setResponseStatus(1, 201, 'Made');
        context.setResponseContentType(1, 'text/plain');
        return batch.map((row, i) => (i === 0 ? row.body : `${String(context.getRequestHeader(i, 'H'))}`));
      },
    };
    const reply = await run(handler, [request('a', '[1]', 'application/json'), request('b', 'x', 'text/plain')], lines);
    assert.equal(reply.code, 200);
    assert.equal(reply.message, 'Prediction success');
    const [a, b] = reply.responses;
    assert.equal(a?.body.toString(), '[\n  1\n]');
    assert.deepEqual([b?.status, b?.reason, b?.contentType, b?.body.toString()], [201, 'Made', 'text/plain', 'v']);
    assert.deepEqual(b?.headers, [['content-type', 'text/plain']]);
    assert.deepEqual(lines, ['[METRICS]PredictionTime.Milliseconds:0|#ModelName:m,Level:Model|#type:GAUGE|#hostname:host,1700000000,a,b']);
  });

  it('fails the whole batch like the Python worker when the output is wrong', async () => {
    const notArray = await run({ handle: () => 'x' }, [request('a', '', '')]);
    assert.deepEqual([notArray.code, notArray.message], [503, 'Invalid model predict output']);
    const short = await run({ handle: () => [] }, [request('a', '', '')]);
    assert.deepEqual([short.code, short.message], [503, 'number of batch response mismatched']);
    const unsupported = await run({ handle: () => [{ n: 1n }] }, [request('a', '', '')]);
    assert.deepEqual([unsupported.code, unsupported.message], [503, 'Unsupported model output data type.']);
    assert.deepEqual(unsupported.responses.map((r) => [r.requestId, r.status, r.body.toString()]), [['a', 503, 'error']]);
  });

  it('calls describe for a describe request when the handler has one', async () => {
    const handler: LoadedHandler = { handle: () => ['no'], describe: () => ({ d: 1 }) };
    const reply = await run(handler, [{ requestId: 'd', headers: [['describe', 'True']], parameters: [] }]);
    assert.equal(reply.responses[0]?.body.toString(), '{\n  "d": 1\n}');
  });
});
