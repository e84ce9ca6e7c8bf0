// One registered model version at run time: what it was registered from, its settings, its
// job queue and its workers.
import type { ModelArchive } from '../archive/model-archive.js';
import type { Runtime } from '../archive/manifest.js';
import type { WorkQueue } from '../batching/work-queue.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import type { ModelSettings } from './model-settings.js';

export interface ServedModel {
  readonly name: string;
  readonly version: string;
  readonly runtime: Runtime;
  readonly handler: string;
  readonly archive: ModelArchive;
  readonly settings: ModelSettings;
  readonly loadedAtStartup: boolean;
  readonly queue: WorkQueue;
  readonly pool: WorkerPool;
  /** Worker targets; they change with the scale API. */
  workers: { min: number; max: number };
}
