// What a server killed with kill -9 leaves behind (issue #21): its extracted archives under the
// temp folder and a half-written download in the model store are removed by the next start, and a
// clean stop leaves nothing of its own.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { marBytes, request, waitAllDead, waitFor } from './harness.js';
import { listenerUrl, startLanternProcess, writePortConfig, type LanternProcess } from './lantern-process.js';

const started: LanternProcess[] = [];
let cwd = '';

after(async () => {
  for (const p of started) p.signal('SIGKILL');
  await Promise.all(started.map((p) => p.exited));
  if (cwd !== '') await rm(cwd, { recursive: true, force: true });
});

async function workerPids(management: string): Promise<number[]> {
  const reply = await request('GET', `${management}/models/echo`);
  const [model] = reply.json<Array<{ workers: Array<{ pid: number; status: string }> }>>();
  return (model?.workers ?? []).filter((w) => w.status === 'READY').map((w) => w.pid);
}

describe('debris after a crash', () => {
  it('is removed at the next start, and a clean stop leaves none', async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'lantern-debris-e2e-'));
    const store = path.join(cwd, 'store');
    const temp = path.join(cwd, 'temp');
    await mkdir(store);
    await mkdir(temp);
    await writeFile(path.join(store, 'echo.mar'), await marBytes({ handler: 'echo_handler.py', modelName: 'echo', version: '1.0' }));
    await writePortConfig(cwd, ['disable_token_authorization=true', 'download_timeout_sec=60']);
    const args = ['--model-store', store, '--models', 'echo=echo.mar', '--ncs'];
    const env = { TEMP: temp };
    const modelFolders = async (): Promise<string[]> => (await readdir(path.join(temp, 'models'))).filter((n) => !n.endsWith('.owner'));

    const first = startLanternProcess(cwd, args, env);
    started.push(first);
    await first.ready();
    const management = listenerUrl(first, 'Management');
    const pids = await waitFor('a ready worker', async () => ((await workerPids(management)).length > 0 ? workerPids(management) : null));
    const crashed = await modelFolders();
    assert.equal(crashed.length, 1);
    first.signal('SIGKILL');
    await first.exited;
    await waitAllDead(pids, 15_000);
    // A download cut off by the crash, older than download_timeout_sec.
    const part = path.join(store, '.resnet.mar.0123456789ab.part');
    await writeFile(part, 'partial');
    const old = new Date(Date.now() - 120_000);
    await utimes(part, old, old);

    const second = startLanternProcess(cwd, args, env);
    started.push(second);
    await second.ready();
    assert.ok(
      second.output.some((l) => l.includes('Removed what stopped servers left (at start): 1 extracted model folders, 1 partial downloads')),
      second.output.join('\n'),
    );
    assert.deepEqual((await readdir(store)).sort(), ['echo.mar']);
    const running = await modelFolders();
    assert.equal(running.length, 1);
    assert.notEqual(running[0], crashed[0]);

    second.signal('SIGTERM');
    assert.equal(await second.exited, 0);
    assert.deepEqual(await readdir(path.join(temp, 'models')), []);
  });
});
