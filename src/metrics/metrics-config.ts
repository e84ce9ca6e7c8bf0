// The metrics configuration: which frontend (`ts_metrics`) and backend (`model_metrics`) metrics
// exist, with their type, unit and dimension names. Same YAML shape as TorchServe's
// `metrics_config` file; the default below lists the same metrics as TorchServe's default file.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { yamlLibrary } from '../config/yaml-library.js';
import type { MetricType } from './prometheus-text.js';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly unit: string;
  readonly dimensions: readonly string[];
}

export interface MetricsConfig {
  /** `ts_metrics`: recorded by the server itself. */
  readonly frontend: readonly MetricSpec[];
  /** `model_metrics`: reported by handlers on `[METRICS]` lines. */
  readonly backend: readonly MetricSpec[];
}

const HOST = ['Level', 'Hostname'] as const;
const PER_MODEL = ['model_name', 'model_version', 'hostname'] as const;
const spec = (name: string, type: MetricType, unit: string, dimensions: readonly string[]): MetricSpec => ({ name, type, unit, dimensions });

export const DEFAULT_METRICS_CONFIG: MetricsConfig = {
  frontend: [
    spec('Requests2XX', 'counter', 'Count', HOST),
    spec('Requests4XX', 'counter', 'Count', HOST),
    spec('Requests5XX', 'counter', 'Count', HOST),
    spec('ts_inference_requests_total', 'counter', 'Count', PER_MODEL),
    spec('ts_inference_latency_microseconds', 'counter', 'Microseconds', PER_MODEL),
    spec('ts_queue_latency_microseconds', 'counter', 'Microseconds', PER_MODEL),
    spec('QueueTime', 'gauge', 'Milliseconds', HOST),
    spec('WorkerThreadTime', 'gauge', 'Milliseconds', HOST),
    spec('WorkerLoadTime', 'gauge', 'Milliseconds', ['WorkerName', ...HOST]),
    spec('CPUUtilization', 'gauge', 'Percent', HOST),
    spec('MemoryUsed', 'gauge', 'Megabytes', HOST),
    spec('MemoryAvailable', 'gauge', 'Megabytes', HOST),
    spec('MemoryUtilization', 'gauge', 'Percent', HOST),
    spec('DiskUsage', 'gauge', 'Gigabytes', HOST),
    spec('DiskUtilization', 'gauge', 'Percent', HOST),
    spec('DiskAvailable', 'gauge', 'Gigabytes', HOST),
    spec('GPUMemoryUtilization', 'gauge', 'Percent', ['Level', 'DeviceId', 'Hostname']),
    spec('GPUMemoryUsed', 'gauge', 'Megabytes', ['Level', 'DeviceId', 'Hostname']),
    spec('GPUUtilization', 'gauge', 'Percent', ['Level', 'DeviceId', 'Hostname']),
  ],
  backend: [spec('HandlerTime', 'gauge', 'ms', ['ModelName', 'Level']), spec('PredictionTime', 'gauge', 'ms', ['ModelName', 'Level'])],
};

const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram'];

function section(value: unknown, where: string): MetricSpec[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where} must map counter/gauge/histogram to lists`);
  const out: MetricSpec[] = [];
  for (const [type, list] of Object.entries(value as Record<string, unknown>)) {
    if (!TYPES.includes(type as MetricType)) throw new Error(`${where}.${type} is not one of counter, gauge, histogram`);
    if (list === null) continue;
    if (!Array.isArray(list)) throw new Error(`${where}.${type} must be a list`);
    list.forEach((item: unknown, i) => {
      const at = `${where}.${type}[${i}]`;
      if (typeof item !== 'object' || item === null) throw new Error(`${at} must be a mapping`);
      const { name, unit, dimensions } = item as Record<string, unknown>;
      if (typeof name !== 'string' || name === '') throw new Error(`${at}.name must be a string`);
      const dims = dimensions ?? [];
      if (!Array.isArray(dims) || !dims.every((d): d is string => typeof d === 'string')) {
        throw new Error(`${at}.dimensions must be a list of strings`);
      }
      out.push(spec(name, type as MetricType, unit === undefined || unit === null ? '' : String(unit), dims));
    });
  }
  return out;
}

/** Parses a metrics YAML (`dimensions`, `ts_metrics`, `model_metrics`); throws with the reason. */
export function parseMetricsConfig(text: string): MetricsConfig {
  const doc: unknown = yamlLibrary().parse(text);
  if (doc === null || doc === undefined) return { frontend: [], backend: [] };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error('the metrics configuration must be a mapping');
  const { ts_metrics: frontend, model_metrics: backend } = doc as Record<string, unknown>;
  return { frontend: section(frontend, 'ts_metrics'), backend: section(backend, 'model_metrics') };
}

/** The file named by `metrics_config` (relative to `cwd`), or the default when null. */
export async function readMetricsConfig(file: string | null, cwd: string): Promise<MetricsConfig> {
  if (file === null) return DEFAULT_METRICS_CONFIG;
  const full = path.resolve(cwd, file);
  try {
    return parseMetricsConfig(await readFile(full, 'utf8'));
  } catch (err) {
    throw new Error(`Cannot load metrics_config ${full}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
