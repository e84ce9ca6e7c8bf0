// End-to-end support for tests that need Lantern as its own OS process: `node bin/lantern.js
// --foreground ...` (or the `lantern` command) started in a chosen folder, its output collected,
// readiness awaited, and stopped with a signal (SIGTERM for a graceful stop, SIGKILL for a crash).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { REPO_ROOT, waitFor } from './harness.js';

export const LANTERN_BIN = path.join(REPO_ROOT, 'bin', 'lantern.js');
/** The `lantern` command npm installs: a shell script that execs Node with its flags and LANTERN_BIN. */
export const LANTERN_COMMAND = path.join(REPO_ROOT, 'bin', 'lantern');

export interface LanternProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly output: string[];
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Resolves once the server printed that it is ready; rejects if it exits first. */
  ready(timeoutMs?: number): Promise<void>;
  signal(signal: NodeJS.Signals): void;
}

/**
 * `viaCommand` starts it as users do, through LANTERN_COMMAND, instead of `node bin/lantern.js`;
 * `fdLimit` runs it under `ulimit -n` (a bash in between that execs it, so the pid is Lantern's).
 */
export function startLanternProcess(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
  viaCommand = false,
  fdLimit?: number,
): LanternProcess {
  const [direct, directArgv] = viaCommand ? [LANTERN_COMMAND, ['--foreground', ...args]] : [process.execPath, [LANTERN_BIN, '--foreground', ...args]];
  const [command, argv] =
    fdLimit === undefined ? [direct, directArgv] : ['/bin/bash', ['-c', `ulimit -n ${fdLimit} && exec "$0" "$@"`, direct, ...directArgv]];
  const child = spawn(command, argv, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return followServer(child, 'Lantern');
}

/** Follows a server process's output lines until it says it is ready; `what` names it in failures. */
export function followServer(child: ChildProcess, what: string, defaultReadyTimeoutMs = 30_000): LanternProcess {
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    // A chunk may end inside a line: it is kept until its newline so that tests find whole lines.
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      output.push(...lines.filter((l) => l.length > 0));
    });
    stream?.on('end', () => {
      if (partial.length > 0) output.push(partial);
    });
  }
  let exitedValue: number | string | null = null;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedValue = code ?? signal ?? -1;
      resolve(exitedValue);
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    output,
    exited,
    ready: async (timeoutMs = defaultReadyTimeoutMs) => {
      await waitFor(
        `${what} to be ready`,
        () => {
          if (exitedValue !== null) throw new Error(`${what} exited (${exitedValue}) before it was ready:\n${output.join('\n')}`);
          return output.some((l) => l.includes('Lantern is ready'));
        },
        timeoutMs,
      );
    },
    signal: (signal) => {
      if (exitedValue === null) child.kill(signal);
    },
  };
}

/** A TCP port that was free a moment ago (for a server that must keep its port across restarts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Writes `config.properties` in `cwd` with every listener on a port of its own (0 unless given),
 * so tests never meet each other on TorchServe's default ports; `extra` lines are appended.
 */
export async function writePortConfig(cwd: string, extra: readonly string[] = [], ports: { inference?: number; management?: number } = {}): Promise<void> {
  const lines = [
    `inference_address=http://127.0.0.1:${ports.inference ?? 0}`,
    `management_address=http://127.0.0.1:${ports.management ?? 0}`,
    'metrics_address=http://127.0.0.1:0',
    'grpc_inference_port=0',
    'grpc_management_port=0',
    // No load balancer watches a test's server: SIGTERM stops it at once (a test may set its own delay).
    'shutdown_delay_sec=0',
    ...extra,
  ];
  await writeFile(path.join(cwd, 'config.properties'), `${lines.join('\n')}\n`);
}

/** The URL of a listener, from the line the server prints when it listens. */
export function listenerUrl(p: LanternProcess, api: 'Inference' | 'Management'): string {
  const line = p.output.find((l) => l.includes(`${api} API listening on `));
  if (line === undefined) throw new Error(`no ${api} listener in the output`);
  return line.slice(line.indexOf(' listening on ') + ' listening on '.length).trim();
}
