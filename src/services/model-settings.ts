// Per-model settings, computed once with TorchServe's precedence between the registration
// request, the archive's model-config.yaml and the `models` JSON of config.properties (§1.2).

export interface RequestedSettings {
  readonly batchSize: number | null;
  readonly maxBatchDelayMs: number | null;
  readonly responseTimeoutSec: number | null;
  readonly startupTimeoutSec: number | null;
  readonly initialWorkers: number;
  /** A model loaded at start: the `models` JSON's minWorkers/maxWorkers apply (spec §5.4). */
  readonly atStartup?: boolean;
}

/** The model-config.yaml keys the front end reads (already clamped by the archive parser). */
export interface YamlSettings {
  readonly minWorkers?: number;
  readonly maxWorkers?: number;
  readonly batchSize?: number;
  readonly maxBatchDelay?: number;
  readonly responseTimeout?: number;
  readonly startupTimeout?: number;
  readonly jobQueueSize?: number;
  readonly maxRetryTimeoutInSec?: number;
  readonly clientTimeoutInMills?: number;
}

/** One version's entry in config.properties' `models` JSON. */
export interface ConfiguredSettings {
  readonly minWorkers?: number;
  readonly maxWorkers?: number;
  readonly batchSize?: number;
  readonly maxBatchDelay?: number;
  readonly responseTimeout?: number;
  readonly startupTimeout?: number;
}

export interface ServerDefaults {
  readonly responseTimeoutSec: number;
  readonly startupTimeoutSec: number;
  readonly jobQueueSize: number;
}

export interface ModelSettings {
  readonly batchSize: number;
  readonly maxBatchDelayMs: number;
  readonly responseTimeoutSec: number;
  readonly startupTimeoutSec: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly jobQueueSize: number;
  readonly maxRetryTimeoutSec: number;
  readonly clientTimeoutMs: number;
}

const positive = (v: number | undefined): number | undefined => (v !== undefined && v > 0 ? v : undefined);

export function resolveModelSettings(
  requested: RequestedSettings,
  yaml: YamlSettings | null,
  configured: ConfiguredSettings | undefined,
  defaults: ServerDefaults,
): ModelSettings {
  const batchSize = requested.batchSize ?? positive(yaml?.batchSize) ?? positive(configured?.batchSize) ?? 1;
  const maxBatchDelayMs =
    requested.maxBatchDelayMs ?? positive(yaml?.maxBatchDelay) ?? positive(configured?.maxBatchDelay) ?? 100;
  // The yaml wins over the request for timeouts whenever the archive has a config file (its
  // defaults are 120 s), as TorchServe does.
  const responseTimeoutSec =
    yaml !== null
      ? (positive(yaml.responseTimeout) ?? 120)
      : (positive(configured?.responseTimeout) ?? requested.responseTimeoutSec ?? defaults.responseTimeoutSec);
  const startupTimeoutSec =
    yaml !== null
      ? (positive(yaml.startupTimeout) ?? 120)
      : (positive(configured?.startupTimeout) ?? requested.startupTimeoutSec ?? defaults.startupTimeoutSec);
  const yamlMin = positive(yaml?.minWorkers);
  const yamlMax = yaml?.maxWorkers;
  const useYamlWorkers = yamlMin !== undefined && yamlMax !== undefined && yamlMax >= yamlMin;
  // config.properties' `models` JSON sets the workers of a model loaded at start (spec §5.4); a
  // valid yaml range wins.
  const configuredMin = requested.atStartup === true ? positive(configured?.minWorkers) : undefined;
  const configuredMax = requested.atStartup === true ? positive(configured?.maxWorkers) : undefined;
  const minWorkers = useYamlWorkers ? yamlMin : (configuredMin ?? requested.initialWorkers);
  const maxWorkers = useYamlWorkers ? yamlMax : Math.max(minWorkers, configuredMax ?? minWorkers);
  return Object.freeze({
    batchSize,
    maxBatchDelayMs,
    responseTimeoutSec,
    startupTimeoutSec,
    minWorkers,
    maxWorkers,
    jobQueueSize: positive(yaml?.jobQueueSize) ?? defaults.jobQueueSize,
    maxRetryTimeoutSec: yaml?.maxRetryTimeoutInSec ?? 300,
    clientTimeoutMs: yaml?.clientTimeoutInMills ?? 0,
  });
}
