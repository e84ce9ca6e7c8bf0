// Lantern replicas for the container tests (issue 24): the image built with podman and run as users
// run it (read-only root filesystem, user 1000, host network), or, where containers cannot run here,
// the same server as plain processes. Each replica gets its own config.properties; all share one
// model store and one key file.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, request, waitFor } from './harness.js';
import { LANTERN_COMMAND } from './lantern-process.js';

const run = promisify(execFile);
export const PODMAN = ['podman', '--runtime', 'runc'] as const;
export const BASE_IMAGE = 'docker.io/library/node:20-bookworm-slim';
export const TEST_IMAGE = 'localhost/lantern:e2e';
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export type ReplicaMode = 'container' | 'process';

export async function podman(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run(PODMAN[0], [...PODMAN.slice(1), ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/**
 * Containers when podman can run the base image, processes otherwise; makes the base image first
 * (docker/make-base-image: cached), then builds the image (podman's layer cache keeps a rebuild short).
 */
export async function prepareReplicas(log: (line: string) => void): Promise<ReplicaMode> {
  try {
    await run(path.join(REPO_ROOT, 'docker', 'make-base-image'), [], { timeout: 900_000 });
    await podman(['run', '--rm', '--network=host', BASE_IMAGE, 'true']);
  } catch (err) {
    log(`replica mode: process (podman cannot run ${BASE_IMAGE}: ${(err as Error).message.split('\n')[0] ?? ''})`);
    return 'process';
  }
  const secret = existsSync(CA_BUNDLE) ? ['--secret', `id=ca,src=${CA_BUNDLE}`] : [];
  const startedMs = Date.now();
  await podman(['build', '--network=host', '--format', 'docker', ...secret, '-t', TEST_IMAGE, REPO_ROOT], 1_200_000);
  log(`replica mode: container (image built in ${((Date.now() - startedMs) / 1000).toFixed(1)} s)`);
  return 'container';
}

export interface ReplicaSpec {
  readonly name: string;
  /** The folder with this replica's config.properties. */
  readonly dir: string;
  readonly store: string;
  readonly keyFile: string;
  readonly inferencePort: number;
  /** config.properties lines beyond the listeners, the store and the key file. */
  readonly properties: readonly string[];
}

export interface Replica {
  readonly spec: ReplicaSpec;
  readonly url: string;
  /** Resolves with the exit code once the replica is gone. */
  readonly exited: Promise<number>;
  signal(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  logs(): Promise<string>;
  /** Stops it (SIGKILL) if it still runs and removes what is left of it. Idempotent. */
  remove(): Promise<void>;
  /** The container's name, or null for a process. */
  readonly container: string | null;
}

/** Paths as the server sees them: inside the container, or on this machine. */
function configText(spec: ReplicaSpec, mode: ReplicaMode): string {
  const inside = mode === 'container';
  return [
    `inference_address=http://127.0.0.1:${spec.inferencePort}`,
    'management_address=http://127.0.0.1:0',
    'metrics_address=http://127.0.0.1:0',
    'grpc_inference_port=0',
    'grpc_management_port=0',
    `model_store=${inside ? '/home/model-server/model-store' : spec.store}`,
    `token_key_file=${inside ? '/etc/lantern/keys.json' : spec.keyFile}`,
    ...spec.properties,
  ].join('\n');
}

export async function startReplica(spec: ReplicaSpec, mode: ReplicaMode): Promise<Replica> {
  const config = path.join(spec.dir, 'config.properties');
  await writeFile(config, `${configText(spec, mode)}\n`);
  const url = `http://127.0.0.1:${spec.inferencePort}`;
  if (mode === 'container') {
    const name = `lantern-e2e-${spec.name}-${process.pid}`;
    await podman(['rm', '--force', '--ignore', name]);
    await podman([
      'run', '--detach', '--name', name, '--network=host', '--read-only', '--user', '1000:1000',
      '--volume', `${spec.store}:/home/model-server/model-store:ro`,
      '--volume', `${config}:/home/model-server/config.properties:ro`,
      '--volume', `${spec.keyFile}:/etc/lantern/keys.json:ro`,
      // The HEALTHCHECK's URL follows the inference listener (8080 in the shipped config).
      '--env', `LANTERN_READYZ_URL=${url}/readyz`,
      TEST_IMAGE,
    ]);
    const exited = podman(['wait', name], 600_000).then((out) => Number(out.trim()), () => -1);
    return {
      spec,
      url,
      exited,
      signal: async (signal) => {
        await podman(['kill', '--signal', signal, name]).catch(() => undefined);
      },
      logs: () => podman(['logs', name]).catch((err: Error) => err.message),
      remove: async () => {
        await podman(['rm', '--force', '--ignore', name]).catch(() => undefined);
      },
      container: name,
    };
  }
  const child = spawn(LANTERN_COMMAND, ['--foreground', '--ts-config', config], { cwd: spec.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  return {
    spec,
    url,
    exited,
    signal: async (signal) => {
      child.kill(signal);
    },
    logs: async () => output.join(''),
    remove: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    container: null,
  };
}

/** Waits until the replica's /readyz answers 200 (its startup models have ready workers). */
export async function waitReady(replica: Replica, timeoutMs = 120_000): Promise<void> {
  let gone = false;
  void replica.exited.then(() => {
    gone = true;
  });
  await waitFor(
    `${replica.spec.name} to be ready`,
    async () => {
      if (gone) throw new Error(`${replica.spec.name} exited before it was ready:\n${await replica.logs()}`);
      return (await request('GET', `${replica.url}/readyz`).catch(() => null))?.status === 200;
    },
    timeoutMs,
    200,
  );
}
