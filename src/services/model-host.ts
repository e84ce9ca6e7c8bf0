// Turns a model source (url + registration parameters) into a running ServedModel, and takes
// one down again. Shared by the register API, startup loading and snapshot restore.
import { openArchive, type ArchiveLimits, type ModelArchive } from '../archive/model-archive.js';
import { requireModelName, type Runtime } from '../archive/manifest.js';
import { invalidRuntime, modelUnloaded, versionConflict } from '../errors.js';
import type { Clock } from '../batching/clock.js';
import { JobQueue } from '../batching/job-queue.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { workerLaunch, type LaunchSettings } from '../workers/launch.js';
import { WorkerPool } from '../workers/worker-pool.js';
import {
  resolveModelSettings,
  type ConfiguredSettings,
  type RequestedSettings,
  type ServerDefaults,
} from './model-settings.js';
import type { ServedModel } from './served-model.js';

export interface HostSettings {
  readonly modelStore: string | null;
  readonly allowedUrls: readonly RegExp[];
  readonly tmpRoot: string;
  readonly archiveLimits: ArchiveLimits;
  readonly defaults: ServerDefaults;
  /** config.properties `models`: name → version → settings. */
  readonly configuredModels: Readonly<Record<string, Readonly<Record<string, ConfiguredSettings>>>>;
  readonly defaultServiceHandler: string | null;
  readonly serviceEnvelope: string | null;
  readonly limitMaxImagePixels: boolean;
  readonly maxResponseBytes: number;
  readonly launch: LaunchSettings;
}

export interface ModelSource {
  readonly url: string;
  readonly modelName: string | null;
  /** Used when neither modelName nor the manifest names the model (load_models=all only). */
  readonly fallbackName?: string | null;
  readonly handler: string | null;
  readonly runtime: string | null;
  readonly requested: RequestedSettings;
  /** Operator-named (startup) sources may point anywhere; API sources stay in the model store. */
  readonly trusted: boolean;
  readonly loadedAtStartup: boolean;
}

export type WorkerLog = (model: string, version: string, workerId: number, line: string, stream: 'stdout' | 'stderr') => void;

const RUNTIME_VALUES: readonly Runtime[] = ['python', 'python3', 'LSP', 'node'];

export class ModelHost {
  constructor(
    private readonly settings: HostSettings,
    private readonly registry: ModelRegistry<ServedModel>,
    private readonly clock: Clock,
    private readonly nextWorkerId: () => number,
    private readonly workerLog: WorkerLog,
  ) {}

  /** Opens the archive and registers the version (no workers yet). Nothing is left behind on failure. */
  async add(source: ModelSource): Promise<ServedModel> {
    if (source.runtime !== null && !RUNTIME_VALUES.includes(source.runtime as Runtime)) {
      throw invalidRuntime(source.runtime);
    }
    const archive = await openArchive(source.url, {
      modelStore: this.settings.modelStore,
      allowedUrls: [...this.settings.allowedUrls],
      tmpRoot: this.settings.tmpRoot,
      trusted: source.trusted,
      limits: this.settings.archiveLimits,
    });
    try {
      const model = this.build(source, archive);
      this.registry.add(model.name, model.version, model);
      return model;
    } catch (err) {
      await archive.close();
      await archive.removeDownloaded();
      throw err;
    }
  }

  /** Stops the workers, fails what is still queued and deletes extracted and downloaded files. */
  async remove(model: ServedModel): Promise<void> {
    model.queue.failAll(modelUnloaded(model.name));
    await model.pool.close();
    model.queue.failAll(modelUnloaded(model.name));
    await model.archive.close();
    await model.archive.removeDownloaded();
  }

  private build(source: ModelSource, archive: ModelArchive): ServedModel {
    const manifest = archive.manifest;
    const name = requireModelName(source.modelName ?? manifest.model.modelName ?? source.fallbackName);
    const version = manifest.model.modelVersion;
    if (this.registry.has(name, version)) throw versionConflict(name, version);
    const runtime = (source.runtime as Runtime | null) ?? manifest.runtime;
    const handler = source.handler ?? manifest.model.handler ?? this.settings.defaultServiceHandler ?? '';
    const settings = resolveModelSettings(
      source.requested,
      archive.config,
      this.settings.configuredModels[name]?.[version],
      this.settings.defaults,
    );
    const queue = new JobQueue(settings.jobQueueSize, this.clock);
    const pool = new WorkerPool(
      {
        modelName: name,
        version,
        load: {
          modelName: name,
          modelPath: archive.dir,
          batchSize: Math.max(1, settings.batchSize),
          handler,
          gpuId: -1,
          envelope: manifest.model.envelope ?? this.settings.serviceEnvelope ?? '',
          limitMaxImagePixels: this.settings.limitMaxImagePixels,
        },
        launch: workerLaunch(runtime, archive.dir, handler, this.settings.launch),
        batchSize: Math.max(1, settings.batchSize),
        maxBatchDelayMs: Math.max(0, settings.maxBatchDelayMs),
        responseTimeoutMs: settings.responseTimeoutSec * 1000,
        startupTimeoutMs: settings.startupTimeoutSec * 1000,
        maxRetryTimeoutSec: settings.maxRetryTimeoutSec,
        maxResponseBytes: this.settings.maxResponseBytes,
      },
      {
        queue,
        clock: this.clock,
        nextWorkerId: this.nextWorkerId,
        log: (id, line, stream) => this.workerLog(name, version, id, line, stream),
      },
    );
    return {
      name,
      version,
      runtime,
      handler,
      archive,
      settings,
      loadedAtStartup: source.loadedAtStartup,
      queue,
      pool,
      workers: { min: settings.minWorkers, max: settings.maxWorkers },
    };
  }
}
