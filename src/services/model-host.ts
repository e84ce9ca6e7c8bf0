// Turns a model source (url + registration parameters) into a running ServedModel, and takes
// one down again. Shared by the register API, startup loading and snapshot restore.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { openArchive, type ArchiveLimits, type ModelArchive } from '../archive/model-archive.js';
import type { ModelSourceSettings } from '../archive/aws-environment.js';
import { claimFolder, releaseFolder } from '../archive/debris.js';
import { installPythonDependencies } from '../workers/python-dependencies.js';
import { requireModelName, type Runtime } from '../archive/manifest.js';
import { customPipInstallFailed, invalidRuntime, modelUnloaded, versionConflict, type ServeError } from '../errors.js';
import type { Clock } from '../clock.js';
import { JobQueue } from '../batching/job-queue.js';
import { SequenceQueue } from '../batching/sequence-queue.js';
import { sequenceSettings } from './stateful-settings.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { selectRuntime, workerLaunch, type LaunchSettings } from '../workers/launch.js';
import { WorkerPool, type PoolEvents } from '../workers/worker-pool.js';
import { WorkerProcess, type WorkerLaunch } from '../workers/worker-process.js';
import { threadEnvironment, threadsPerWorker } from '../workers/thread-budget.js';
import { autoscaleSettings, type AutoscaleSettings } from '../workers/autoscaler.js';
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
  /** Server-wide autoscaling timings; model-config.yaml may override them per model. */
  readonly autoscale?: AutoscaleSettings;
  /** AWS settings for s3_sse_kms and s3:// model URLs; download progress. */
  readonly modelSources?: ModelSourceSettings;
  /** install_py_dep_per_model: pip-install each archive's requirementsFile at registration. */
  readonly installPyDepPerModel?: boolean;
  /** The cores workers may use and worker_threads (thread-budget.ts). */
  readonly threads: { readonly cpuCount: number; readonly serverThreads: number };
  /** max_worker_rss_mb: a worker over it after a batch is replaced (0 for no limit). */
  readonly maxWorkerRssMb?: number;
  /** Where pip's output and download progress are logged. */
  readonly log?: (line: string) => void;
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
  /** Register parameter s3_sse_kms: sign the http(s) download with AWS SigV4. */
  readonly s3SseKms?: boolean;
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
    private readonly poolEvents?: PoolEvents,
  ) {}

  /** Per-model dependency folders (install_py_dep_per_model), removed with their model. */
  readonly #dependencyDirs = new Map<ServedModel, string>();

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
      ...(source.s3SseKms === undefined ? {} : { s3SseKms: source.s3SseKms }),
      ...(this.settings.modelSources === undefined ? {} : { sources: this.settings.modelSources }),
    });
    try {
      const dependencyDir = this.dependencyDirFor(archive);
      const model = this.build(source, archive, dependencyDir);
      if (dependencyDir !== null && (model.runtime === 'python' || model.runtime === 'python3' || model.runtime === 'LSP')) {
        await this.installDependencies(model, archive, dependencyDir);
        this.#dependencyDirs.set(model, dependencyDir);
      }
      this.registry.add(model.name, model.version, model);
      return model;
    } catch (err) {
      await archive.close();
      await archive.removeDownloaded();
      throw err;
    }
  }

  /**
   * Takes a model version out of service: what is still queued is answered with `error`; with
   * `drain`, what the workers run or hold is finished first, with `abort` it is answered with
   * `error` too; then the extracted and downloaded files are deleted. `abort` may follow a `drain`
   * that takes too long.
   */
  async remove(model: ServedModel, error: ServeError = modelUnloaded(model.name), how: 'drain' | 'abort' = 'drain'): Promise<void> {
    model.queue.failAll(error);
    if (how === 'drain') await model.pool.close();
    else await model.pool.destroy(error);
    // Jobs a stopped worker never started come back to the queue.
    model.queue.failAll(error);
    await model.archive.close();
    await model.archive.removeDownloaded();
    const dependencyDir = this.#dependencyDirs.get(model);
    this.#dependencyDirs.delete(model);
    if (dependencyDir !== undefined) await releaseFolder(dependencyDir);
  }

  private dependencyDirFor(archive: ModelArchive): string | null {
    const requirements = archive.manifest.model.requirementsFile;
    if (this.settings.installPyDepPerModel !== true || requirements === undefined || requirements === '') return null;
    return path.join(this.settings.tmpRoot, 'dependencies', randomUUID().replaceAll('-', ''));
  }

  private async installDependencies(model: ServedModel, archive: ModelArchive, targetDir: string): Promise<void> {
    const requirementsFile = path.resolve(archive.dir, archive.manifest.model.requirementsFile ?? '');
    if (!requirementsFile.startsWith(archive.dir + path.sep)) throw customPipInstallFailed(model.name);
    await claimFolder(targetDir);
    try {
      await installPythonDependencies({
        python: this.settings.launch.python,
        requirementsFile,
        targetDir,
        env: this.settings.launch.baseEnv,
        cwd: archive.dir,
        log: (line) => this.settings.log?.(`${model.name} ${model.version}: ${line}`),
      });
    } catch (err) {
      await model.pool.destroy(customPipInstallFailed(model.name));
      await releaseFolder(targetDir);
      this.settings.log?.(`Installing the dependencies of ${model.name} ${model.version} failed: ${(err as Error).message}`);
      throw customPipInstallFailed(model.name, err);
    }
  }

  private build(source: ModelSource, archive: ModelArchive, dependencyDir: string | null = null): ServedModel {
    const manifest = archive.manifest;
    const name = requireModelName(source.modelName ?? manifest.model.modelName ?? source.fallbackName);
    const version = manifest.model.modelVersion;
    if (this.registry.has(name, version)) throw versionConflict(name, version);
    const { runtime, handler } = selectRuntime(
      (source.runtime as Runtime | null) ?? manifest.runtime,
      source.handler ?? manifest.model.handler ?? this.settings.defaultServiceHandler ?? '',
      manifest.model.serializedFile,
    );
    const settings = resolveModelSettings(
      source.requested,
      archive.config,
      this.settings.configuredModels[name]?.[version],
      this.settings.defaults,
    );
    const sequences = sequenceSettings(archive.config?.raw, settings.minWorkers);
    const queue = sequences === null ? new JobQueue(settings.jobQueueSize, this.clock) : new SequenceQueue(settings.jobQueueSize, sequences, this.clock);
    const launch = workerLaunch(runtime, archive.dir, handler, withPythonPath(this.settings.launch, dependencyDir));
    const budget = { ...this.settings.threads, modelThreads: positiveInteger(archive.config?.raw?.workerThreads) };
    // Threads are counted when each process starts, against the model's maximum workers then.
    let served: ServedModel | null = null;
    const launchNow = (): WorkerLaunch => {
      const threads = threadsPerWorker(budget, served?.workers.max ?? settings.maxWorkers);
      return { ...launch, env: { ...launch.env, ...threadEnvironment(threads, this.settings.launch.baseEnv) } };
    };
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
          envelope: this.settings.serviceEnvelope ?? '', // a MANIFEST envelope is ignored, as in TorchServe
          limitMaxImagePixels: this.settings.limitMaxImagePixels,
        },
        batchSize: Math.max(1, settings.batchSize),
        maxBatchDelayMs: Math.max(0, settings.maxBatchDelayMs),
        responseTimeoutMs: settings.responseTimeoutSec * 1000,
        startupTimeoutMs: settings.startupTimeoutSec * 1000,
        maxRetryTimeoutSec: settings.maxRetryTimeoutSec,
        maxResponseBytes: this.settings.maxResponseBytes,
        pipelineDepth: positiveInteger(archive.config?.raw?.pipelineDepth),
        continuous: sequences?.continuous === true,
        maxWorkerRssBytes: workerMemoryLimit(this.settings.maxWorkerRssMb ?? 0, archive.config?.raw ?? null),
        ...(this.settings.autoscale === undefined ? {} : { autoscale: autoscaleSettings(this.settings.autoscale, archive.config?.raw ?? null) }),
      },
      {
        queue,
        clock: this.clock,
        createWorker: (id, options) => new WorkerProcess(id, launchNow(), options),
        nextWorkerId: this.nextWorkerId,
        log: (id, line, stream) => this.workerLog(name, version, id, line, stream),
        events: this.poolEvents,
      },
    );
    served = {
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
    return served;
  }
}

/** A model-config.yaml value that must be a positive integer, or null. */
const positiveInteger = (value: unknown): number | null => (typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null);

/** max_worker_rss_mb, or the archive's maxWorkerRssMb (model-config.yaml) over it; null for none. */
function workerMemoryLimit(serverMb: number, yaml: Readonly<Record<string, unknown>> | null): number | null {
  const own = yaml?.maxWorkerRssMb;
  const mb = typeof own === 'number' && Number.isFinite(own) && own >= 0 ? own : serverMb;
  return mb > 0 ? mb * 1048576 : null;
}

/** The launch settings with `dir` (a model's installed dependencies) first on the inherited PYTHONPATH. */
function withPythonPath(launch: LaunchSettings, dir: string | null): LaunchSettings {
  if (dir === null) return launch;
  const inherited = launch.baseEnv.PYTHONPATH;
  const pythonPath = inherited === undefined || inherited === '' ? dir : `${dir}${path.delimiter}${inherited}`;
  return { ...launch, baseEnv: { ...launch.baseEnv, PYTHONPATH: pythonPath } };
}
