// PyTorch models through TorchServe-style handlers (issue #7): a TorchScript model and an eager model
// through a handler that subclasses ts.torch_handler.base_handler.BaseHandler, and a real PNG through
// the built-in image_classifier. Archives are made by the real torch-model-archiver (PyPI) and by
// lantern-archiver. Torch comes from Debian (python3-torch, python3-torchvision), which only
// /usr/bin/python3 imports, so the server runs its Python workers with python=/usr/bin/python3.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArchiverArgs } from '../cli/archiver-args.js';
import { packModel } from '../cli/archiver-cli.js';
import { REPO_ROOT, closeAndCheck, dumpLogsOnFailure, request, startLantern, type Lantern } from './harness.js';

const run = promisify(execFile);
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'pytorch');
const TORCH_PYTHON = '/usr/bin/python3';

async function lanternArchiver(argv: readonly string[], cwd: string): Promise<void> {
  const command = parseArchiverArgs(argv, cwd);
  assert.equal(command.kind, 'archive');
  await packModel(command.options, { cwd, report: () => undefined });
}

async function torchModelArchiver(argv: readonly string[], cwd: string): Promise<void> {
  await run('python3', ['-m', 'model_archiver.model_packaging', ...argv], { cwd });
}

/** Softmax probabilities of `logits`, as the handler computes them. */
function softmax(logits: readonly number[]): number[] {
  const exps = logits.map((l) => Math.exp(l));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

describe('PyTorch handlers', () => {
  let work: string;
  let lantern: Lantern;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'lantern-pytorch-'));
    const src = path.join(work, 'src');
    const store = path.join(work, 'store');
    await mkdir(src);
    await mkdir(store);
    for (const file of ['tensor_handler.py', 'scale_net.py', 'color_net.py']) {
      await copyFile(path.join(FIXTURES, file), path.join(src, file));
    }
    await run(TORCH_PYTHON, [path.join(FIXTURES, 'make_models.py'), src], { timeout: 120_000 });
    const out = ['--export-path', store];
    await torchModelArchiver(['--model-name', 'affine', '-v', '1.0', '--serialized-file', 'affine.pt', '--handler', 'tensor_handler.py', ...out], src);
    await lanternArchiver(
      ['--model-name', 'affine2', '-v', '2.0', '--serialized-file', 'affine.pt', '--handler', 'tensor_handler.py', '--archive-format', 'tgz', ...out],
      src,
    );
    await lanternArchiver(
      ['--model-name', 'scale', '-v', '1.0', '--serialized-file', 'scale_net.pth', '--model-file', 'scale_net.py', '--handler', 'tensor_handler', ...out],
      src,
    );
    await lanternArchiver(
      [
        '--model-name', 'colors', '-v', '1.0', '--serialized-file', 'color_net.pth', '--model-file', 'color_net.py',
        '--handler', 'image_classifier', '--extra-files', 'index_to_name.json', ...out,
      ],
      src,
    );
    lantern = await startLantern({ properties: [`python=${TORCH_PYTHON}`] });
    // The archives were made outside the harness's store; register them from here.
    for (const file of ['affine.mar', 'affine2.tar.gz', 'scale.mar', 'colors.mar']) {
      await lantern.writeStoreFile(file, await readFile(path.join(store, file)));
    }
  });

  after(async (t) => {
    dumpLogsOnFailure(t as { passed?: boolean; name: string }, lantern);
    if (lantern !== undefined) await closeAndCheck(lantern);
    await rm(work, { recursive: true, force: true });
  });

  const register = async (url: string): Promise<void> => {
    const reply = await request('POST', `${lantern.management}/models?url=${encodeURIComponent(url)}&initial_workers=1&synchronous=true`);
    assert.equal(reply.status, 200, `${url}: ${reply.text}\n${lantern.logs.slice(-30).join('\n')}`);
  };
  const predictJson = async (model: string, body: unknown): Promise<unknown> => {
    const reply = await request('POST', `${lantern.inference}/predictions/${model}`, {
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(reply.status, 200, reply.text);
    return reply.json();
  };

  it('serves a TorchScript model through a BaseHandler subclass, from a torch-model-archiver .mar', async () => {
    await register('affine.mar');
    // y = xWᵀ + b with W = [[1, 2], [3, 4]], b = [0.5, -0.5]
    assert.deepEqual(await predictJson('affine', { x: [1, 2] }), [5.5, 10.5]);
    assert.deepEqual(await predictJson('affine', { x: [0, -1] }), [-1.5, -4.5]);
  });

  it('serves the same TorchScript model from a lantern-archiver .tar.gz', async () => {
    await register('affine2.tar.gz');
    assert.deepEqual(await predictJson('affine2', { x: [1, 2] }), [5.5, 10.5]);
  });

  it('serves an eager model (model file + state dict) through a BaseHandler subclass', async () => {
    await register('scale.mar');
    assert.deepEqual(await predictJson('scale', { x: [1, 2, 3] }), [4, 7, 10]);
  });

  it('classifies a real PNG with image_classifier: top 5 classes labelled from index_to_name.json', async () => {
    await register('colors.mar');
    const png = await readFile(path.join(work, 'src', 'red.png'));
    const reply = await request('POST', `${lantern.inference}/predictions/colors`, { body: png, headers: { 'content-type': 'image/png' } });
    assert.equal(reply.status, 200, reply.text);
    const answer = reply.json<Record<string, number>>();
    // A pure red image normalized with ImageNet's mean/std: channel means (1-0.485)/0.229, -0.456/0.224, -0.406/0.225.
    const means = [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225];
    const logits = [...means.map((m) => 2 * m), ...[0, 1, 2, 3, 4, 5, 6].map((i) => -0.1 * i)];
    const probabilities = softmax(logits);
    const labels = ['red', 'green', 'blue', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    const expected = probabilities
      .map((p, i) => [labels[i] as string, p] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5);
    assert.deepEqual(Object.keys(answer), expected.map(([label]) => label), 'top 5 labels, most likely first');
    for (const [label, p] of expected) assert.ok(Math.abs((answer[label] as number) - p) < 1e-4, `${label}: ${answer[label]} vs ${p}`);
    assert.deepEqual(Object.keys(answer).slice(0, 2), ['red', 'three']);
  });
});
