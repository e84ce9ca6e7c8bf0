import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { ERROR_CODES, describeFailure, modelApiDisabled, modelNotFound } from './errors.js';

describe('the error catalogue', () => {
  it('is documented in docs/errors.md, one row per code and no row for a code that does not exist', async () => {
    const doc = await readFile(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort());
  });

  it('keeps TorchServe fixed message in the body and puts the code with its fix in the log line only', () => {
    const error = modelApiDisabled();
    assert.equal(error.status, 405);
    assert.equal(error.message, 'Requested method is not allowed, please refer to API document.');
    assert.match(describeFailure(error), /^\[MODEL_API_DISABLED\] 405 Requested method is not allowed.*--enable-model-api/);
    assert.doesNotMatch(error.message, /MODEL_API_DISABLED/);
    assert.match(describeFailure(modelNotFound('x')), /^\[MODEL_NOT_FOUND\] 404 Model not found: x \(no model of that name/);
  });
});
