import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectRuntime, workerLaunch } from './launch.js';

describe('selectRuntime', () => {
  it('keeps the requested runtime for Python handlers', () => {
    assert.deepEqual(selectRuntime('python', 'handler.py', 'w.pt'), { runtime: 'python', handler: 'handler.py' });
    assert.deepEqual(selectRuntime('python', 'image_classifier', 'm.onnx'), { runtime: 'python', handler: 'image_classifier' });
  });

  it('runs the onnx handler, or a .onnx model without handler, on the node runtime', () => {
    assert.deepEqual(selectRuntime('python', 'onnx', undefined), { runtime: 'node', handler: 'onnx' });
    assert.deepEqual(selectRuntime('python', '', 'model.onnx'), { runtime: 'node', handler: 'onnx' });
  });

  it('runs TypeScript and JavaScript handler files on the node runtime', () => {
    for (const h of ['h.ts', 'h.mts', 'h.mjs', 'h.cjs', 'h.js', 'h.ts:run']) assert.equal(selectRuntime('python', h, undefined).runtime, 'node', h);
  });
});

describe('workerLaunch for node', () => {
  it('starts this Node binary on the worker entry in the model directory', () => {
    const launch = workerLaunch('node', '/models/m', 'h.ts', { python: 'python3', decodeInputRequest: false, baseEnv: { NODE_PATH: '/extra' } });
    assert.equal(launch.command, process.execPath);
    assert.match(launch.args.at(-1) ?? '', /workers\/node\/lantern-worker\.mjs$/);
    assert.equal(launch.cwd, '/models/m');
    assert.equal(launch.env.TS_DECODE_INPUT_REQUEST, 'false');
    assert.match(launch.env.NODE_PATH ?? '', /node_modules:\/extra$/);
  });
});
