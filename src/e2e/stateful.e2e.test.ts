// Stateful inference (issue 22 item 3) with two handlers of our own, written as a TorchServe user
// would (test/fixtures/user-handlers/running_total and streaming_total), archived by
// torch-model-archiver 0.12.0 with the model-config.yaml of TorchServe's tests for its stateful
// examples, served by Lantern with two workers, and held to what those tests expect: sequence
// batching answers seq_0 `1 4 9 16 25` and seq_1 `2 6 12 20 30` (each sequence's running sum lives
// in one worker); continuous batching's start, end and cancel paths. Plus what describe reports,
// and a sequence whose worker dies ending with an error.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { status as GrpcCode } from '@grpc/grpc-js';
import type { SequenceQueue } from '../batching/sequence-queue.js';
import { grpcClient, targetOf } from './grpc-client.js';
import { REPO_ROOT, closeAndCheck, dumpLogsOnFailure, request, startLantern, waitFor, type Lantern } from './harness.js';

const run = promisify(execFile);
const HANDLERS = path.join(REPO_ROOT, 'test', 'fixtures', 'user-handlers');
const PYTORCH = path.join(REPO_ROOT, 'test', 'fixtures', 'pytorch');
const TORCH_PYTHON = '/usr/bin/python3';

// Our model-config.yaml files, with the settings TorchServe's tests of its stateful examples use:
// two workers; up to 4 sequences in a batch of 4 (sequence batching) or 2 sequences one request at
// a time (continuous batching); the handlers' LRU holds 4 totals.
const SEQUENCE_YAML = `
sequenceBatching: true
minWorkers: 2
maxWorkers: 2
batchSize: 4
maxNumSequence: 4
maxSequenceJobQueueSize: 10
sequenceMaxIdleMSec: 5000
handler:
  cache: {capacity: 4}
`;

const CONTINUOUS_YAML = `
sequenceBatching: true
continuousBatching: true
minWorkers: 2
maxWorkers: 2
batchSize: 1
maxNumSequence: 2
maxSequenceJobQueueSize: 10
sequenceMaxIdleMSec: 30000
sequenceTimeoutMSec: 60000
handler:
  cache: {capacity: 4}
`;

const SEQ = 'ts_request_sequence_id';

describe('Stateful inference: sequence and continuous batching', () => {
  let work: string;
  let lantern: Lantern;

  const predict = (model: string, body: string, headers: Record<string, string> = {}) =>
    request('POST', `${lantern.inference}/predictions/${model}`, { body, headers });

  const register = async (name: string): Promise<void> => {
    const reg = await request('POST', `${lantern.management}/models?url=${name}.mar&initial_workers=2&synchronous=true`);
    assert.equal(reg.status, 200, reg.text);
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'lantern-stateful-'));
    await run(TORCH_PYTHON, [path.join(PYTORCH, 'make_models.py'), work], { timeout: 120_000 });
    await copyFile(path.join(PYTORCH, 'scale_net.py'), path.join(work, 'scale_net.py'));
    const store = path.join(work, 'store');
    await mkdir(store);
    for (const [name, dir, yaml] of [
      ['stateful', 'running_total', SEQUENCE_YAML],
      ['stateful_cb', 'streaming_total', CONTINUOUS_YAML],
    ] as const) {
      await writeFile(path.join(work, `${name}.yaml`), yaml);
      await run('python3', [
        '-m', 'model_archiver.model_packaging',
        '--model-name', name, '--version', '1.0',
        '--handler', path.join(HANDLERS, dir, 'handler.py'),
        '--serialized-file', 'scale_net.pth', '--model-file', 'scale_net.py',
        '--config-file', `${name}.yaml`, '--export-path', store,
      ], { cwd: work });
    }
    lantern = await startLantern({ properties: [`python=${TORCH_PYTHON}`] });
    for (const name of ['stateful', 'stateful_cb']) {
      await lantern.writeStoreFile(`${name}.mar`, await readFile(path.join(store, `${name}.mar`)));
      await register(name);
    }
  });

  after(async (t) => {
    dumpLogsOnFailure(t as { passed?: boolean; name: string }, lantern);
    if (lantern !== undefined) await closeAndCheck(lantern);
    await rm(work, { recursive: true, force: true });
  });

  it("sequence batching with 2 workers: each sequence's sum stays in one worker (1 4 9 16 25, 2 6 12 20 30)", async () => {
    // As TorchServe's test of its example: two clients at once, each with its own sequence id from the start.
    const sequence = async (id: string, first: number): Promise<string> => {
      const answers: string[] = [];
      for (let i = 0; i < 5; i++) {
        const reply = await predict('stateful', String(first + 2 * i), { [SEQ]: id });
        assert.equal(reply.status, 200, reply.text);
        answers.push(reply.text);
      }
      return answers.join(' ');
    };
    const [seq0, seq1] = await Promise.all([sequence('seq_0', 1), sequence('seq_1', 2)]);
    assert.equal(seq0, '1 4 9 16 25');
    assert.equal(seq1, '2 6 12 20 30');
  });

  it("describe reports the model's sequence settings from its model-config.yaml", async () => {
    const [described] = (await request('GET', `${lantern.management}/models/stateful`)).json();
    assert.deepEqual(
      [described.stateful, described.sequenceMaxIdleMSec, described.sequenceTimeoutMSec, described.maxNumSequence, described.maxSequenceJobQueueSize],
      [true, 5000, 0, 4, 10],
    );
    const [cb] = (await request('GET', `${lantern.management}/models/stateful_cb`)).json();
    assert.deepEqual([cb.continuousBatching, cb.sequenceTimeoutMSec, cb.maxNumSequence], [true, 60000, 2]);
  });

  /**
   * One client's sequence on the continuous-batching model, started without an id (Lantern names
   * it); its answers. Unless its last input (0) ended it, an input of 0 then ends it, so that the
   * model's two sequences (maxNumSequence) are free for the next test.
   */
  const continuousSequence = async (inputs: readonly number[]): Promise<string> => {
    const answers: string[] = [];
    let headers: Record<string, string> = {};
    for (const input of inputs) {
      const reply = await predict('stateful_cb', String(input), headers);
      assert.equal(reply.status, 200, reply.text);
      answers.push(reply.text);
      const id = reply.headers.get(SEQ);
      assert.match(id ?? '', /^ts-seq-[0-9a-f-]{36}$/, 'the handler echoes the sequence id Lantern gave');
      headers = { [SEQ]: id as string };
    }
    if (inputs.at(-1) !== 0) {
      const end = await predict('stateful_cb', '0', headers);
      assert.equal(end.status, 200, end.text);
    }
    return answers.join(' ');
  };

  it('continuous batching: two sequences at once (2 6 12 20 30, 4 12 24 40 60)', async () => {
    const [seq0, seq1] = await Promise.all([continuousSequence([2, 4, 6, 8, 10]), continuousSequence([4, 8, 12, 16, 20])]);
    assert.equal(seq0, '2 6 12 20 30');
    assert.equal(seq1, '4 12 24 40 60');
  });

  it('continuous batching: an input of 0 ends the sequence (2 6 12 20 20)', async () => {
    const [seq0, seq1] = await Promise.all([continuousSequence([2, 4, 6, 8, 0]), continuousSequence([4, 8, 12, 16, 20])]);
    assert.equal(seq0, '2 6 12 20 20');
    assert.equal(seq1, '4 12 24 40 60');
  });

  it('continuous batching: a cancel (-1) stops a streaming request of its sequence, more times than maxNumSequence', async () => {
    for (let round = 0; round < 4; round++) {
      const start = await predict('stateful_cb', '2');
      assert.equal(start.status, 200, start.text);
      const headers = { [SEQ]: start.headers.get(SEQ) as string };
      const res = await fetch(`${lantern.inference}/predictions/stateful_cb`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ input: 3 }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('transfer-encoding'), 'chunked');
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const chunks: string[] = [];
      const first = await reader.read();
      chunks.push(Buffer.from(first.value ?? []).toString());
      // The stream runs (the handler answers once a second): the cancel joins it in the worker.
      const cancel = await predict('stateful_cb', '-1', headers);
      assert.equal(cancel.status, 200, cancel.text);
      assert.equal(cancel.text, '-1');
      for (;;) {
        const next = await reader.read();
        if (next.done) break;
        chunks.push(Buffer.from(next.value).toString());
      }
      assert.equal(chunks[0], '5');
      assert.ok(chunks.length < 11, `the stream stopped early (${chunks.length} chunks)`);
      const close = await predict('stateful_cb', '0', headers);
      assert.equal(close.status, 200, close.text);
    }
  });

  it('gRPC StreamPredictions2: a sequence_id per message keeps to its worker, and closing the stream ends the sequence', async () => {
    const url = lantern.server.listeners.find((l) => l.api === 'grpc-inference')?.url as string;
    const client = grpcClient('inference', targetOf(url));
    try {
      const queue = lantern.server.registry.get('stateful').queue as SequenceQueue;
      const before = queue.openSequences;
      const call = client.bidiOpen<{ prediction: Buffer; sequence_id: string }>('StreamPredictions2');
      const answers: string[] = [];
      for (const input of ['10', '20', '30']) {
        call.write({ model_name: 'stateful', sequence_id: 'grpc-seq', input: { body: Buffer.from(input) } });
        const reply = await call.nextMessage();
        assert.equal(reply.sequence_id, 'grpc-seq');
        answers.push(reply.prediction.toString());
      }
      assert.deepEqual(answers, ['10', '30', '60']);
      assert.equal(queue.openSequences, before + 1);
      assert.notEqual(queue.ownerOf('grpc-seq'), null);
      // Half-close: the call ends OK, and with it the sequence (long before its 5 s idle time).
      call.end();
      const result = await call.result;
      assert.equal(result.status.code, GrpcCode.OK);
      assert.equal(queue.ownerOf('grpc-seq'), null);
      assert.equal(queue.openSequences, before);
    } finally {
      client.close();
    }
  });

  it('a worker that dies ends its sequences: the same id then starts a new sequence', async () => {
    const first = await predict('stateful', '7', { [SEQ]: 'doomed' });
    assert.equal(first.text, '7');
    const pids = lantern.pids('stateful');
    // Kill both workers: whichever owned the sequence, it is gone, and with it the sequence.
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await waitFor('the killed workers to be replaced', () => {
      const now = lantern.pids('stateful');
      return now.length === 2 && now.every((p) => !pids.includes(p));
    }, 30_000);
    const again = await predict('stateful', '7', { [SEQ]: 'doomed' });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.text, '7', 'a new sequence: the old sum died with its worker');
  });
});
