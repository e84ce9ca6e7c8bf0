// How a worker process is started for each runtime.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Runtime } from '../archive/manifest.js';
import type { WorkerLaunch } from './worker-process.js';

/** Lantern's Python worker package (workers/python in the repository). */
export const PYTHON_WORKER_ROOT = fileURLToPath(new URL('../../workers/python', import.meta.url));

export interface LaunchSettings {
  readonly python: string;
  readonly decodeInputRequest: boolean;
  /** The server's environment, already filtered by blacklist_env_vars. */
  readonly baseEnv: Readonly<Record<string, string>>;
}

export function workerLaunch(runtime: Runtime, modelDir: string, handler: string, settings: LaunchSettings): WorkerLaunch {
  const env: Record<string, string> = { ...settings.baseEnv, TS_DECODE_INPUT_REQUEST: String(settings.decodeInputRequest) };
  switch (runtime) {
    case 'python':
    case 'python3':
    case 'LSP': {
      const handlerDir = handler.includes(':') && handler.includes('/') ? path.dirname(handler.split(':')[0] as string) : null;
      const parts = [handlerDir, modelDir, PYTHON_WORKER_ROOT, settings.baseEnv.PYTHONPATH].filter(
        (p): p is string => typeof p === 'string' && p.length > 0,
      );
      env.PYTHONPATH = parts.join(path.delimiter);
      env.PYTHONUNBUFFERED = '1';
      return { command: settings.python, args: ['-u', '-m', 'lantern_worker'], cwd: modelDir, env };
    }
    case 'node':
      throw new Error('The node runtime is not available yet (issue #6)');
  }
}
