// The models named at start (`load_models`, `--models`), when no snapshot is restored.
import type { Config } from '../config/load-config.js';
import { listStoreModels } from '../archive/store-scan.js';
import type { ModelHost } from '../services/model-host.js';
import type { ServerEnvironment } from './server-settings.js';

/** `load_models` / `--models` (spec §5.4): failures are logged and skipped; workers start in the background. */
export async function loadStartupModels(config: Config, modelStore: string | null, host: ModelHost, environment: ServerEnvironment): Promise<void> {
  const { logger } = environment;
  const entries =
    config.load_models === 'all'
      ? modelStore === null
        ? []
        : (await listStoreModels(modelStore)).map((m) => ({ name: null as string | null, url: m.url, fallbackName: m.fallbackName as string | null }))
      : config.load_models.map((m) => ({ name: m.name, url: m.url, fallbackName: null as string | null }));
  const defaultWorkers = config.default_workers_per_model > 0 ? config.default_workers_per_model : environment.cpuCount;
  for (const entry of entries) {
    try {
      const model = await host.add({
        url: entry.url,
        modelName: entry.name,
        fallbackName: entry.fallbackName,
        handler: null,
        runtime: null,
        requested: { batchSize: null, maxBatchDelayMs: null, responseTimeoutSec: null, startupTimeoutSec: null, initialWorkers: defaultWorkers, atStartup: true },
        trusted: true,
        loadedAtStartup: true,
      });
      logger.info(`Loaded model ${model.name} version ${model.version} from ${entry.url} with ${model.workers.min} workers`);
      model.pool.scale(model.workers.min, model.workers.max).catch((err: unknown) => {
        logger.warn(`Workers of ${model.name} failed to start: ${err instanceof Error ? err.message : String(err)}`);
      });
    } catch (err) {
      logger.error(`Failed to load model ${entry.url}`, err);
    }
  }
}
