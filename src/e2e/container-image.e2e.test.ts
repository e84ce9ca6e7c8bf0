// The container image (issue 24 item 1): built from the Dockerfile, run with a read-only root
// filesystem as user 1000 with its default `serve` command, a model store and a key file mounted; a
// prediction, the HEALTHCHECK, and a SIGTERM that lets the request in flight finish. Where podman
// cannot run containers the same checks run against a process (the mode is printed).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { marBytes, request, waitFor } from './harness.js';
import { freePort } from './lantern-process.js';
import { podman, prepareReplicas, startReplica, waitReady, type ReplicaMode } from './container-replicas.js';

const KEYS = { inference: 'image-inference-key-0123456789', management: 'image-management-key-0123456789' };

describe('the container image', { timeout: 1_500_000 }, () => {
  let mode: ReplicaMode = 'process';
  let dir = '';
  before(async () => {
    mode = await prepareReplicas((line) => console.log(line));
    dir = await mkdtemp(path.join(tmpdir(), 'lantern-image-e2e-'));
    await mkdir(path.join(dir, 'store'));
    await writeFile(path.join(dir, 'store', 'slow.mar'), await marBytes({ handler: 'slow_handler.py', modelName: 'slow' }));
    await writeFile(path.join(dir, 'keys.json'), JSON.stringify(KEYS), { mode: 0o644 });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs read-only as user 1000, predicts with the shared key, is healthy, and drains on SIGTERM', async () => {
    const replica = await startReplica(
      {
        name: 'image',
        dir,
        store: path.join(dir, 'store'),
        keyFile: path.join(dir, 'keys.json'),
        inferencePort: await freePort(),
        properties: ['load_models=slow.mar', 'shutdown_delay_sec=1', 'disable_token_authorization=false'],
      },
      mode,
    );
    try {
      await waitReady(replica);
      if (replica.container !== null) {
        const [inspected] = JSON.parse(await podman(['inspect', replica.container])) as Array<{
          Config: { User: string; Cmd: string[] };
          HostConfig: { ReadonlyRootfs: boolean };
        }>;
        assert.equal(inspected?.Config.User, '1000:1000');
        assert.deepEqual(inspected?.Config.Cmd, ['serve']);
        assert.equal(inspected?.HostConfig.ReadonlyRootfs, true);
        assert.equal((await podman(['exec', replica.container, 'id', '-u'])).trim(), '1000');
        // The HEALTHCHECK (node -e against /readyz) kept by --format docker.
        await podman(['healthcheck', 'run', replica.container]);
      }
      const auth = { authorization: `Bearer ${KEYS.inference}` };
      assert.equal((await request('POST', `${replica.url}/predictions/slow`, { body: '0' })).status, 400, 'no key, no prediction');
      const quick = await request('POST', `${replica.url}/predictions/slow`, { body: '0', headers: auth });
      assert.equal(quick.status, 200, quick.text);

      const running = request('POST', `${replica.url}/predictions/slow`, { body: '2', headers: auth });
      await waitFor('the slow request to run', async () => (await replica.logs()).includes('slow_handler: sleeping 2'), 30_000, 200);
      await replica.signal('SIGTERM');
      const answered = await running;
      assert.equal(answered.status, 200, answered.text);
      assert.equal(await replica.exited, 0, await replica.logs());
    } finally {
      await replica.remove();
    }
  });
});
