// The metrics named by the metrics configuration, each built for the metrics mode: a Prometheus
// family on `/metrics` (prometheus mode; legacy mode for three request counters), or a line in
// ts_metrics.log / model_metrics.log (log mode, legacy mode for the rest).
import { CounterFamily, GaugeFamily, HistogramFamily } from './metric-families.js';
import type { MetricRegistry } from './metric-registry.js';
import type { MetricSpec, MetricsConfig } from './metrics-config.js';
import { formatDouble, type MetricType } from './prometheus-text.js';

export type MetricsMode = 'log' | 'prometheus' | 'legacy';

/** Where log-mode metric lines go: frontend → ts_metrics.log, backend → model_metrics.log. */
export interface MetricLines {
  frontend(line: string): void;
  backend(line: string): void;
}

export interface Recorder {
  /**
   * `values` follow the spec's dimension names; the last one is the host name. Pass the same array
   * for the same values: a log line's dimension text is made once per array.
   */
  record(values: readonly string[], value: number, requestIds?: string | null): void;
}

const LEGACY_PROMETHEUS = new Set(['ts_inference_requests_total', 'ts_inference_latency_microseconds', 'ts_queue_latency_microseconds']);

function prometheusRecorder(spec: MetricSpec, type: MetricType, registry: MetricRegistry): Recorder {
  const help = `Torchserve prometheus ${type} metric with unit: ${spec.unit}`;
  switch (type) {
    case 'counter': {
      const family = registry.register(new CounterFamily(spec.name, help, spec.dimensions));
      return { record: (values, value) => family.inc(values, value) };
    }
    case 'gauge': {
      const family = registry.register(new GaugeFamily(spec.name, help, spec.dimensions));
      return { record: (values, value) => family.set(values, value) };
    }
    case 'histogram': {
      const family = registry.register(new HistogramFamily(spec.name, help, spec.dimensions));
      return { record: (values, value) => family.observe(values, value) };
    }
  }
}

/** `|#<Dim>:<v>,...|#hostname:<host>`: the part of a metric log line that its dimension values fix. */
function dimensionText(spec: MetricSpec, values: readonly string[]): string {
  const dimensions: string[] = [];
  const named = Math.min(spec.dimensions.length, values.length) - 1;
  for (let i = 0; i < named; i++) dimensions.push(`${spec.dimensions[i] ?? ''}:${values[i] ?? ''}`);
  return `|#${dimensions.join(',')}|#hostname:${values[values.length - 1] ?? ''}`;
}

const requestIdText = (requestIds: string | null): string => (requestIds !== null && requestIds !== '' ? `,requestID:${requestIds}` : '');

/** Backend metrics carry the worker's host name as a last dimension, configured or not. */
const withHostname = (spec: MetricSpec): MetricSpec =>
  spec.dimensions[spec.dimensions.length - 1] === 'Hostname' ? spec : { ...spec, dimensions: [...spec.dimensions, 'Hostname'] };

export interface ConfiguredMetricsOptions {
  readonly mode: MetricsMode;
  readonly registry: MetricRegistry;
  readonly lines: MetricLines;
  readonly epochMs: () => number;
}

export class ConfiguredMetrics {
  private readonly frontendMetrics = new Map<string, Recorder>();
  private readonly backendMetrics = new Map<string, Recorder>();

  /** Throws when a configured name cannot be exposed (bad characters, a name used twice). */
  constructor(
    config: MetricsConfig,
    private readonly options: ConfiguredMetricsOptions,
  ) {
    for (const spec of config.frontend) this.frontendMetrics.set(spec.name, this.build(spec, 'frontend'));
    for (const spec of config.backend) this.backendMetrics.set(spec.name, this.build(withHostname(spec), 'backend'));
  }

  frontend(name: string): Recorder | undefined {
    return this.frontendMetrics.get(name);
  }

  backend(name: string): Recorder | undefined {
    return this.backendMetrics.get(name);
  }

  /** Registers a backend metric first seen on a `[METRICS]` line (model_metrics_auto_detect). */
  addBackend(spec: MetricSpec): Recorder {
    const existing = this.backendMetrics.get(spec.name);
    if (existing !== undefined) return existing;
    const recorder = this.build(spec, 'backend');
    this.backendMetrics.set(spec.name, recorder);
    return recorder;
  }

  private build(spec: MetricSpec, side: 'frontend' | 'backend'): Recorder {
    const { mode, registry, lines, epochMs } = this.options;
    if (mode === 'prometheus') return prometheusRecorder(spec, spec.type, registry);
    if (mode === 'legacy' && LEGACY_PROMETHEUS.has(spec.name)) return prometheusRecorder(spec, 'counter', registry);
    const write = side === 'frontend' ? (line: string) => lines.frontend(line) : (line: string) => lines.backend(line);
    // `<Name>.<Unit>:<value>|#<Dim>:<v>,...|#hostname:<host>[,requestID:<ids>],timestamp:<epoch s>`,
    // its fixed parts made once: a line is written for every request.
    const head = `${spec.name}.${spec.unit}:`;
    const fixed = new WeakMap<readonly string[], string>();
    return {
      record: (values, value, requestIds) => {
        let dimensions = fixed.get(values);
        if (dimensions === undefined) {
          dimensions = dimensionText(spec, values);
          fixed.set(values, dimensions);
        }
        write(`${head}${formatDouble(value)}${dimensions}${requestIdText(requestIds ?? null)},timestamp:${Math.floor(epochMs() / 1000)}`);
      },
    };
  }
}
