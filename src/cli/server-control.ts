// The client side of `lantern --start` and `--stop`: a server started in the background, its pid
// file, and stopping it.
import { spawn } from 'node:child_process';
import { fstatSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './lantern-args.js';
import { appendedSince, failureReason } from './start-failure.js';

type Environment = Readonly<Record<string, string | undefined>>;

const LISTENER_LABELS: Record<string, string> = {
  inference: 'Inference API',
  management: 'Management API',
  'grpc-inference': 'gRPC inference API',
  'grpc-management': 'gRPC management API',
  metrics: 'Metrics API',
};
export const listenerLabel = (api: string): string => LISTENER_LABELS[api] ?? `${api} API`;

const ENTRY = fileURLToPath(new URL('../../bin/lantern.js', import.meta.url));

const pidFile = (env: Environment): string => path.join(env.TEMP ?? os.tmpdir(), '.lantern.pid');

function readPid(env: Environment): number | null {
  try {
    const pid = Number(readFileSync(pidFile(env), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** Starts the server as a detached process, waits until it listens, records its pid. */
export async function runBackground(argv: readonly string[], env: Environment): Promise<void> {
  if (readPid(env) !== null) {
    throw new UsageError('Lantern is already running, please use lantern --stop to stop Lantern.');
  }
  mkdirSync(env.LOG_LOCATION ?? 'logs', { recursive: true });
  const logFile = path.join(env.LOG_LOCATION ?? 'logs', 'lantern.log');
  const out = openSync(logFile, 'a');
  const startOffset = fstatSync(out).size;
  // The server runs with this process's Node flags (bin/lantern's heap cap among them).
  const child = spawn(process.execPath, [...process.execArgv, ENTRY, ...argv, '--foreground'], {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
  });
  type Ready = { listeners: Array<{ api: string; url: string }>; keyFile: string | null };
  const ready = await new Promise<Ready | null>((resolve) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('exit', () => resolve(null));
  });
  if (ready === null) {
    const reason = failureReason(appendedSince(logFile, startOffset));
    throw new UsageError(['Lantern failed to start:', ...reason.map((l) => `  ${l}`), `See ${logFile}`].join('\n'));
  }
  writeFileSync(pidFile(env), String(child.pid));
  for (const l of ready.listeners) console.log(`${listenerLabel(l.api)}: ${l.url}`);
  if (ready.keyFile !== null) console.log(`Token authorization is on: keys in ${ready.keyFile}`);
  console.log(`Lantern started (pid ${String(child.pid)}); logs in ${logFile}`);
  child.disconnect();
  child.unref();
}

export async function runStop(env: Environment): Promise<void> {
  const pid = readPid(env);
  if (pid === null) {
    console.log('Lantern is not currently running.');
    return;
  }
  process.kill(pid, 'SIGTERM');
  // The server drains for up to graceful_shutdown_timeout_sec before it stops its workers.
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let waitedMs = 0; alive(); waitedMs += 100) {
    if (waitedMs === 5000) console.log('Waiting for requests in flight to finish...');
    if (waitedMs >= 600_000) {
      console.log(`Lantern (pid ${pid}) is still stopping; check its log.`);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  rmSync(pidFile(env), { force: true });
  rmSync('key_file.json', { force: true });
  console.log('Lantern has stopped.');
}
