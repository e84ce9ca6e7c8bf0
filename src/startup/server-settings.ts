// How the configuration becomes the settings the server's parts are built with: pure mappings,
// no objects built here (main.ts wires them).
import path from 'node:path';
import type { Config } from '../config/load-config.js';
import type { ListenAddress } from '../config/listen-address.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { HostSettings } from '../services/model-host.js';
import type { ConfiguredSettings } from '../services/model-settings.js';
import { DEFAULT_AUTOSCALE } from '../workers/autoscaler.js';
import { awsEnvironmentFrom } from '../archive/aws-environment.js';
import { VERSION } from '../version.js';
import type { MetricSpec } from '../metrics/metrics-config.js';

/** What the server takes from the process it runs in; tests give their own. */
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

/** The configuration a snapshot records: every effective property plus computed values (spec §6). */
export function snapshotProperties(config: Config, modelStore: string | null, options: StartOptions): Map<string, string> {
  const properties = new Map(config.properties);
  // Keys are secrets: a snapshot is a plain file in the log folder.
  for (const secret of SECRET_PROPERTIES) properties.delete(secret);
  if (modelStore !== null) properties.set('model_store', modelStore);
  // min(detected accelerators, configured): Lantern detects none.
  properties.set('number_of_gpu', '0');
  properties.set('version', VERSION);
  if (options.configFile) properties.set('tsConfigFile', options.configFile);
  return properties;
}

/** Equal inference and management addresses share one listener, as in TorchServe (port 0 never does). */
export function sameAddress(a: ListenAddress, b: ListenAddress): boolean {
  return a.scheme === b.scheme && a.host === b.host && a.path === b.path && a.port === b.port && a.port !== 0;
}

/** Properties that hold keys; never copied into snapshots. */
const SECRET_PROPERTIES = ['inference_key', 'management_key'];
/** Variables that hold keys; handlers never see them. */
const SECRET_ENV = new Set(['TS_INFERENCE_KEY', 'TS_MANAGEMENT_KEY']);

/**
 * bin/lantern's malloc setting for the front end (request-body chunks from mmap, given back after a
 * burst): set by it, not by the user, it is the front end's alone. In a worker it would make every
 * allocation over 64 KiB an mmap and munmap: a torch worker ran resnet18 at half its speed with it.
 */
const FRONT_END_MALLOC_ENV = ['MALLOC_MMAP_THRESHOLD_', 'LANTERN_MALLOC_MMAP_THRESHOLD_SET'];

export function workerEnv(env: ServerEnvironment['env'], blacklist: RegExp | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && !SECRET_ENV.has(k) && !(blacklist?.test(k) ?? false)) out[k] = v;
  }
  if (env.LANTERN_MALLOC_MMAP_THRESHOLD_SET === '1') for (const k of FRONT_END_MALLOC_ENV) delete out[k];
  return out;
}

/** The metrics configuration's model_metrics as TorchServe's YAML section ({type: [{name, unit, dimensions}]}), in JSON. */
export function modelMetricsJson(specs: readonly MetricSpec[]): string {
  const section: Record<string, Array<{ name: string; unit: string; dimensions: readonly string[] }>> = {};
  for (const s of specs) (section[s.type] ??= []).push({ name: s.name, unit: s.unit, dimensions: s.dimensions });
  return JSON.stringify(section);
}

export function hostSettings(config: Config, environment: ServerEnvironment, modelStore: string | null, modelMetrics: readonly MetricSpec[] = []): HostSettings {
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
      modelMetrics: modelMetricsJson(modelMetrics),
      metricsConfigFile: config.metrics_config === null ? null : path.resolve(environment.cwd, config.metrics_config),
    },
    modelSources: {
      aws: awsEnvironmentFrom(environment.env),
      log: (line) => environment.logger.info(line),
      allowLinkLocal: config.allow_link_local_urls,
    },
    installPyDepPerModel: config.install_py_dep_per_model,
    maxWorkerRssMb: config.max_worker_rss_mb,
    threads: { cpuCount: environment.cpuCount, serverThreads: config.worker_threads },
    log: (line) => environment.logger.info(line),
    autoscale: {
      scaleUpAfterMs: config.autoscale_up_after_ms,
      scaleDownAfterMs: config.autoscale_down_after_sec * 1000,
      intervalMs: DEFAULT_AUTOSCALE.intervalMs,
    },
  };
}
