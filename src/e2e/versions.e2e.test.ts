// Several versions of one model (spec §1.6, §1.8, §2.3): routing by version, the default version,
// set-default, and the rules for unregistering and registering versions.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, expectStatus, lanternPerTest, request, waitAllDead, type Lantern, type MarSpec } from './harness.js';

// The two versions run different handlers so that a reply shows which version served it.
const M1: MarSpec = { file: 'm.mar', handler: 'echo_handler.py', modelName: 'm', version: '1.0' };
const M2: MarSpec = { file: 'm_2.mar', handler: 'crash_handler.py', modelName: 'm', version: '2.0' };

async function registerBoth(lantern: Lantern): Promise<void> {
  expectStatus(
    await request('POST', `${lantern.management}/models?url=m.mar&initial_workers=1&synchronous=true`),
    200,
    'Model "m" Version: 1.0 registered with 1 initial workers',
  );
  expectStatus(
    await request('POST', `${lantern.management}/models?url=m_2.mar&initial_workers=1&synchronous=true`),
    200,
    'Model "m" Version: 2.0 registered with 1 initial workers',
  );
}

/** Version 1.0 (echo) answers with the request keys; version 2.0 (crash handler) with its pid. */
async function servedBy(lantern: Lantern, path: string): Promise<'1.0' | '2.0'> {
  const reply = await request('POST', `${lantern.inference}/predictions/${path}`, { body: 'x' });
  assert.equal(reply.status, 200, reply.text);
  const body = reply.json<Record<string, unknown>>();
  if ('pid' in body) {
    assert.deepEqual(lantern.pids('m', '2.0'), [body.pid]);
    return '2.0';
  }
  assert.deepEqual(body.keys, ['body']);
  return '1.0';
}

describe('model versions', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('routes predictions to the default version or to the version in the path', async () => {
    const lantern = await lanterns.start({ archives: [M1, M2] });
    await registerBoth(lantern);
    assert.equal(await servedBy(lantern, 'm'), '1.0', 'the first registered version is the default');
    assert.equal(await servedBy(lantern, 'm/1.0'), '1.0');
    assert.equal(await servedBy(lantern, 'm/2.0'), '2.0');
  });

  it('switches the version served by default with set-default', async () => {
    const lantern = await lanterns.start({ archives: [M1, M2] });
    await registerBoth(lantern);
    expectStatus(await request('PUT', `${lantern.management}/models/m/2.0/set-default`), 200, 'Default version successfully updated for model "m" to "2.0"');
    assert.equal(await servedBy(lantern, 'm'), '2.0');
    assert.equal(await servedBy(lantern, 'm/1.0'), '1.0');
    expectStatus(await request('PUT', `${lantern.management}/models/m/1.0/set-default`), 200, 'Default version successfully updated for model "m" to "1.0"');
    assert.equal(await servedBy(lantern, 'm'), '1.0');
  });

  it('refuses to unregister the default version while another version exists', async () => {
    const lantern = await lanterns.start({ archives: [M1, M2] });
    await registerBoth(lantern);
    const cannot = 'Cannot remove default version for model m';
    expectError(await request('DELETE', `${lantern.management}/models/m/1.0`), 403, 'InvalidModelVersionException', cannot);
    expectError(await request('DELETE', `${lantern.management}/models/m`), 403, 'InvalidModelVersionException', cannot);
    assert.equal(await servedBy(lantern, 'm'), '1.0', 'the default version still serves');

    // A non-default version can go; then the default is the only one and can go too.
    const v2Pids = lantern.pids('m', '2.0');
    lanterns.seen(v2Pids);
    expectStatus(await request('DELETE', `${lantern.management}/models/m/2.0`), 200, 'Model "m" unregistered');
    await waitAllDead(v2Pids);
    expectError(
      await request('POST', `${lantern.inference}/predictions/m/2.0`, { body: 'x' }),
      404,
      'ModelVersionNotFoundException',
      'Model version: 2.0 does not exist for model: m',
    );
    const v1Pids = lantern.pids('m', '1.0');
    lanterns.seen(v1Pids);
    expectStatus(await request('DELETE', `${lantern.management}/models/m`), 200, 'Model "m" unregistered');
    await waitAllDead(v1Pids);
    expectError(await request('POST', `${lantern.inference}/predictions/m`, { body: 'x' }), 404, 'ModelNotFoundException', 'Model not found: m');
  });

  it('unregisters the former default after set-default moved away from it', async () => {
    const lantern = await lanterns.start({ archives: [M1, M2] });
    await registerBoth(lantern);
    await request('PUT', `${lantern.management}/models/m/2.0/set-default`);
    expectStatus(await request('DELETE', `${lantern.management}/models/m/1.0`), 200, 'Model "m" unregistered');
    assert.equal(await servedBy(lantern, 'm'), '2.0');
  });

  it('answers 409 when the same version is registered twice', async () => {
    const lantern = await lanterns.start({ archives: [M1, M2, { ...M1, file: 'm_copy.mar' }] });
    await registerBoth(lantern);
    for (const url of ['m.mar', 'm_copy.mar']) {
      expectError(
        await request('POST', `${lantern.management}/models?url=${url}`),
        409,
        'ConflictStatusException',
        'Model version 1.0 is already registered for model m',
      );
    }
    const all = (await request('GET', `${lantern.management}/models/m/all`)).json<unknown[]>();
    assert.equal(all.length, 2, 'the conflict left the registered versions alone');
    assert.equal(await servedBy(lantern, 'm/1.0'), '1.0');
  });
});
