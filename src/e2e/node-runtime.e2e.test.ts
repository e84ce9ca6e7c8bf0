// The Node runtime end to end: the bundled digits example (held-out accuracy through the
// server), the built-in onnx handler against ONNX Runtime called directly, and handler modules
// in every supported form.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { lanternPerTest, REPO_ROOT, request, type Lantern } from './harness.js';
import { marOf } from './mar-builder.js';

const DIGITS_DIR = path.join(REPO_ROOT, 'examples', 'model-store', 'digits');
const DIGITS_ONNX = path.join(DIGITS_DIR, 'digits.onnx');

/** scikit-learn's digits: 64 pixels then the label per line; rows with index % 5 == 0 are held out (train.py). */
async function heldOutDigits(): Promise<Array<{ pixels: number[]; label: number }>> {
  const text = gunzipSync(await readFile(path.join(REPO_ROOT, 'examples', 'digits', 'data', 'digits.csv.gz'))).toString('utf8');
  const rows = text.trim().split('\n').map((line) => line.split(',').map(Number));
  return rows.filter((_, i) => i % 5 === 0).map((r) => ({ pixels: r.slice(0, 64), label: r[64] as number }));
}

async function register(lantern: Lantern, query: string): Promise<void> {
  const reply = await request('POST', `${lantern.management}/models?synchronous=true&initial_workers=1&${query}`);
  assert.equal(reply.status, 200, reply.text);
}

const postJson = (lantern: Lantern, model: string, body: unknown): ReturnType<typeof request> =>
  request('POST', `${lantern.inference}/predictions/${model}`, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/** ONNX Runtime called directly on the same model: the reference the server must match. */
async function direct(samples: number[][]): Promise<number[][]> {
  const session = await ort.InferenceSession.create(DIGITS_ONNX);
  const out = await session.run({ pixels: new ort.Tensor('float32', Float32Array.from(samples.flat()), [samples.length, 64]) });
  const data = Array.from(out.probabilities?.data as Float32Array);
  return samples.map((_, i) => data.slice(i * 10, i * 10 + 10));
}

describe('the node runtime', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('serves the bundled digits example with at least 95% held-out accuracy', async () => {
    const lantern = await lanterns.start();
    await cp(DIGITS_DIR, path.join(lantern.store, 'digits'), { recursive: true });
    await register(lantern, 'url=digits&batch_size=8&max_batch_delay=20');
    const samples = await heldOutDigits();
    assert.equal(samples.length, 360);
    let correct = 0;
    for (let start = 0; start < samples.length; start += 24) {
      const chunk = samples.slice(start, start + 24);
      const replies = await Promise.all(chunk.map((s) => postJson(lantern, 'digits', s.pixels)));
      replies.forEach((r, i) => {
        assert.equal(r.status, 200, r.text);
        if (r.json<{ digit: number }>().digit === chunk[i]?.label) correct++;
      });
    }
    const accuracy = correct / samples.length;
    process.stdout.write(`# digits held-out accuracy through the server: ${accuracy.toFixed(4)} (${correct}/${samples.length})\n`);
    assert.ok(accuracy >= 0.95, `accuracy ${accuracy}`);
    const bad = await postJson(lantern, 'digits', [1, 2, 3]);
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json<{ message: string }>().message, /expected 64 pixel values/);
  });

  describe('the built-in onnx handler', () => {
    async function serveOnnx(config?: string): Promise<Lantern> {
      const lantern = await lanterns.start();
      const files: Record<string, Buffer> = { 'model.onnx': await readFile(DIGITS_ONNX) };
      const model: Record<string, string> = { modelName: 'mlp', serializedFile: 'model.onnx' };
      if (config !== undefined) {
        files['model-config.yaml'] = Buffer.from(config);
        model.configFile = 'model-config.yaml';
      }
      // No handler and runtime python, as torch-model-archiver writes it: the .onnx file selects the handler.
      await lantern.writeStoreFile('mlp.mar', await marOf(files, model, 'python'));
      await register(lantern, 'url=mlp.mar&batch_size=4&max_batch_delay=1000');
      return lantern;
    }

    it('matches ONNX Runtime called directly, for nested arrays and KServe v2 bodies', async () => {
      const lantern = await serveOnnx();
      const samples = (await heldOutDigits()).slice(0, 6).map((s) => s.pixels);
      const expected = await direct(samples);
      // Four concurrent requests of 1, 2, 3 and 0+v2 samples share one batch: concatenated, run, split back.
      const [one, two, three, v2] = await Promise.all([
        postJson(lantern, 'mlp', [samples[0]]),
        postJson(lantern, 'mlp', samples.slice(1, 3)),
        postJson(lantern, 'mlp', samples.slice(3, 6)),
        request('POST', `${lantern.inference}/v2/models/mlp/infer`, {
          body: JSON.stringify({ id: 'r1', inputs: [{ name: 'pixels', shape: [2, 64], datatype: 'FP32', data: samples.slice(0, 2).flat() }] }),
          headers: { 'content-type': 'application/json' },
        }),
      ]);
      for (const r of [one, two, three, v2]) assert.equal(r?.status, 200, r?.text);
      assert.deepEqual(one?.json(), expected.slice(0, 1));
      assert.deepEqual(two?.json(), expected.slice(1, 3));
      assert.deepEqual(three?.json(), expected.slice(3, 6));
      assert.deepEqual(v2?.json(), {
        model_name: 'mlp',
        model_version: '1.0',
        id: 'r1',
        outputs: [{ name: 'probabilities', shape: [2, 10], datatype: 'FP32', data: expected.slice(0, 2).flat() }],
      });
      const described = await request('GET', `${lantern.management}/models/mlp`);
      assert.equal(described.json<Array<{ runtime: string }>>()[0]?.runtime, 'node');
    });

    it('answers 400 naming the expected input for a bad shape or datatype', async () => {
      const lantern = await serveOnnx();
      const shape = await postJson(lantern, 'mlp', [1, 2, 3]);
      assert.equal(shape.status, 400, shape.text);
      assert.deepEqual(shape.json(), { code: 400, type: 'BadRequestException', message: 'Input "pixels" (float32, shape [N, 64]) got an array of shape [3]' });
      const dtype = await request('POST', `${lantern.inference}/v2/models/mlp/infer`, {
        body: JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'INT64', data: new Array(64).fill(0) }] }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(dtype.status, 400, dtype.text);
      assert.match(dtype.json<{ message: string }>().message, /"pixels" \(float32, shape \[N, 64\]\) expects datatype FP32, got "INT64"/);
      assert.equal((await postJson(lantern, 'mlp', [new Array(64).fill(0)])).status, 200, 'the worker keeps serving');
    });

    it('takes its thread counts from model-config.yaml and reports them in a customized describe', async () => {
      const lantern = await serveOnnx('onnx:\n  intraOpNumThreads: 1\n  interOpNumThreads: 1\n  executionMode: sequential\n');
      const reply = await request('GET', `${lantern.management}/models/mlp?customized=true`);
      assert.equal(reply.status, 200, reply.text);
      const meta = reply.json<Array<{ customizedMetadata: { sessionOptions: unknown; inputs: unknown } }>>()[0]?.customizedMetadata;
      assert.deepEqual(meta?.sessionOptions, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
      assert.deepEqual(meta?.inputs, [{ name: 'pixels', datatype: 'FP32', shape: ['N', 64] }]);
    });
  });

  it('loads handlers written as ES modules, CommonJS and classes, with async initialize', async () => {
    const lantern = await lanterns.start();
    const handlers: Record<string, string> = {
      'esm.mjs': `let prefix;\nexport async function initialize(context) { prefix = context.modelName + '@' + context.systemProperties.batch_size; }\nexport const handle = async (batch) => batch.map((row) => prefix + ':' + row.body);\n`,
      'common.cjs': `let prefix;\nmodule.exports = { initialize(context) { prefix = context.modelName; }, handle(batch, context) { context.setResponseHeader(0, 'x-from', 'cjs'); return batch.map((row) => ({ prefix, body: row.body })); } };\n`,
      'plain.js': `exports.handle = (batch, context) => { context.setResponseStatus(0, 201, 'Made'); context.setResponseContentType(0, 'text/plain'); return batch.map(() => Buffer.from('bytes')); };\n`,
      'klass.mjs': `export default class Handler { async initialize() { this.n = 41; } handle(batch) { return batch.map(() => ++this.n); } }\n`,
    };
    for (const [file, source] of Object.entries(handlers)) {
      const name = file.replace('.', '-');
      await lantern.writeStoreFile(`${name}.mar`, await marOf({ [file]: Buffer.from(source) }, { modelName: name, handler: file }, 'node'));
      await register(lantern, `url=${name}.mar`);
    }
    const call = (model: string): ReturnType<typeof request> => request('POST', `${lantern.inference}/predictions/${model}`, { body: 'hi', headers: { 'content-type': 'text/plain' } });
    assert.equal((await call('esm-mjs')).text, 'esm-mjs@1:hi');
    const cjs = await call('common-cjs');
    assert.deepEqual(cjs.json(), { prefix: 'common-cjs', body: 'hi' });
    assert.equal(cjs.headers.get('x-from'), 'cjs');
    const plain = await call('plain-js');
    assert.equal(plain.status, 201);
    assert.equal(plain.statusText, 'Made');
    assert.equal(plain.headers.get('content-type'), 'text/plain');
    assert.equal(plain.text, 'bytes');
    assert.equal((await call('klass-mjs')).text, '42');
  });
});
