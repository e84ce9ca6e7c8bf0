// model-config.yaml (spec §5.5): the frontend keys, typed and clamped; everything else is passed on raw.
import { yamlLibrary } from '../config/yaml-library.js';

export type DeviceType = 'cpu' | 'gpu';

/** Zero means "not set" for minWorkers, maxWorkers, batchSize, maxBatchDelay and jobQueueSize. */
export interface ModelYamlConfig {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly batchSize: number;
  readonly maxBatchDelay: number;
  readonly responseTimeout: number;
  readonly startupTimeout: number;
  readonly jobQueueSize: number;
  readonly maxRetryTimeoutInSec: number;
  readonly clientTimeoutInMills: number;
  readonly useJobTicket: boolean;
  readonly continuousBatching: boolean;
  readonly deviceType: DeviceType | null;
  /** The whole file as parsed (handlers see it as context.model_yaml_config). Deeply frozen. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface ParsedModelConfig {
  /** null when the text is not YAML or not a mapping; the model is then treated as having no config. */
  readonly config: ModelYamlConfig | null;
  readonly warnings: readonly string[];
}

export const MODEL_CONFIG_DEFAULTS: Omit<ModelYamlConfig, 'raw'> = Object.freeze({
  minWorkers: 0,
  maxWorkers: 0,
  batchSize: 0,
  maxBatchDelay: 0,
  responseTimeout: 120,
  startupTimeout: 120,
  jobQueueSize: 0,
  maxRetryTimeoutInSec: 300,
  clientTimeoutInMills: 0,
  useJobTicket: false,
  continuousBatching: false,
  deviceType: null,
});

const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Settings = Mutable<Omit<ModelYamlConfig, 'raw'>>;

/** One rule per frontend key: check the type, then clamp or refuse the value (a string is a warning). */
type Rule = (value: unknown, settings: Settings) => string | null;

const RULES: Readonly<Record<string, Rule>> = {
  minWorkers: int32((v, s) => { s.minWorkers = Math.max(1, v); }),
  maxWorkers: int32((v, s) => (v < 0 ? 'must not be negative' : void (s.maxWorkers = v))),
  batchSize: int32((v, s) => { s.batchSize = Math.max(1, v); }),
  maxBatchDelay: int32((v, s) => (v < 0 ? 'must not be negative' : void (s.maxBatchDelay = v))),
  responseTimeout: int32((v, s) => (v <= 0 ? 'must be positive' : void (s.responseTimeout = v))),
  startupTimeout: int32((v, s) => (v <= 0 ? 'must be positive' : void (s.startupTimeout = v))),
  jobQueueSize: int32((v, s) => (v <= 0 ? 'must be positive' : void (s.jobQueueSize = v))),
  maxRetryTimeoutInSec: int32((v, s) => (v < 0 ? 'must not be negative' : void (s.maxRetryTimeoutInSec = v))),
  clientTimeoutInMills: (value, s) => {
    if (!Number.isSafeInteger(value)) return 'must be an integer';
    if ((value as number) < 0) return 'must not be negative';
    s.clientTimeoutInMills = value as number;
    return null;
  },
  useJobTicket: bool((v, s) => { s.useJobTicket = v; }),
  continuousBatching: bool((v, s) => { s.continuousBatching = v; }),
  deviceType: (value, s) => {
    const lower = typeof value === 'string' ? value.toLowerCase() : null;
    if (lower !== 'cpu' && lower !== 'gpu') return 'must be "cpu" or "gpu"';
    s.deviceType = lower;
    return null;
  },
};

/**
 * Parses model-config.yaml text with YAML 1.1 rules (as the Java and Python sides read it).
 * Wrong types or out-of-range values of frontend keys are ignored with a warning; they never fail a model.
 */
export function parseModelConfig(text: string, source = 'model-config.yaml'): ParsedModelConfig {
  const warnings: string[] = [];
  const raw = parseYamlMapping(text, source, warnings);
  if (raw === null) return Object.freeze({ config: null, warnings: Object.freeze(warnings) });

  const settings: Settings = { ...MODEL_CONFIG_DEFAULTS };
  for (const [key, rule] of Object.entries(RULES)) {
    if (!(key in raw) || raw[key] === null) continue;
    const problem = rule(raw[key], settings);
    if (problem !== null) warnings.push(`${source}: ignoring ${key}=${JSON.stringify(raw[key])}: ${problem}`);
  }
  const config: ModelYamlConfig = Object.freeze({ ...settings, raw: deepFreeze(raw) });
  return Object.freeze({ config, warnings: Object.freeze(warnings) });
}

function parseYamlMapping(text: string, source: string, warnings: string[]): Record<string, unknown> | null {
  let value: unknown;
  try {
    const doc = yamlLibrary().parseDocument(text, {
      version: '1.1',
      logLevel: 'silent',
      prettyErrors: false,
      // SnakeYAML and PyYAML both accept repeated keys (the last one wins).
      uniqueKeys: false,
    });
    if (doc.errors.length > 0) {
      warnings.push(`${source}: not valid YAML, ignoring it: ${doc.errors[0]?.message ?? 'parse error'}`);
      return null;
    }
    for (const w of doc.warnings) warnings.push(`${source}: ${w.message}`);
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    warnings.push(`${source}: not valid YAML, ignoring it: ${(err as Error).message}`);
    return null;
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    warnings.push(`${source}: top level is not a mapping, ignoring it`);
    return null;
  }
  return value as Record<string, unknown>;
}

function int32(apply: (value: number, settings: Settings) => string | void): Rule {
  return (value, settings) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value > INT32_MAX || value < INT32_MIN) {
      return 'must be an integer';
    }
    return apply(value, settings) ?? null;
  };
}

function bool(apply: (value: boolean, settings: Settings) => void): Rule {
  return (value, settings) => {
    if (typeof value !== 'boolean') return 'must be a boolean';
    apply(value, settings);
    return null;
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
