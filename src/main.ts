// The composition root: configuration in, a running Lantern out. Nothing else wires objects.
import os from 'node:os';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Config } from './config/load-config.js';
import { listStoreModels } from './archive/store-scan.js';
import { systemClock, type Clock } from './batching/clock.js';
import { ModelRegistry } from './registry/model-registry.js';
import { ModelHost, type HostSettings } from './services/model-host.js';
import { ManagementService } from './services/management-service.js';
import { InferenceService } from './services/inference-service.js';
import type { ServedModel } from './services/served-model.js';
import { HttpEdge, type BoundListener } from './http/http-edge.js';
import { managementRoutes } from './http/management-routes.js';
import { inferenceRoutes } from './http/inference-routes.js';
import type { Logger } from './logger.js';
import { TokenAuthorization } from './auth/token-authorization.js';
import type { ConfiguredSettings } from './services/model-settings.js';

export const VERSION = '0.1.0';

export interface ServerEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly tmpDir: string;
  readonly cpuCount: number;
  readonly logger: Logger;
  readonly clock?: Clock;
}

export interface RunningServer {
  readonly listeners: readonly BoundListener[];
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
  };
}

export async function startServer(config: Config, environment: ServerEnvironment): Promise<RunningServer> {
  const { logger } = environment;
  const clock = environment.clock ?? systemClock;
  const modelStore = config.model_store === null ? null : path.resolve(environment.cwd, config.model_store);
  await mkdir(path.join(environment.tmpDir, 'models'), { recursive: true });

  const registry = new ModelRegistry<ServedModel>();
  let nextWorkerId = config.initial_worker_port;
  const host = new ModelHost(hostSettings(config, environment, modelStore), registry, clock, () => nextWorkerId++, (model, version, id, line, stream) =>
    logger.model(`W-${id}-${model}_${version}`, line, stream),
  );
  const inference = new InferenceService(registry, clock);
  const management = new ManagementService(registry, host, inference, clock, {
    modelApiEnabled: config.enable_model_api,
    unregisterTimeoutMs: config.unregister_model_timeout * 1000,
    log: (line) => logger.warn(line),
  });
  const auth = config.disable_token_authorization
    ? null
    : new TokenAuthorization(path.join(environment.cwd, 'key_file.json'), config.token_expiration_min, clock);
  const routes = [
    ...inferenceRoutes({ inference, maxRequestBytes: config.max_request_size }),
    ...managementRoutes({ management, maxRequestBytes: config.max_request_size, auth }, config.default_workers_per_model),
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
    auth,
    logRefused: (message) => logger.warn(message),
    onResponse: (api, req, status, ms) => logger.access(`${req.socket.remoteAddress ?? '-'} "${req.method} ${req.url} HTTP/${req.httpVersion}" ${status} ${ms.toFixed(1)}`),
  });

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await edge.close();
      await Promise.all(registry.entries().map(({ entry }) => host.remove(entry)));
      await auth?.close();
    })();
    return closed;
  };

  try {
    // The keys exist on disk before any listener accepts a request.
    await auth?.writeKeyFile();
    const listeners = [
      await edge.listen('inference', config.inference_address),
      await edge.listen('management', config.management_address),
    ];
    await loadStartupModels(config, modelStore, host, environment);
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
