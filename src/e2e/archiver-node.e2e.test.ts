// lantern-archiver packs TypeScript handlers and the built-in ONNX handler for the Node runtime,
// and Lantern serves what it packs.
import { afterEach, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { lanternPerTest, REPO_ROOT, request } from './harness.js';

const run = promisify(execFile);
const ARCHIVER = path.join(REPO_ROOT, 'bin', 'lantern-archiver.js');
const lanterns = lanternPerTest({ afterEach });

it('packs a TypeScript handler with --runtime node into a .mar that Lantern serves', async () => {
  const lantern = await lanterns.start();
  await run(process.execPath, [
    ARCHIVER,
    '--model-name', 'contract_ts',
    '--version', '1.0',
    '--handler', path.join(REPO_ROOT, 'test', 'fixtures', 'contract', 'contract_handler.ts'),
    '--runtime', 'node',
    '--export-path', lantern.store,
  ]);
  const reg = await request('POST', `${lantern.management}/models?url=contract_ts.mar&initial_workers=1&synchronous=true`);
  assert.equal(reg.status, 200, reg.text);
  const [described] = (await request('GET', `${lantern.management}/models/contract_ts`)).json<Array<{ runtime: string }>>();
  assert.equal(described?.runtime, 'node');
  const reply = await request('POST', `${lantern.inference}/predictions/contract_ts`, { body: 'hello', headers: { 'content-type': 'text/plain' } });
  assert.equal(reply.status, 200, reply.text);
  assert.deepEqual(reply.json<{ input: unknown }>().input, { type: 'str', value: 'hello' });
});

it('packs the built-in onnx handler without copying a handler file, and refuses a Python file for runtime node', async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'lantern-archiver-node-'));
  try {
    await run(process.execPath, [
      ARCHIVER,
      '--model-name', 'digits',
      '--version', '1.0',
      '--handler', 'onnx',
      '--serialized-file', path.join(REPO_ROOT, 'examples', 'model-store', 'digits', 'digits.onnx'),
      '--runtime', 'node',
      '--archive-format', 'no-archive',
      '--export-path', out,
    ]);
    const { stdout } = await run('find', [path.join(out, 'digits'), '-type', 'f']);
    assert.deepEqual(stdout.trim().split('\n').map((f) => path.relative(path.join(out, 'digits'), f)).sort(), ['MAR-INF/MANIFEST.json', 'digits.onnx']);
    await assert.rejects(
      run(process.execPath, [ARCHIVER, '--model-name', 'x', '--version', '1.0', '--handler', 'h.py', '--runtime', 'node', '--export-path', out]),
      /a node handler is a \.js, \.cjs, \.mjs, \.ts or \.mts file/,
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
