// Hostile model names (issue #21): CR/LF that would forge log lines, names that are path steps,
// and names too long to be real are refused with 400 and change nothing.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lanternPerTest, request, type MarSpec } from './harness.js';

const NOOP: MarSpec = { file: 'noop.mar', handler: 'echo_handler.py', modelName: 'noop' };

describe('hostile model names', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('are refused at registration with a 400 that says why, leaving the model list as it was', async () => {
    const lantern = await lanterns.start({ archives: [NOOP] });
    for (const name of ['x\r\nINFO forged line', '.', '..', 'a'.repeat(10_000), '-rf']) {
      const reply = await request('POST', `${lantern.management}/models?url=noop.mar&model_name=${encodeURIComponent(name)}&initial_workers=0`);
      assert.equal(reply.status, 400, `${JSON.stringify(name.slice(0, 20))}: ${reply.text}`);
      assert.equal(reply.json().type, 'BadRequestException');
      assert.match(reply.json().message, /^Invalid model name .*must match/);
    }
    assert.deepEqual((await request('GET', `${lantern.management}/models`)).json(), { models: [] });
    assert.ok(!lantern.logs.some((l) => l.startsWith('INFO forged line')), 'no forged log line');
    const ok = await request('POST', `${lantern.management}/models?url=noop.mar&model_name=noop.v2-b_1&initial_workers=0`);
    assert.equal(ok.status, 200, ok.text);
  });
});
