// Unregister drains (issue #21): a request a worker is running when its model is unregistered is
// finished and answered, for up to unregister_model_timeout; past it the request gets 503 and the
// unregister TorchServe's 408.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, lanternPerTest, request, waitFor, type MarSpec } from './harness.js';
import { holdFile, waitForLine } from './observed-state.js';

const SLOW: MarSpec = { file: 'slow.mar', handler: 'slow_handler.py', modelName: 'slow' };

describe('unregister', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('finishes the request a worker is running before it answers', async () => {
    const lantern = await lanterns.start({ archives: [SLOW] });
    assert.equal((await request('POST', `${lantern.management}/models?url=slow.mar&initial_workers=1&synchronous=true`)).status, 200);
    const hold = holdFile(lantern, 'running');
    const running = request('POST', `${lantern.inference}/predictions/slow`, { body: hold.body });
    await waitForLine(lantern.logs, 'slow_handler: holding until');
    const unregistering = request('DELETE', `${lantern.management}/models/slow`);
    // The version leaves the registry first (no new requests), then its workers drain.
    await waitFor('the model to leave the registry', async () => (await request('GET', `${lantern.management}/models/slow`)).status === 404);
    await hold.release();
    const answered = await running;
    assert.equal(answered.status, 200, answered.text);
    assert.equal((await unregistering).status, 200);
  });

  it('answers the running request with 503 and the unregister with 408 once unregister_model_timeout has passed', async () => {
    const lantern = await lanterns.start({ archives: [SLOW], properties: ['unregister_model_timeout=1'] });
    assert.equal((await request('POST', `${lantern.management}/models?url=slow.mar&initial_workers=1&synchronous=true`)).status, 200);
    const hold = holdFile(lantern, 'stuck');
    const running = request('POST', `${lantern.inference}/predictions/slow`, { body: hold.body });
    await waitForLine(lantern.logs, 'slow_handler: holding until');
    expectError(await request('DELETE', `${lantern.management}/models/slow`), 408, 'RequestTimeoutException', 'Timed out while cleaning resources: slow');
    expectError(await running, 503, 'ServiceUnavailableException', 'Model "slow" was unregistered before the request was served');
    await hold.release();
  });
});
