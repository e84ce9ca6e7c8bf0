// The KServe runtime kserve-lantern run as KServe runs it (issue 24 item 5): the image, with exactly
// the runtime's container spec (its args, env, working directory, user, read-only root filesystem
// and empty scratch volume), the /mnt/models layout mounted read-only, and kserve-torchserve's
// config.properties (inference and management on one port). With the envelope label `kserve` a v1
// prediction, with `kservev2` a v2 one, both without a token. KServe's ports 8080/8081 are moved to
// free ones in the env, as the process test next door does; everything else is the runtime's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { marBytes, REPO_ROOT, request, waitFor } from './harness.js';
import { readManifests, at, type Manifest } from './helm-render.js';
import { freePort } from './lantern-process.js';
import { kserveTorchserveProperties } from './kserve-config.js';
import { podman, prepareReplicas, TEST_IMAGE, type ReplicaMode } from './container-replicas.js';

interface RuntimeContainer {
  readonly args: string[];
  readonly env: Array<{ name: string; value: string }>;
  readonly workingDir: string;
  readonly securityContext: { runAsUser: number; readOnlyRootFilesystem: boolean };
  readonly volumeMounts: Array<{ name: string; mountPath: string }>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

describe('the KServe runtime kserve-lantern, in the image', { timeout: 1_500_000 }, () => {
  let mode: ReplicaMode = 'process';
  let dir = '';
  let spec: RuntimeContainer;
  const started: string[] = [];
  const processes = new Map<string, ChildProcess>();

  before(async () => {
    mode = await prepareReplicas((line) => console.log(line));
    const [runtime] = (await readManifests(path.join(REPO_ROOT, 'deploy', 'kserve', 'kserve-lantern.yaml'))) as Manifest[];
    spec = at(runtime, 'spec', 'containers', 0) as RuntimeContainer;
    dir = await mkdtemp(path.join(tmpdir(), 'lantern-kserve-image-'));
    await mkdir(path.join(dir, 'models', 'model-store'), { recursive: true });
    await mkdir(path.join(dir, 'models', 'config'), { recursive: true });
    await writeFile(path.join(dir, 'models', 'model-store', 'kv.mar'), await marBytes({ handler: 'kserve_handler.py', modelName: 'kv' }));
  });

  after(async () => {
    for (const name of started) await podman(['rm', '--force', '--ignore', name]).catch(() => undefined);
    for (const child of processes.values()) if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs the runtime's container with the envelope label `envelope`; resolves its HTTP and gRPC ports once ready. */
  async function runRuntime(envelope: string): Promise<{ http: string; name: string }> {
    const ports = { http: await freePort(), grpc: await freePort(), shared: await freePort(), metrics: await freePort(), grpcManagement: await freePort() };
    const config = path.join(dir, 'models', 'config', 'config.properties');
    await writeFile(config, kserveTorchserveProperties(ports, '/mnt/models/model-store'));
    // An emptyDir, as KServe gives it: empty, writable by the container's user.
    const scratch = await mkdtemp(path.join(dir, 'scratch-'));
    await chmod(scratch, 0o777);
    const env = spec.env.flatMap(({ name, value }) => [
      '--env',
      `${name}=${value
        .replace('{{.Labels.serviceEnvelope}}', envelope)
        .replace('http://0.0.0.0:8080', `http://127.0.0.1:${ports.http}`)
        .replace(/^8081$/, String(ports.grpc))
        .replace(/^0\.0\.0\.0$/, '127.0.0.1')}`,
    ]);
    const scratchMount = spec.volumeMounts.find((m) => m.name === 'scratch')?.mountPath as string;
    const name = `lantern-e2e-kserve-${envelope}-${process.pid}`;
    started.push(name);
    if (mode === 'container') {
      await podman(['rm', '--force', '--ignore', name]);
      await podman([
        'run', '--detach', '--name', name, '--network=host', '--read-only',
        '--user', `${spec.securityContext.runAsUser}:${spec.securityContext.runAsUser}`,
        '--workdir', spec.workingDir,
        '--volume', `${path.join(dir, 'models')}:/mnt/models:ro`,
        '--volume', `${scratch}:${scratchMount}`,
        ...env,
        TEST_IMAGE,
        ...spec.args,
      ]);
    } else {
      // No containers here: the same spec as a process, /mnt/models and the scratch volume rooted in the test folder.
      const models = path.join(dir, 'models');
      await writeFile(config, (await readFile(config, 'utf8')).replace('/mnt/models', models));
      const vars: Record<string, string> = {};
      for (let i = 1; i < env.length; i += 2) {
        const [key, ...rest] = (env[i] as string).split('=');
        vars[key as string] = rest.join('=').replace(scratchMount, scratch);
      }
      const args = spec.args.slice(1).map((a) => a.replace('/mnt/models', models));
      const child = spawn(path.join(REPO_ROOT, 'bin', 'torchserve'), args, { cwd: scratch, env: { ...process.env, ...vars }, stdio: 'ignore' });
      processes.set(name, child);
    }
    const http = `http://127.0.0.1:${ports.http}`;
    await waitFor(`kserve-lantern (${envelope}) to be ready`, async () => (await request('GET', `${http}/v2/health/ready`).catch(() => null))?.status === 200, 120_000, 200).catch(
      async (err: Error) => {
        throw new Error(mode === 'container' ? `${err.message}\n${await podman(['logs', name]).catch((e: Error) => e.message)}` : err.message);
      },
    );
    return { http, name };
  }

  /** SIGTERM, and the exit code once it is gone. */
  async function stop(name: string): Promise<number> {
    const child = processes.get(name);
    if (child === undefined) {
      await podman(['kill', '--signal', 'SIGTERM', name]);
      return Number((await podman(['wait', name], 120_000)).trim());
    }
    const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
    child.kill('SIGTERM');
    return exited;
  }

  it('answers a KServe v1 prediction with the kserve envelope, with no token', async () => {
    const { http, name } = await runRuntime('kserve');
    const listed = await request('GET', `${http}/v1/models`);
    assert.deepEqual([listed.status, listed.json()], [200, { models: ['kv'] }]);
    const predicted = await request('POST', `${http}/v1/models/kv:predict`, { headers: JSON_HEADERS, body: JSON.stringify({ instances: [1, 2, 3] }) });
    assert.equal(predicted.status, 200, predicted.text);
    assert.deepEqual(predicted.json(), { predictions: [2, 4, 6] });
    assert.equal(await stop(name), 0, 'a clean stop on SIGTERM');
  });

  it('answers an Open Inference Protocol v2 prediction with the kservev2 envelope, with no token', async () => {
    const { http, name } = await runRuntime('kservev2');
    const body = { id: 'r1', inputs: [{ name: 'x', shape: [1, 3], datatype: 'INT64', data: [1, 2, 3] }] };
    const inferred = await request('POST', `${http}/v2/models/kv/infer`, { headers: JSON_HEADERS, body: JSON.stringify(body) });
    assert.equal(inferred.status, 200, inferred.text);
    const reply = inferred.json<{ id: string; model_name: string; outputs: Array<{ name: string; data: number[] }> }>();
    assert.equal(reply.id, 'r1');
    assert.equal(reply.model_name, 'kv');
    assert.deepEqual(reply.outputs.map((o) => [o.name, o.data]), [['x', [1, 2, 3]]]);
    assert.equal(await stop(name), 0, 'a clean stop on SIGTERM');
  });
});
