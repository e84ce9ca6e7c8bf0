// Streaming from a Node handler (issue #5: "the Node runtime's equivalent"): context.sendIntermediateResponse
// sends parts that arrive as gRPC StreamPredictions messages and as HTTP chunks.
import { afterEach, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { status as GrpcCode } from '@grpc/grpc-js';
import { lanternPerTest, request } from './harness.js';
import { grpcClient, targetOf } from './grpc-client.js';

const STREAM_HANDLER_MJS = `
export async function handle(batch, context) {
  const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v ?? ''));
  const count = Number(text(batch[0].n ?? batch[0].body ?? '3'));
  for (let i = 0; i < count; i++) await context.sendIntermediateResponse(batch.map(() => 'part-' + i + ';'));
  return batch.map(() => 'end');
}
`;

const lanterns = lanternPerTest({ afterEach });

it('streams a Node handler\'s intermediate responses over gRPC and as HTTP chunks', async () => {
  const lantern = await lanterns.start();
  const dir = path.join(lantern.store, 'nstream');
  await mkdir(path.join(dir, 'MAR-INF'), { recursive: true });
  await writeFile(path.join(dir, 'stream_handler.mjs'), STREAM_HANDLER_MJS);
  await writeFile(
    path.join(dir, 'MAR-INF', 'MANIFEST.json'),
    JSON.stringify({ runtime: 'node', model: { modelName: 'nstream', handler: 'stream_handler.mjs', modelVersion: '1.0' } }),
  );
  const reg = await request('POST', `${lantern.management}/models?url=nstream&initial_workers=1&synchronous=true`);
  assert.equal(reg.status, 200, reg.text);

  const url = lantern.server.listeners.find((l) => l.api === 'grpc-inference')?.url;
  assert.ok(url !== undefined);
  const client = grpcClient('inference', targetOf(url));
  try {
    const streamed = await client.serverStream<{ prediction: Buffer }>('StreamPredictions', { model_name: 'nstream', input: { n: Buffer.from('3') } });
    assert.equal(streamed.status.code, GrpcCode.OK);
    assert.deepEqual(streamed.messages.map((m) => m.prediction.toString('utf8')), ['part-0;', 'part-1;', 'part-2;', 'end']);
  } finally {
    client.close();
  }

  const res = await fetch(`${lantern.inference}/predictions/nstream`, { method: 'POST', body: '2' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('transfer-encoding'), 'chunked');
  assert.equal(res.headers.get('ts_stream_next'), 'true');
  assert.equal(await res.text(), 'part-0;part-1;end');
});
