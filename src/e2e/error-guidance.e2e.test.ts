// Errors that say what to do (issue #20): response bodies stay TorchServe's, the server log gets
// the stable code with the cause and the fix, and a model whose workers cannot load refuses
// predictions at once with the load error instead of leaving them queued.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, lanternPerTest, request, waitFor, type MarSpec } from './harness.js';

const NOOP: MarSpec = { file: 'noop.mar', handler: 'echo_handler.py', modelName: 'noop' };
const BROKEN: MarSpec = { file: 'broken.mar', handler: 'failing_init_handler.py', modelName: 'broken' };

describe('errors that say what to do', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('logs how to enable the model API when a registration is refused, the body staying TorchServe\'s', async () => {
    const lantern = await lanterns.start({ archives: [NOOP], enableModelApi: false });
    expectError(
      await request('POST', `${lantern.management}/models?url=noop.mar`),
      405,
      'MethodNotAllowedException',
      'Requested method is not allowed, please refer to API document.',
    );
    const line = await waitFor('the refusal in the log', () => lantern.logs.find((l) => l.includes('[MODEL_API_DISABLED]')));
    assert.match(line, /POST \/models: \[MODEL_API_DISABLED\] 405 .*--enable-model-api/);
  });

  it('answers predictions for a model whose workers failed to load with 503 and the load error, at once', async () => {
    const lantern = await lanterns.start({ archives: [BROKEN] });
    const registered = await request('POST', `${lantern.management}/models?url=broken.mar&initial_workers=1&synchronous=false`);
    assert.equal(registered.status, 202, registered.text);
    // Sent while the worker loads: it waits in the queue and is answered when the load fails.
    const queued = await request('POST', `${lantern.inference}/predictions/broken`, { body: 'x' });
    assert.equal(queued.status, 503, queued.text);
    assert.equal(queued.json().type, 'ServiceUnavailableException');
    assert.match(queued.json().message, /^Model "broken" version 1.0 has no worker ready: its last load failed: .*this model cannot be loaded/);
    const next = await request('POST', `${lantern.inference}/predictions/broken`, { body: 'x' });
    assert.equal(next.status, 503, next.text);
    assert.ok(lantern.logs.some((l) => l.includes('[MODEL_LOAD_FAILED]')));
  });
});
