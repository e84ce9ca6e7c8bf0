// The composition root: configuration in, a running Lantern out. Nothing else wires objects.
import os from 'node:os';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Config } from './config/load-config.js';
import type { ListenAddress } from './config/listen-address.js';
import { listStoreModels } from './archive/store-scan.js';
import { systemClock, type Clock } from './clock.js';
import { ModelRegistry } from './registry/model-registry.js';
import { ModelHost, type HostSettings } from './services/model-host.js';
import { ManagementService } from './services/management-service.js';
import { InferenceService } from './services/inference-service.js';
import type { ServedModel } from './services/served-model.js';
import { HttpEdge, type BoundListener } from './http/http-edge.js';
import type { GrpcEdge, GrpcEdgeOptions, GrpcListener } from './grpc/grpc-edge.js';
import { managementRoutes } from './http/management-routes.js';
import { inferenceRoutes } from './http/inference-routes.js';
import type { Logger } from './logger.js';
import { TokenAuthorization } from './auth/token-authorization.js';
import type { ConfiguredSettings } from './services/model-settings.js';
import { serverStopping } from './errors.js';
import { healthRoutes } from './http/health-routes.js';
import { healthProblems, type ServerPhase } from './services/server-health.js';
import { SnapshotStore, snapshotDir } from './snapshot/snapshot-store.js';
import { SnapshotWriter } from './snapshot/snapshot-writer.js';
import { DEFAULT_AUTOSCALE } from './workers/autoscaler.js';
import { parseModelSnapshot } from './snapshot/snapshot-content.js';
import { restoreModels, snapshotVersions } from './snapshot/snapshot-restore.js';
import { ServerMetrics } from './metrics/server-metrics.js';
import { readMetricsConfig } from './metrics/metrics-config.js';
import { metricsRoutes } from './http/metrics-routes.js';
import { accessLine } from './logging/access-line.js';
import { awsEnvironmentFrom } from './archive/aws-environment.js';
import { removeDebris } from './archive/debris.js';

export const VERSION = '0.1.0';

export interface ServerEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly tmpDir: string;
  readonly cpuCount: number;
  readonly logger: Logger;
  readonly clock?: Clock;
}

export interface StartOptions {
  /** Write snapshots to $LOG_LOCATION/config (false with --ncs). Default true. */
  readonly snapshots?: boolean;
  /** The config file that was read, recorded in snapshots as tsConfigFile. */
  readonly configFile?: string | null;
}

/** Snapshots kept in $LOG_LOCATION/config; older ones are removed. */
const SNAPSHOTS_KEPT = 10;

/** The configuration a snapshot records: every effective property plus computed values (spec §6). */
function snapshotProperties(config: Config, modelStore: string | null, options: StartOptions): Map<string, string> {
  const properties = new Map(config.properties);
  if (modelStore !== null) properties.set('model_store', modelStore);
  // min(detected accelerators, configured): Lantern detects none.
  properties.set('number_of_gpu', '0');
  properties.set('version', VERSION);
  if (options.configFile) properties.set('tsConfigFile', options.configFile);
  return properties;
}

/** Equal inference and management addresses share one listener, as in TorchServe (port 0 never does). */
function sameAddress(a: ListenAddress, b: ListenAddress): boolean {
  return a.scheme === b.scheme && a.host === b.host && a.path === b.path && a.port === b.port && a.port !== 0;
}

export interface RunningServer {
  readonly listeners: ReadonlyArray<BoundListener | GrpcListener>;
  readonly registry: ModelRegistry<ServedModel>;
  /** Where the keys are, or null when token authorization is disabled. */
  readonly keyFile: string | null;
  /** Stops accepting, stops every worker and removes temporary files. Idempotent. */
  close(): Promise<void>;
}

function workerEnv(env: ServerEnvironment['env'], blacklist: RegExp | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && !(blacklist?.test(k) ?? false)) out[k] = v;
  }
  return out;
}

function hostSettings(config: Config, environment: ServerEnvironment, modelStore: string | null): HostSettings {
  return {
    modelStore,
    allowedUrls: config.allowed_urls,
    tmpRoot: environment.tmpDir,
    archiveLimits: {
      maxEntries: config.archive_max_entries,
      maxUncompressedBytes: config.archive_max_uncompressed_bytes,
      downloadMaxBytes: config.download_max_bytes,
      downloadTimeoutMs: config.download_timeout_sec * 1000,
    },
    defaults: {
      responseTimeoutSec: config.default_response_timeout,
      startupTimeoutSec: config.default_startup_timeout,
      jobQueueSize: config.job_queue_size,
    },
    configuredModels: (config.models ?? {}) as Record<string, Record<string, ConfiguredSettings>>,
    defaultServiceHandler: config.default_service_handler,
    serviceEnvelope: config.service_envelope,
    limitMaxImagePixels: config.limit_max_image_pixels,
    maxResponseBytes: config.max_response_size,
    launch: {
      python: config.python ?? 'python3',
      decodeInputRequest: config.decode_input_request,
      baseEnv: workerEnv(environment.env, config.blacklist_env_vars),
    },
    modelSources: {
      aws: awsEnvironmentFrom(environment.env),
      log: (line) => environment.logger.info(line),
      allowLinkLocal: config.allow_link_local_urls,
    },
    installPyDepPerModel: config.install_py_dep_per_model,
    log: (line) => environment.logger.info(line),
    autoscale: {
      scaleUpAfterMs: config.autoscale_up_after_ms,
      scaleDownAfterMs: config.autoscale_down_after_sec * 1000,
      intervalMs: DEFAULT_AUTOSCALE.intervalMs,
    },
  };
}

export async function startServer(config: Config, environment: ServerEnvironment, options: StartOptions = {}): Promise<RunningServer> {
  const { logger } = environment;
  const clock = environment.clock ?? systemClock;
  const modelStore = config.model_store === null ? null : path.resolve(environment.cwd, config.model_store);
  await mkdir(path.join(environment.tmpDir, 'models'), { recursive: true });
  const sweepDebris = async (when: string): Promise<void> => {
    const parents = ['models', 'dependencies'].map((dir) => path.join(environment.tmpDir, dir));
    const removed = await removeDebris(parents, modelStore, config.download_timeout_sec * 1000, Date.now());
    if (removed.folders + removed.partFiles > 0) {
      logger.info(`Removed what stopped servers left ${when}: ${removed.folders} extracted model folders, ${removed.partFiles} partial downloads`);
    }
  };
  await sweepDebris('(at start)');

  const registry = new ModelRegistry<ServedModel>();
  // Metrics listen to the services' and pools' events (docs/metrics.md).
  const metrics = new ServerMetrics({
    mode: config.metrics_mode,
    config: await readMetricsConfig(config.metrics_config, environment.cwd),
    hostname: os.hostname(),
    autoDetectModelMetrics: config.model_metrics_auto_detect,
    systemIntervalSec: config.disable_system_metrics ? null : config.metric_time_interval,
    lines: { frontend: (line) => logger.metric?.('ts', line), backend: (line) => logger.metric?.('model', line) },
    log: (message) => logger.info(message),
    models: () =>
      registry.entries().map(({ name, version, entry }) => ({
        modelName: name,
        modelVersion: version,
        queueDepth: entry.queue.pending,
        queueCapacity: entry.queue.capacity,
        workersReady: entry.pool.readyCount(),
        workersBusy: entry.pool.busyCount(),
      })),
  });
  let nextWorkerId = config.initial_worker_port;
  const host = new ModelHost(
    hostSettings(config, environment, modelStore),
    registry,
    clock,
    () => nextWorkerId++,
    (model, version, id, line, stream) => {
      // `[METRICS]` lines are metrics, not model log (as in TorchServe).
      if (!metrics.workerOutput(line)) logger.model(`W-${id}-${model}_${version}`, line, stream);
    },
    metrics,
  );
  const snapshots =
    options.snapshots === false
      ? null
      : new SnapshotWriter({
          store: new SnapshotStore(snapshotDir(environment.env, environment.cwd), SNAPSHOTS_KEPT),
          state: () => ({ properties: snapshotProperties(config, modelStore, options), models: snapshotVersions(registry) }),
          clock,
          log: (message, cause) => logger.error(message, cause),
        });
  const inference = new InferenceService(registry, clock, metrics);
  const management = new ManagementService(registry, host, inference, clock, {
    modelApiEnabled: config.enable_model_api,
    unregisterTimeoutMs: config.unregister_model_timeout * 1000,
    defaultWorkersPerModel: config.default_workers_per_model,
    ...(snapshots === null ? {} : { persisted: () => snapshots.settled() }),
    log: (line) => logger.warn(line),
  });
  const auth = config.disable_token_authorization
    ? null
    : new TokenAuthorization(path.join(environment.cwd, 'key_file.json'), config.token_expiration_min, clock);
  let phase: ServerPhase = 'starting';
  const routes = [
    ...healthRoutes({ isReady: () => phase === 'serving' && healthProblems(registry).length === 0 }),
    ...inferenceRoutes({ inference, maxRequestBytes: config.max_request_size }),
    ...managementRoutes({ management, maxRequestBytes: config.max_request_size, auth }),
    ...(config.enable_metrics_api ? metricsRoutes(metrics) : []),
  ];
  const edge = new HttpEdge({
    routes,
    cors: {
      allowedOrigin: config.cors_allowed_origin,
      allowedMethods: config.cors_allowed_methods,
      allowedHeaders: config.cors_allowed_headers,
    },
    version: VERSION,
    logError: (message, cause) => logger.error(message, cause),
    // Server errors are warnings; a client's mistakes are information, with the fix beside them.
    logFailure: (line, error) => (error.status >= 500 ? logger.warn(line) : logger.info(line)),
    auth,
    logRefused: (message) => logger.warn(message),
    maxRequestBytes: config.max_request_size,
    maxConnectionsPerListener: config.max_connections_per_listener,
    maxInflightRequestBytes: config.max_inflight_request_bytes,
    timeouts: { requestMs: config.request_body_timeout_ms },
    tls: { certificateFile: config.certificate_file, privateKeyFile: config.private_key_file },
    requireModel: (name, version) => inference.requireModel(name, version),
    onResponse: (api, req, status, ms) => {
      metrics.httpResponse(status);
      logger.access(accessLine(req, status, ms));
    },
  });

  if (config.enable_grpc_ssl && (config.certificate_file === null || config.private_key_file === null)) {
    throw new Error('enable_grpc_ssl=true needs certificate_file and private_key_file');
  }
  const grpcOptions: GrpcEdgeOptions = {
    inference,
    management,
    auth,
    maxRequestBytes: config.max_request_size,
    maxResponseBytes: config.max_response_size,
    tls: config.enable_grpc_ssl ? { certificateFile: config.certificate_file as string, privateKeyFile: config.private_key_file as string } : null,
    clock,
    logError: (message, cause) => logger.error(message, cause),
    logRefused: (message) => logger.warn(message),
  };
  // Set once the gRPC libraries are loaded, after the startup models' workers are started (below).
  let grpc: GrpcEdge | null = null;

  let closed: Promise<void> | null = null;
  /**
   * Graceful stop: stop accepting, let queued and in-flight requests finish within
   * graceful_shutdown_timeout_sec, write the shutdown snapshot, answer what is left with 503,
   * stop the workers.
   */
  const close = (): Promise<void> => {
    closed ??= (async () => {
      const wasServing = phase === 'serving';
      phase = 'stopping';
      edge.stopAccepting();
      grpc?.stopAccepting();
      const drainMs = config.graceful_shutdown_timeout_sec * 1000;
      if (!(await Promise.all([edge.drain(drainMs), grpc?.drain(drainMs) ?? true])).every(Boolean)) {
        logger.warn(`Requests still open after graceful_shutdown_timeout_sec=${config.graceful_shutdown_timeout_sec}; answering them with 503`);
      }
      await snapshots?.close();
      if (wasServing) await snapshots?.write('shutdown');
      await Promise.all(registry.entries().map(({ entry }) => host.remove(entry, serverStopping())));
      await sweepDebris('(at stop)');
      await edge.close();
      await grpc?.close();
      await auth?.close();
      await metrics.close();
    })();
    return closed;
  };

  try {
    // The keys exist on disk before any listener accepts a request.
    await auth?.writeKeyFile();
    const listeners: Array<BoundListener | GrpcListener> = [
      ...(sameAddress(config.inference_address, config.management_address)
        ? await edge.listenShared(['inference', 'management'], config.inference_address)
        : [await edge.listen('inference', config.inference_address), await edge.listen('management', config.management_address)]),
      ...(config.enable_metrics_api ? [await edge.listen('metrics', config.metrics_address)] : []),
    ];
    if (config.model_snapshot !== null) {
      await restoreModels(parseModelSnapshot(config.model_snapshot), modelStore, host, registry, logger);
    } else {
      await loadStartupModels(config, modelStore, host, environment);
    }
    // Loading the gRPC libraries takes a fifth of a cold start: done here, it overlaps the startup
    // models' workers starting up in their own processes. The server is ready only once gRPC listens.
    const { GrpcEdge: Edge } = await import('./grpc/grpc-edge.js');
    grpc = new Edge(grpcOptions);
    listeners.push(
      await grpc.listen('grpc-inference', config.grpc_inference_address, config.grpc_inference_port),
      await grpc.listen('grpc-management', config.grpc_management_address, config.grpc_management_port),
    );
    metrics.start();
    await snapshots?.write('startup');
    snapshots?.follow(registry);
    phase = 'serving';
    return { listeners, registry, keyFile: auth?.keyFilePath ?? null, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** `load_models` / `--models` (spec §5.4): failures are logged and skipped; workers start in the background. */
async function loadStartupModels(config: Config, modelStore: string | null, host: ModelHost, environment: ServerEnvironment): Promise<void> {
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
        requested: { batchSize: null, maxBatchDelayMs: null, responseTimeoutSec: null, startupTimeoutSec: null, initialWorkers: defaultWorkers },
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

export const defaultEnvironment = (logger: Logger): ServerEnvironment => ({
  env: process.env,
  cwd: process.cwd(),
  tmpDir: process.env.TEMP ?? os.tmpdir(),
  cpuCount: os.availableParallelism(),
  logger,
});
