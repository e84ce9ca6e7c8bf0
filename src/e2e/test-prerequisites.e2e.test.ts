// `npm test` starts with scripts/check-test-prerequisites.mjs: on a machine without what the tests
// need it must name each missing piece and the set-up script, fast, instead of letting the tests fail.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from './harness.js';

const CHECK = path.join(REPO_ROOT, 'scripts', 'check-test-prerequisites.mjs');

test('the prerequisite check names every missing tool and says to run scripts/test-setup', async () => {
  const bin = await mkdtemp(path.join(os.tmpdir(), 'lantern-prereq-'));
  try {
    // A PATH with nothing but a python3 that fails whatever it is asked.
    await writeFile(path.join(bin, 'python3'), '#!/bin/sh\nexit 1\n');
    await chmod(path.join(bin, 'python3'), 0o755);
    const env = { ...process.env, PATH: bin, LANTERN_BENCH_TORCHSERVE: path.join(bin, 'no-torchserve') };
    const failed = await promisify(execFile)(process.execPath, [CHECK], { env, timeout: 60_000 }).then(
      () => assert.fail('the check passed without the prerequisites'),
      (err: { code?: number; stderr?: string }) => err,
    );
    assert.equal(failed.code, 1);
    const message = failed.stderr ?? '';
    for (const name of ['python3 on the PATH', 'pytest', 'torch-model-archiver', 'moto', 'grpcio', 'promtool', 'openssl', 'curl', 'java', 'TorchServe', 'helm']) {
      assert.ok(message.split('\n').some((l) => l.startsWith('  - ') && l.includes(name)), `${name} not named in:\n${message}`);
    }
    assert.match(message, /\.\/scripts\/test-setup/);
    assert.doesNotMatch(message, /node_modules/, 'node_modules is there');
  } finally {
    await rm(bin, { recursive: true, force: true });
  }
});

test('the prerequisite check passes quietly where scripts/test-setup has run', async () => {
  // npm test ran this check before the tests, so here everything is installed.
  const passed = await promisify(execFile)(process.execPath, [CHECK], { timeout: 120_000 });
  assert.equal(passed.stderr, '');
});
