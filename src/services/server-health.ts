// What "healthy" means (spec §2.2, made truthful): every registered model version has at least
// its minimum number of workers loaded and serving, and none of its workers has given up after
// exhausting its retry window. A worker that is restarting after a crash is not counted.
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ServedModel } from './served-model.js';

/** Why the server is unhealthy; empty when it is healthy. */
export function healthProblems(registry: ModelRegistry<ServedModel>): string[] {
  const problems: string[] = [];
  for (const { name, version, entry } of registry.entries()) {
    const ready = entry.pool.readyCount();
    if (ready < entry.workers.min) {
      problems.push(`model ${name} version ${version}: ${ready} of at least ${entry.workers.min} workers ready`);
    }
    if (entry.pool.healthyCount() < entry.pool.size) {
      problems.push(`model ${name} version ${version}: a worker exhausted its retries`);
    }
  }
  return problems;
}

/** Where the server is in its life: readiness probes answer "ready" only while serving. */
export type ServerPhase = 'starting' | 'serving' | 'stopping';
