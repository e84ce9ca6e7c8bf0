// The two servers the conformance suite compares: TorchServe 0.12.0 (bench/setup-torchserve.sh
// installs it; LANTERN_BENCH_TORCHSERVE points at another) and Lantern as users run it, each its own
// OS process with the same config.properties (only the listener ports differ), the same model store,
// the same worker Python (the one beside TorchServe, which sees Debian's torch) and the same thread
// settings in the environment, so that the workers of both compute the same floats.
import { spawn } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT, pidAlive, waitAllDead, waitFor } from './harness.js';
import { followServer, freePort, listenerUrl, startLanternProcess, type LanternProcess } from './lantern-process.js';

export const TORCHSERVE_COMMAND = process.env.LANTERN_BENCH_TORCHSERVE ?? path.join(REPO_ROOT, 'bench', '.cache', 'torchserve', 'bin', 'torchserve');
/** The Python next to the `torchserve` command: both servers' workers run it. */
export const WORKER_PYTHON = path.join(path.dirname(TORCHSERVE_COMMAND), 'python');

/** One thread per worker for every math library: with the same count on both sides, float results match. */
export const THREAD_ENV: Readonly<Record<string, string>> = { OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

export interface ServerUnderTest {
  readonly name: 'TorchServe' | 'Lantern';
  readonly inference: string;
  readonly management: string;
  readonly metrics: string;
  readonly output: readonly string[];
  /** Worker pids seen in describe replies, to check at the end that none outlived its server. */
  readonly workerPids: Set<number>;
  stop(): Promise<void>;
}

/** The config.properties lines both servers share. */
export function sharedProperties(store: string): string[] {
  return [
    `model_store=${store}`,
    'disable_token_authorization=true',
    'enable_model_api=true',
    'default_workers_per_model=1',
    'metrics_mode=prometheus',
    // The custom_metrics case's metrics.yaml (metrics are configured per server, so every case has it):
    // its ts_metrics keep ts_inference_requests_total, the only front-end family a case compares.
    `metrics_config=${path.join(REPO_ROOT, 'test', 'fixtures', 'user-handlers', 'image_metrics', 'metrics.yaml')}`,
    'model_metrics_auto_detect=true',
    `python=${WORKER_PYTHON}`,
  ];
}

export async function torchServeInstalled(): Promise<boolean> {
  return access(TORCHSERVE_COMMAND).then(
    () => true,
    () => false,
  );
}

/** TorchServe in the foreground, its listeners on ports that were free a moment ago; resolves once it has started. */
export async function startTorchServe(dir: string, store: string): Promise<ServerUnderTest> {
  const [inference, management, metrics, grpcInference, grpcManagement] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const config = path.join(dir, 'config.properties');
  await writeFile(
    config,
    [
      `inference_address=http://127.0.0.1:${inference}`,
      `management_address=http://127.0.0.1:${management}`,
      `metrics_address=http://127.0.0.1:${metrics}`,
      `grpc_inference_port=${grpcInference}`,
      `grpc_management_port=${grpcManagement}`,
      ...sharedProperties(store),
      '',
    ].join('\n'),
  );
  const child = spawn(TORCHSERVE_COMMAND, ['--start', '--foreground', '--ncs', '--ts-config', config, '--disable-token-auth', '--enable-model-api'], {
    cwd: dir,
    // The pid file and the extracted archives go to the run's folder, not /tmp.
    env: { ...process.env, ...THREAD_ENV, TMPDIR: dir, TEMP: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = followServer(child, 'TorchServe');
  const pidFile = path.join(dir, '.model_server.pid');
  const jvmPid = async (): Promise<number | null> => {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  };
  const workerPids = new Set<number>();
  const stop = async (): Promise<void> => {
    const jvm = await jvmPid();
    if (jvm !== null && pidAlive(jvm)) process.kill(jvm, 'SIGTERM');
    proc.signal('SIGTERM');
    const timer = setTimeout(() => {
      if (jvm !== null && pidAlive(jvm)) process.kill(jvm, 'SIGKILL');
      proc.signal('SIGKILL');
    }, 20_000);
    await proc.exited;
    clearTimeout(timer);
    // The JVM stops its workers as it exits; any it left behind are killed here, by the pids it reported.
    for (const pid of workerPids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    await waitAllDead([...workerPids]);
  };
  try {
    await waitFor(
      'TorchServe to start',
      () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`TorchServe exited before it started:\n${proc.output.join('\n')}`);
        return proc.output.some((l) => l.includes('Model server started'));
      },
      120_000,
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'TorchServe',
    inference: `http://127.0.0.1:${inference}`,
    management: `http://127.0.0.1:${management}`,
    metrics: `http://127.0.0.1:${metrics}`,
    output: proc.output,
    workerPids,
    stop,
  };
}

/** Lantern (`node bin/lantern.js --foreground`) with the same properties, every listener on port 0. */
export async function startLanternServer(dir: string, store: string): Promise<ServerUnderTest> {
  const config = path.join(dir, 'config.properties');
  await writeFile(
    config,
    [
      'inference_address=http://127.0.0.1:0',
      'management_address=http://127.0.0.1:0',
      'metrics_address=http://127.0.0.1:0',
      'grpc_inference_port=0',
      'grpc_management_port=0',
      ...sharedProperties(store),
      '',
    ].join('\n'),
  );
  const proc: LanternProcess = startLanternProcess(dir, ['--ncs', '--ts-config', config], { ...THREAD_ENV });
  const workerPids = new Set<number>();
  const stop = async (): Promise<void> => {
    proc.signal('SIGTERM');
    const timer = setTimeout(() => proc.signal('SIGKILL'), 30_000);
    await proc.exited;
    clearTimeout(timer);
    await waitAllDead([...workerPids]);
  };
  try {
    await proc.ready(60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'Lantern',
    inference: listenerUrl(proc, 'Inference'),
    management: listenerUrl(proc, 'Management'),
    metrics: metricsUrl(proc),
    output: proc.output,
    workerPids,
    stop,
  };
}

/** The metrics listener's URL, from the line Lantern prints when it listens. */
function metricsUrl(proc: LanternProcess): string {
  const line = proc.output.find((l) => /metrics API listening on /i.test(l));
  if (line === undefined) throw new Error(`no metrics listener in Lantern's output:\n${proc.output.join('\n')}`);
  return line.slice(line.indexOf(' listening on ') + ' listening on '.length).trim();
}
