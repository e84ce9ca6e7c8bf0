// OPTIONS on a model's paths answers that model's API document instead of acting (spec §1.1, §2.1).
import { afterEach, it } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { expectError, lanternPerTest, request, type MarSpec } from './harness.js';

const SLOW: MarSpec = { file: 'slow.mar', handler: 'slow_handler.py', modelName: 'slow' };
const lanterns = lanternPerTest({ afterEach });

it('describes a model API on OPTIONS without predicting, and answers 404 for unknown models', async () => {
  const lantern = await lanterns.start({ archives: [SLOW] });
  const reg = await request('POST', `${lantern.management}/models?url=slow.mar&initial_workers=1&synchronous=true`);
  assert.equal(reg.status, 200, reg.text);

  const inference = await request('OPTIONS', `${lantern.inference}/predictions/slow`, { body: '5' });
  assert.equal(inference.status, 200, inference.text);
  const doc = inference.json<{ paths: Record<string, unknown> }>();
  assert.ok('/predictions/slow' in doc.paths && '/predictions/slow/{model_version}' in doc.paths, Object.keys(doc.paths).join(', '));
  assert.equal((await new Validator().validate(doc)).valid, true);
  // Nothing ran: the handler would have logged its sleep.
  assert.equal(lantern.logs.some((l) => l.includes('slow_handler: sleeping 5')), false);

  const management = await request('OPTIONS', `${lantern.management}/models/slow`);
  assert.equal(management.status, 200, management.text);
  assert.ok('/models/slow' in management.json<{ paths: Record<string, unknown> }>().paths);

  expectError(await request('OPTIONS', `${lantern.inference}/predictions/nope`), 404, 'ModelNotFoundException', 'Model not found: nope');
  expectError(await request('OPTIONS', `${lantern.management}/models/nope`), 404, 'ModelNotFoundException', 'Model not found: nope');
  expectError(
    await request('OPTIONS', `${lantern.management}/models/slow/9.9`),
    404,
    'ModelVersionNotFoundException',
    'Model version: 9.9 does not exist for model: slow',
  );
});
