// The CPU budget of a host: N workers of a model each running a math library with as many threads
// as there are cores oversubscribe the machine N times (torch from PyPI and ONNX Runtime default
// to every core). Each worker gets threads = cores / the model's maximum workers, at least 1,
// unless the model or the server names a number, and never where the user already set
// OMP_NUM_THREADS or MKL_NUM_THREADS (a handler's own torch.set_num_threads runs later and wins).

/** Read by the Node worker's ONNX Runtime sessions when model-config.yaml names no thread count. */
export const WORKER_THREADS_ENV = 'LANTERN_WORKER_THREADS';
const MATH_LIBRARY_ENV = ['OMP_NUM_THREADS', 'MKL_NUM_THREADS'] as const;

export interface ThreadBudget {
  readonly cpuCount: number;
  /** worker_threads (config.properties); 0 for the automatic budget. */
  readonly serverThreads: number;
  /** workerThreads in the model's model-config.yaml; null when absent. */
  readonly modelThreads: number | null;
}

export function threadsPerWorker(budget: ThreadBudget, maxWorkers: number): number {
  if (budget.modelThreads !== null && budget.modelThreads > 0) return budget.modelThreads;
  if (budget.serverThreads > 0) return budget.serverThreads;
  return Math.max(1, Math.floor(budget.cpuCount / Math.max(1, maxWorkers)));
}

/** The variables to add to a worker's environment; `inherited` is the server's (the user's). */
export function threadEnvironment(threads: number, inherited: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = { [WORKER_THREADS_ENV]: String(threads) };
  for (const name of MATH_LIBRARY_ENV) if (inherited[name] === undefined) env[name] = String(threads);
  return env;
}
