// Restoring the models of a snapshot at start (spec §6): every archive must be in the model
// store (else startup aborts), then each version is opened by its marName with its saved
// settings and worker targets, defaults are set, and workers start in the background.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { snapshotArchiveMissing } from '../errors.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ModelHost } from '../services/model-host.js';
import type { ServedModel } from '../services/served-model.js';
import type { RestoreVersion, SnapshotVersion } from './snapshot-content.js';

export interface RestoreLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, cause?: unknown): void;
}

async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => null)) !== null;
}

/** Throws ModelNotFoundException for the first version whose archive is not in the store. */
export async function checkArchives(versions: readonly RestoreVersion[], modelStore: string | null): Promise<void> {
  for (const v of versions) {
    if (modelStore === null || v.marName.includes('..') || !(await exists(path.join(modelStore, v.marName)))) {
      throw snapshotArchiveMissing(v.name, v.version);
    }
  }
}

export async function restoreModels(
  versions: readonly RestoreVersion[],
  modelStore: string | null,
  host: ModelHost,
  registry: ModelRegistry<ServedModel>,
  log: RestoreLog,
): Promise<void> {
  if (versions.length === 0) {
    log.warn('Model snapshot has no models');
    return;
  }
  await checkArchives(versions, modelStore);
  const restored: ServedModel[] = [];
  for (const v of versions) {
    try {
      const model = await host.add({
        url: v.marName,
        modelName: v.name,
        handler: null,
        runtime: v.runtimeType,
        requested: {
          batchSize: v.batchSize,
          maxBatchDelayMs: v.maxBatchDelay,
          responseTimeoutSec: v.responseTimeout,
          startupTimeoutSec: v.startupTimeout,
          initialWorkers: v.minWorkers,
        },
        trusted: true,
        loadedAtStartup: false,
      });
      if (model.version !== v.version) {
        log.warn(`Snapshot version ${v.version} of model ${v.name} is version ${model.version} in ${v.marName}`);
      }
      model.workers = { min: v.minWorkers, max: Math.max(v.minWorkers, v.maxWorkers) };
      restored.push(model);
      if (v.isDefault) registry.setDefault(model.name, model.version);
    } catch (err) {
      log.error(`Failed to restore model ${v.name} version ${v.version} from ${v.marName}`, err);
    }
  }
  for (const model of restored) {
    log.info(`Restored model ${model.name} version ${model.version} with ${model.workers.min} workers`);
    model.pool.scale(model.workers.min, model.workers.max).catch((err: unknown) => {
      log.warn(`Workers of ${model.name} ${model.version} failed to start: ${err instanceof Error ? err.message : String(err)}`);
    });
  }
}

/** The snapshot's view of the registered versions. */
export function snapshotVersions(registry: ModelRegistry<ServedModel>): SnapshotVersion[] {
  return registry.entries().map(({ name, version, entry, isDefault }) => ({
    name,
    version,
    isDefault,
    marName: entry.archive.marName,
    minWorkers: entry.workers.min,
    maxWorkers: entry.workers.max,
    batchSize: entry.settings.batchSize,
    maxBatchDelay: entry.settings.maxBatchDelayMs,
    responseTimeout: entry.settings.responseTimeoutSec,
    startupTimeout: entry.settings.startupTimeoutSec,
    runtimeType: entry.runtime,
  }));
}
