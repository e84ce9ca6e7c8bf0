// Snapshots over real processes (spec §6): a server killed with kill -9 restarts with only
// --model-store into its last committed state; its workers do not outlive it; a graceful stop
// writes the shutdown snapshot; a missing archive aborts the restore.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseProperties } from '../config/properties.js';
import { marBytes, pidAlive, request, waitAllDead, waitFor } from './harness.js';
import { freePort, listenerUrl, startLanternProcess, writePortConfig, type LanternProcess } from './lantern-process.js';

interface Described {
  modelVersion: string;
  minWorkers: number;
  maxWorkers: number;
  workers: Array<{ id: string; pid: number; status: string }>;
}

const started: LanternProcess[] = [];
const workerPids: number[] = [];
const folders: string[] = [];

after(async () => {
  for (const p of started) p.signal('SIGKILL');
  await Promise.all(started.map((p) => p.exited));
  await waitAllDead(workerPids, 20_000);
  await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
});

async function folder(): Promise<{ cwd: string; store: string }> {
  const cwd = await mkdtemp(path.join(tmpdir(), 'lantern-snap-e2e-'));
  folders.push(cwd);
  const store = path.join(cwd, 'store');
  await mkdir(store);
  await writeFile(path.join(store, 'echo.mar'), await marBytes({ handler: 'echo_handler.py', modelName: 'echo', version: '1.0' }));
  await writeFile(path.join(store, 'echo_v2.mar'), await marBytes({ handler: 'echo_handler.py', modelName: 'echo', version: '2.0' }));
  await writeFile(path.join(store, 'slow.mar'), await marBytes({ handler: 'slow_handler.py', modelName: 'slow', version: '1.0' }));
  return { cwd, store };
}

function launch(cwd: string, args: readonly string[]): LanternProcess {
  const p = startLanternProcess(cwd, args);
  started.push(p);
  return p;
}

async function describeAll(management: string, name: string): Promise<Described[]> {
  const reply = await request('GET', `${management}/models/${name}/all`);
  assert.equal(reply.status, 200, reply.text);
  return reply.json<Described[]>();
}

async function snapshotModels(cwd: string): Promise<{ files: string[]; models: Record<string, Record<string, Record<string, unknown>>> }> {
  const dir = path.join(cwd, 'logs', 'config');
  const files = (await readdir(dir)).filter((n) => n.endsWith('.cfg')).sort();
  const text = await readFile(path.join(dir, files.at(-1) ?? ''), 'utf8');
  const json = JSON.parse(parseProperties(text).get('model_snapshot') ?? '{}') as { models: Record<string, Record<string, Record<string, unknown>>> };
  return { files, models: json.models };
}

describe('snapshots', () => {
  it('restores models, versions, defaults, worker counts, ports and flags after kill -9', async () => {
    const { cwd, store } = await folder();
    const [inferencePort, managementPort] = [await freePort(), await freePort()];
    await writePortConfig(cwd, [], { inference: inferencePort, management: managementPort });
    const inference = `http://127.0.0.1:${inferencePort}`;
    const management = `http://127.0.0.1:${managementPort}`;
    const first = launch(cwd, ['--model-store', store, '--enable-model-api', '--dt']);
    await first.ready();
    for (const query of [
      'url=echo.mar&initial_workers=1&synchronous=true',
      'url=echo_v2.mar&initial_workers=1&synchronous=true&batch_size=2&max_batch_delay=50',
      'url=slow.mar&initial_workers=0',
    ]) {
      const reply = await request('POST', `${management}/models?${query}`);
      assert.equal(reply.status, 200, reply.text);
    }
    assert.equal((await request('PUT', `${management}/models/echo/2.0/set-default`)).status, 200);
    assert.equal((await request('PUT', `${management}/models/echo/1.0?min_worker=2&max_worker=3&synchronous=true`)).status, 200);
    const before = await describeAll(management, 'echo');
    for (const d of before) workerPids.push(...d.workers.map((w) => w.pid));
    assert.equal(workerPids.length, 3);
    // The change is committed once the newest snapshot shows it.
    await waitFor('the snapshot of the scale', async () => (await snapshotModels(cwd)).models.echo?.['1.0']?.minWorkers === 2);

    first.signal('SIGKILL');
    await first.exited;
    // Workers notice their socket closing and exit.
    await waitAllDead(workerPids, 15_000);

    // Security switches are never restored (docs/security.md): this start gives them again.
    const second = launch(cwd, ['--model-store', store, '--enable-model-api', '--dt']);
    await second.ready();
    const restored = await waitFor('restored workers', async () => {
      const d = await describeAll(management, 'echo');
      return d.every((v) => v.workers.filter((w) => w.status === 'READY').length === v.minWorkers) ? d : null;
    });
    for (const d of restored) workerPids.push(...d.workers.map((w) => w.pid));
    const byVersion = Object.fromEntries(restored.map((d) => [d.modelVersion, d]));
    assert.equal(byVersion['1.0']?.minWorkers, 2);
    assert.equal(byVersion['1.0']?.maxWorkers, 3);
    assert.equal(byVersion['2.0']?.minWorkers, 1);
    assert.equal((await describeAll(management, 'slow'))[0]?.minWorkers, 0);
    // The default version is 2.0.
    const predicted = await request('POST', `${inference}/predictions/echo`, { body: 'x' });
    assert.equal(predicted.status, 200, predicted.text);
    const list = await request('GET', `${management}/models`);
    assert.deepEqual(list.json<{ models: Array<{ modelName: string }> }>().models.map((m) => m.modelName), ['echo', 'slow']);
    const unregister = await request('DELETE', `${management}/models/slow`);
    assert.equal(unregister.status, 200, unregister.text);

    second.signal('SIGTERM');
    assert.equal(await second.exited, 0);
    const { files, models } = await snapshotModels(cwd);
    assert.match(files.at(-1) ?? '', /-shutdown\.cfg$/);
    assert.deepEqual(Object.keys(models), ['echo']);
    assert.equal(models.echo?.['2.0']?.defaultVersion, true);
    assert.equal(models.echo?.['2.0']?.batchSize, 2);
    await waitAllDead(workerPids, 15_000);
  });

  it('restores models but neither a disabled token authorization nor an enabled model API', async () => {
    const { cwd, store } = await folder();
    await writePortConfig(cwd);
    const first = launch(cwd, ['--model-store', store, '--enable-model-api', '--dt']);
    await first.ready();
    assert.equal((await request('POST', `${listenerUrl(first, 'Management')}/models?url=slow.mar&initial_workers=0`)).status, 200);
    first.signal('SIGTERM');
    assert.equal(await first.exited, 0);

    const second = launch(cwd, ['--model-store', store]);
    await second.ready();
    const management = listenerUrl(second, 'Management');
    const anonymous = await request('GET', `${management}/models`);
    assert.equal(anonymous.status, 400, 'token authorization is on again');
    assert.equal(anonymous.json().type, 'InvalidKeyException');
    const keys = JSON.parse(await readFile(path.join(cwd, 'key_file.json'), 'utf8')) as { management: { key: string } };
    const auth = { authorization: `Bearer ${keys.management.key}` };
    const list = await request('GET', `${management}/models`, { headers: auth });
    assert.deepEqual(list.json<{ models: Array<{ modelName: string }> }>().models.map((m) => m.modelName), ['slow'], 'the models are restored');
    const register = await request('POST', `${management}/models?url=echo.mar`, { headers: auth });
    assert.equal(register.status, 405, 'the model API is off again');
    second.signal('SIGTERM');
    assert.equal(await second.exited, 0);
  });

  it('aborts the restore when an archive of the snapshot is missing from the model store', async () => {
    const { cwd, store } = await folder();
    await writePortConfig(cwd);
    const first = launch(cwd, ['--model-store', store, '--enable-model-api', '--dt']);
    await first.ready();
    const management = listenerUrl(first, 'Management');
    assert.equal((await request('POST', `${management}/models?url=slow.mar&initial_workers=0`)).status, 200);
    await waitFor('the snapshot of the registration', async () => (await snapshotModels(cwd)).models.slow !== undefined);
    first.signal('SIGTERM');
    assert.equal(await first.exited, 0);
    await rm(path.join(store, 'slow.mar'));
    const second = launch(cwd, ['--model-store', store]);
    assert.equal(await second.exited, 1);
    assert.ok(
      second.output.some((l) => l.includes('Model archive file for model :slow, version :1.0 not found in model store')),
      second.output.join('\n'),
    );
  });

  it('neither writes nor restores snapshots with --ncs', async () => {
    const { cwd, store } = await folder();
    await writePortConfig(cwd);
    const p = launch(cwd, ['--model-store', store, '--ncs', '--dt']);
    await p.ready();
    p.signal('SIGTERM');
    assert.equal(await p.exited, 0);
    assert.equal(pidAlive(p.pid), false);
    await assert.rejects(readdir(path.join(cwd, 'logs', 'config')), { code: 'ENOENT' });
  });
});
