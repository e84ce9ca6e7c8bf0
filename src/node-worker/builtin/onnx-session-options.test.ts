import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ortSessionOptions, sessionOptionsOf } from './onnx-session-options.js';

describe('sessionOptionsOf', () => {
  it('is empty without an onnx section', () => {
    assert.deepEqual(sessionOptionsOf({ minWorkers: 1 }), {});
  });

  it('reads thread counts, execution mode and optimization level', () => {
    const yaml = { onnx: { intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: 'parallel', graphOptimizationLevel: 'basic' } };
    assert.deepEqual(sessionOptionsOf(yaml), { intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: 'parallel', graphOptimizationLevel: 'basic' });
  });

  it('turns allowSpinning into the session config entry ONNX Runtime reads', () => {
    const options = sessionOptionsOf({ onnx: { intraOpNumThreads: 2, allowSpinning: false } });
    assert.deepEqual(options, { intraOpNumThreads: 2, allowSpinning: false });
    assert.deepEqual(ortSessionOptions(options), { intraOpNumThreads: 2, extra: { session: { intra_op: { allow_spinning: '0' } } } });
    assert.deepEqual(ortSessionOptions({ intraOpNumThreads: 1 }), { intraOpNumThreads: 1 });
    assert.throws(() => sessionOptionsOf({ onnx: { allowSpinning: 'no' } }), /onnx.allowSpinning must be true or false/);
  });

  it('refuses invalid values and unknown keys with a message naming the key', () => {
    assert.throws(() => sessionOptionsOf({ onnx: { intraOpNumThreads: -1 } }), /onnx.intraOpNumThreads must be a non-negative integer/);
    assert.throws(() => sessionOptionsOf({ onnx: { executionMode: 'fast' } }), /onnx.executionMode must be one of sequential, parallel/);
    assert.throws(() => sessionOptionsOf({ onnx: { threads: 2 } }), /unknown keys threads/);
  });
});
