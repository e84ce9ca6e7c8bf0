// How a worker process is started for each runtime.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Runtime } from '../archive/manifest.js';
import type { WorkerLaunch } from './worker-process.js';

/** Lantern's Python worker package (workers/python in the repository). */
export const PYTHON_WORKER_ROOT = fileURLToPath(new URL('../../workers/python', import.meta.url));

/** The Node worker's entry (workers/node in the repository); it runs the build in dist/node-worker. */
export const NODE_WORKER_ENTRY = fileURLToPath(new URL('../../workers/node/lantern-worker.mjs', import.meta.url));

/** The node_modules folder Lantern's dependencies live in (its own, or the one it was installed into). */
function lanternNodeModules(): string {
  let dir = path.dirname(fileURLToPath(import.meta.resolve('onnxruntime-node')));
  while (path.basename(dir) !== 'node_modules' && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

const NODE_HANDLER_FILE = /\.(ts|mts|cts|mjs|cjs|js)(:[^:/]*)?$/;

/**
 * The runtime and handler a model really gets: the built-in `onnx` handler (named, or implied by
 * a .onnx serializedFile with no handler) and handler files only Node can run (.ts, .mjs, .js, …)
 * always run on the Node runtime, whatever the manifest says (archivers write `python`).
 */
export function selectRuntime(runtime: Runtime, handler: string, serializedFile: string | undefined): { runtime: Runtime; handler: string } {
  if (handler === 'onnx' || NODE_HANDLER_FILE.test(handler)) return { runtime: 'node', handler };
  if (handler === '' && serializedFile?.toLowerCase().endsWith('.onnx') === true) return { runtime: 'node', handler: 'onnx' };
  return { runtime, handler };
}

export interface LaunchSettings {
  readonly python: string;
  readonly decodeInputRequest: boolean;
  /** The server's environment, already filtered by blacklist_env_vars. */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** The metrics configuration's model_metrics (JSON): the Python worker seeds context.metrics with them. */
  readonly modelMetrics?: string;
  /** The metrics_config file, absolute; null for the built-in one (context.metrics.config_file_path). */
  readonly metricsConfigFile?: string | null;
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
      if (settings.modelMetrics !== undefined) env.LANTERN_MODEL_METRICS = settings.modelMetrics;
      if (settings.metricsConfigFile !== undefined && settings.metricsConfigFile !== null) env.LANTERN_METRICS_CONFIG = settings.metricsConfigFile;
      return { command: settings.python, args: ['-u', '-m', 'lantern_worker'], cwd: modelDir, env };
    }
    case 'node': {
      // So that CommonJS handlers can require what Lantern ships (onnxruntime-node, yaml, …).
      env.NODE_PATH = [lanternNodeModules(), settings.baseEnv.NODE_PATH].filter((p) => p !== undefined && p !== '').join(path.delimiter);
      return { command: process.execPath, args: ['--enable-source-maps', NODE_WORKER_ENTRY], cwd: modelDir, env };
    }
  }
}
