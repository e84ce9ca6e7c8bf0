// Streaming handlers end to end (spec §2.6, §8.7, §11.2): a Python handler sends intermediate
// replies with lantern_worker.streaming.send_intermediate_predict_response; they arrive as gRPC
// StreamPredictions messages, as StreamPredictions2 replies per request, and as HTTP chunks, and a
// handler that fails mid-stream ends the call or the response with an error instead of hanging.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { status as GrpcCode } from '@grpc/grpc-js';
import { lanternPerTest, type Lantern } from './harness.js';
import { grpcClient, targetOf, type GrpcTestClient } from './grpc-client.js';
import { ECHO_HANDLER, STREAM_HANDLER, writeModelDir } from './grpc-models.js';

interface Prediction {
  readonly prediction: Buffer;
  readonly sequence_id?: string;
  readonly status?: { code: number; message: string; details: Array<{ type_url: string; value: Buffer }> };
}

const FAILED = 'Prediction failed\norg.pytorch.serve.http.InternalServerException';

/** What a message says, in one comparable string. */
function show(m: Prediction): string {
  const seq = m.sequence_id === undefined ? '' : `[${m.sequence_id.startsWith('ts-seq-') ? 'ts-seq-*' : m.sequence_id}] `;
  if (m.status !== undefined) {
    const reasons = m.status.details.map((d) => `${d.type_url}:${d.value.subarray(2).toString('utf8')}`);
    return `${seq}status ${GrpcCode[m.status.code]} ${m.status.message} ${reasons.join(',')}`;
  }
  return `${seq}${m.prediction.toString('utf8')}`;
}

interface HttpStream {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly chunks: string[];
  /** True when the body ended normally, false when the connection was cut. */
  readonly complete: boolean;
}

/** A POST read chunk by chunk, settling when the body ends or the connection breaks. */
function httpStream(url: string, form: Record<string, string>): Promise<HttpStream> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: string[] = [];
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, chunks, complete: res.complete });
      };
      res.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
      res.on('end', settle);
      res.on('error', settle);
      res.on('close', settle);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('Streaming predictions', () => {
  const servers = lanternPerTest({ afterEach });
  let client: GrpcTestClient | undefined;
  afterEach(() => {
    client?.close();
    client = undefined;
  });

  async function start(): Promise<{ lantern: Lantern; inference: GrpcTestClient }> {
    const lantern = await servers.start({ properties: ['metrics_address=http://127.0.0.1:0'] });
    await writeModelDir(lantern.store, { dir: 'stream', modelName: 'stream', version: '1.0', handlerSource: STREAM_HANDLER });
    await writeModelDir(lantern.store, { dir: 'echo', modelName: 'echo', version: '1.0', handlerSource: ECHO_HANDLER });
    for (const model of ['stream', 'echo']) {
      const reply = await fetch(`${lantern.management}/models?url=${model}&initial_workers=1&synchronous=true`, { method: 'POST' });
      assert.equal(reply.status, 200, await reply.text());
    }
    const url = lantern.server.listeners.find((l) => l.api === 'grpc-inference')?.url;
    assert.ok(url !== undefined);
    client = grpcClient('inference', targetOf(url));
    return { lantern, inference: client };
  }

  it('sends one StreamPredictions message per chunk and ends OK; a unary Predictions joins the chunks', async () => {
    const { inference } = await start();
    const streamed = await inference.serverStream<Prediction>('StreamPredictions', { model_name: 'stream', input: { n: Buffer.from('3') } });
    assert.deepEqual({ messages: streamed.messages.map(show), code: streamed.status.code }, {
      messages: ['chunk-0;', 'chunk-1;', 'chunk-2;', 'done'],
      code: GrpcCode.OK,
    });
    const joined = await inference.unary<Prediction>('Predictions', { model_name: 'stream', input: { n: Buffer.from('2') } });
    assert.ok(joined.ok);
    assert.equal(joined.value.prediction.toString('utf8'), 'chunk-0;chunk-1;done');
  });

  it('ends StreamPredictions with the mapped error status when the handler fails mid-stream, and the worker serves on', async () => {
    const { inference } = await start();
    const failed = await inference.serverStream<Prediction>('StreamPredictions', { model_name: 'stream', input: { n: Buffer.from('2'), fail: Buffer.from('1') } });
    assert.deepEqual({ messages: failed.messages.map(show), status: failed.status }, {
      messages: ['chunk-0;', 'chunk-1;'],
      status: { code: GrpcCode.UNAVAILABLE, details: FAILED },
    });
    const unary = await inference.unary<Prediction>('Predictions', { model_name: 'stream', input: { n: Buffer.from('1'), fail: Buffer.from('1') } });
    assert.deepEqual(unary, { ok: false, code: GrpcCode.UNAVAILABLE, details: FAILED });
    const after = await inference.serverStream<Prediction>('StreamPredictions', { model_name: 'stream', input: { n: Buffer.from('1') } });
    assert.deepEqual(after.messages.map(show), ['chunk-0;', 'done']);
  });

  it('streams HTTP /predictions as chunks, and cuts the chunked response when the handler fails mid-stream', async () => {
    const { lantern } = await start();
    const ok = await httpStream(`${lantern.inference}/predictions/stream`, { n: '2' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['transfer-encoding'], 'chunked');
    assert.equal(ok.chunks.join(''), 'chunk-0;chunk-1;done');
    assert.equal(ok.complete, true);

    const broken = await httpStream(`${lantern.inference}/predictions/stream`, { n: '2', fail: '1' });
    assert.equal(broken.status, 200);
    assert.equal(broken.chunks.join(''), 'chunk-0;chunk-1;');
    assert.equal(broken.complete, false);

    const after = await httpStream(`${lantern.inference}/predictions/stream`, { n: '1' });
    assert.equal(after.chunks.join(''), 'chunk-0;done');
  });

  it('answers StreamPredictions2 requests in order with their sequence ids and reports failures in-band', async () => {
    const { inference } = await start();
    const result = await inference.bidi<Prediction>('StreamPredictions2', [
      { model_name: 'stream', sequence_id: 's1', input: { n: Buffer.from('1') } },
      { model_name: 'stream', sequence_id: 's1', input: { n: Buffer.from('2'), fail: Buffer.from('1') } },
      { model_name: 'stream', input: { n: Buffer.from('1') } },
      { model_name: 'nope', sequence_id: 's2', input: {} },
      { model_name: 'stream', input: { n: Buffer.from('0'), ts_request_sequence_start: Buffer.from('true') } },
      { model_name: 'stream', sequence_id: 's2', input: { n: Buffer.from('1') } },
    ]);
    const reason = (cls: string): string => `type.googleapis.com/google.rpc.ErrorInfo:${cls}`;
    assert.deepEqual({ messages: result.messages.map(show), code: result.status.code }, {
      messages: [
        '[s1] chunk-0;',
        '[s1] done',
        '[s1] chunk-0;',
        '[s1] chunk-1;',
        `[s1] status UNAVAILABLE Prediction failed ${reason('org.pytorch.serve.http.InternalServerException')}`,
        `status INVALID_ARGUMENT Parameter sequenceId is required. ${reason('org.pytorch.serve.http.BadRequestException')}`,
        `[s2] status NOT_FOUND Model not found: nope ${reason('org.pytorch.serve.archive.model.ModelNotFoundException')}`,
        '[ts-seq-*] done',
        '[s2] chunk-0;',
        '[s2] done',
      ],
      code: GrpcCode.OK,
    });
  });

  it('gives StreamPredictions2 handlers the sequence headers', async () => {
    const { inference } = await start();
    const result = await inference.bidi<Prediction>('StreamPredictions2', [
      { model_name: 'echo', sequence_id: 'seq-a', input: { x: Buffer.from('1') } },
      { model_name: 'echo', sequence_id: 'seq-a', input: { ts_request_sequence_end: Buffer.from('true') } },
    ]);
    assert.equal(result.status.code, GrpcCode.OK);
    assert.deepEqual(
      result.messages.map((m) => JSON.parse(m.prediction.toString('utf8')).sequence),
      [{ ts_request_sequence_id: 'seq-a' }, { ts_request_sequence_id: 'seq-a', ts_request_sequence_end: 'true' }],
    );
  });

  it('ends an open StreamPredictions2 call with UNAVAILABLE when the server stops, without waiting for the client', async () => {
    const { lantern } = await start();
    const url = lantern.server.listeners.find((l) => l.api === 'grpc-inference')?.url as string;
    const raw = grpcClient('inference', targetOf(url));
    try {
      const open = raw.bidiOpen<Prediction>('StreamPredictions2');
      open.write({ model_name: 'echo', sequence_id: 'x', input: {} });
      await open.nextMessage();
      await lantern.close();
      const ended = await open.result;
      assert.equal(ended.status.code, GrpcCode.UNAVAILABLE);
      assert.equal(ended.status.details, 'Server is shutting down\norg.pytorch.serve.http.ServiceUnavailableException');
    } finally {
      raw.close();
    }
  });
});
