// Health over real workers: /ping counts only workers that are loaded and serving, and the
// token-free Kubernetes probes /livez and /readyz.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { expectStatus, lanternPerTest, request, waitFor, type MarSpec } from './harness.js';

const CRASH: MarSpec = { file: 'crash.mar', handler: 'crash_handler.py', modelName: 'crash' };

describe('health', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('answers the probes without a token while /ping still needs one', async () => {
    const lantern = await lanterns.start({ properties: ['disable_token_authorization=false'] });
    expectStatus(await request('GET', `${lantern.inference}/livez`), 200, 'Alive');
    expectStatus(await request('GET', `${lantern.inference}/readyz`), 200, 'Ready');
    assert.equal((await request('GET', `${lantern.inference}/ping`)).status, 400);
    const keys = JSON.parse(await readFile(lantern.server.keyFile ?? '', 'utf8')) as { inference: { key: string } };
    const ping = await request('GET', `${lantern.inference}/ping`, { headers: { Authorization: `Bearer ${keys.inference.key}` } });
    expectStatus(ping, 200, 'Healthy');
    // The probes live on the inference listener only.
    assert.equal((await request('GET', `${lantern.management}/livez`)).status, 400);
  });

  it('reports Unhealthy and Not Ready while a startup model\'s crashed worker is being replaced, then Healthy again', async () => {
    const lantern = await lanterns.start({ archives: [CRASH], properties: ['load_models=crash.mar', 'default_workers_per_model=1'] });
    await waitFor('the startup worker', async () => (await request('GET', `${lantern.inference}/ping`)).status === 200);
    expectStatus(await request('GET', `${lantern.inference}/readyz`), 200, 'Ready');
    lanterns.seen(lantern.pids('crash'));
    const crashed = await request('POST', `${lantern.inference}/predictions/crash`, { body: 'crash' });
    assert.equal(crashed.status, 500, crashed.text);
    // The replacement waits at least one second (TorchServe's first back-off step).
    expectStatus(await request('GET', `${lantern.inference}/ping`), 500, 'Unhealthy');
    expectStatus(await request('GET', `${lantern.inference}/readyz`), 503, 'Not Ready');
    expectStatus(await request('GET', `${lantern.inference}/livez`), 200, 'Alive');
    await waitFor('the replacement worker', async () => (await request('GET', `${lantern.inference}/ping`)).status === 200, 20_000);
    expectStatus(await request('GET', `${lantern.inference}/readyz`), 200, 'Ready');
    lanterns.seen(lantern.pids('crash'));
  });

  it('counts a model restored from a snapshot at start as a startup model', async () => {
    const snapshot = {
      name: 'startup.cfg',
      modelCount: 1,
      models: { crash: { '1.0': { defaultVersion: true, marName: 'crash.mar', minWorkers: 1, maxWorkers: 1, batchSize: 1, maxBatchDelay: 100, responseTimeout: 120 } } },
    };
    const lantern = await lanterns.start({ archives: [CRASH], properties: [`model_snapshot=${JSON.stringify(snapshot)}`] });
    await waitFor('the restored worker', async () => (await request('GET', `${lantern.inference}/readyz`)).status === 200);
    lanterns.seen(lantern.pids('crash'));
    assert.equal((await request('POST', `${lantern.inference}/predictions/crash`, { body: 'crash' })).status, 500);
    expectStatus(await request('GET', `${lantern.inference}/readyz`), 503, 'Not Ready');
    await waitFor('the replacement worker', async () => (await request('GET', `${lantern.inference}/readyz`)).status === 200, 20_000);
    lanterns.seen(lantern.pids('crash'));
  });

  it('stays ready while a model registered after start has no READY worker', async () => {
    const lantern = await lanterns.start({ archives: [CRASH] });
    assert.equal((await request('POST', `${lantern.management}/models?url=crash.mar&initial_workers=0`)).status, 200);
    expectStatus(await request('GET', `${lantern.inference}/readyz`), 200, 'Ready');
    assert.deepEqual((await request('GET', `${lantern.inference}/v1/models/crash`)).json(), { name: 'crash', ready: false });
  });

  it('counts a model scaled to zero workers as healthy', async () => {
    const lantern = await lanterns.start({ archives: [CRASH] });
    assert.equal((await request('POST', `${lantern.management}/models?url=crash.mar&initial_workers=0`)).status, 200);
    expectStatus(await request('GET', `${lantern.inference}/ping`), 200, 'Healthy');
  });
});
