// Everything `/metrics` and the metrics logs report, fed by events: HTTP responses, predictions,
// batches and worker life from the domain's observer interfaces, `[METRICS]` lines from worker
// output, and a periodic reading of the host. Domain code never calls this directly; main.ts
// hands it to the services and pools as their `events`.
import type { Job } from '../batching/job.js';
import type { InferenceEvents } from '../services/inference-service.js';
import type { PoolEvents } from '../workers/worker-pool.js';
import { parseBackendMetric, isMetricsLine, type BackendMetric } from './backend-metric-line.js';
import { ConfiguredMetrics, type MetricLines, type MetricsMode } from './configured-metrics.js';
import { LanternMetrics, type ModelLoad } from './lantern-metrics.js';
import { MetricRegistry } from './metric-registry.js';
import type { MetricsConfig } from './metrics-config.js';
import { SystemMetricsReader } from './system-metrics.js';

export interface ServerMetricsOptions {
  readonly mode: MetricsMode;
  readonly config: MetricsConfig;
  readonly hostname: string;
  /** model_metrics_auto_detect: backend metrics missing from the configuration are added when first seen. */
  readonly autoDetectModelMetrics: boolean;
  /** Seconds between host readings; null when disable_system_metrics is set. */
  readonly systemIntervalSec: number | null;
  readonly lines: MetricLines;
  /** Server log (ts_log): parse failures and auto-detected metrics. */
  readonly log: (message: string) => void;
  /** The current queues and workers, for Lantern's gauges. */
  readonly models: () => readonly ModelLoad[];
  /** Monotonic milliseconds (fractions welcome); performance.now by default. */
  readonly now?: () => number;
  readonly epochMs?: () => number;
  readonly system?: SystemMetricsReader;
  /** Told each prediction's final answer (the console's charts, metrics/model-activity.ts). */
  readonly activity?: { answered(model: string, version: string, latencyMs: number, ok: boolean): void };
}

const MAX_BACKEND_LABEL_SETS = 1000;

interface PredictionTiming {
  readonly model: string;
  readonly version: string;
  /** The model, the version as requested or `default` (TorchServe's label), the host name: one array per label set. */
  readonly labels: readonly string[];
  readonly receivedMs: number;
  scheduledMs: number | null;
}

export class ServerMetrics implements InferenceEvents, PoolEvents {
  readonly registry = new MetricRegistry();
  private readonly configured: ConfiguredMetrics;
  /** Lantern's own families; only where `/metrics` shows anything (not in log mode). */
  private readonly lantern: LanternMetrics | null;
  private readonly predictions = new WeakMap<Job, PredictionTiming>();
  private readonly batchStarts = new WeakMap<readonly Job[], number>();
  private readonly host: readonly string[];
  /** The label arrays of the request metrics, by model and requested version (see PredictionTiming). */
  private readonly requestLabels = new Map<string, Map<string, readonly string[]>>();
  private readonly backendLabelSets = new Map<string, readonly string[]>();
  private readonly now: () => number;
  private readonly system: SystemMetricsReader;
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> = Promise.resolve();

  constructor(private readonly options: ServerMetricsOptions) {
    this.now = options.now ?? (() => performance.now());
    this.host = ['Host', options.hostname];
    this.system = options.system ?? new SystemMetricsReader();
    this.configured = new ConfiguredMetrics(options.config, {
      mode: options.mode,
      registry: this.registry,
      lines: options.lines,
      epochMs: options.epochMs ?? Date.now,
    });
    this.lantern = options.mode === 'log' ? null : new LanternMetrics(this.registry, options.models);
  }

  /** The `/metrics` body; `names` are the `name[]` query values. */
  render(names: readonly string[] = []): string {
    return this.registry.render(names);
  }

  /** Starts the periodic host readings (the first one at once). */
  start(): void {
    const interval = this.options.systemIntervalSec;
    if (interval === null || this.timer !== null) return;
    const collect = (): void => {
      this.reading = this.reading.then(() => this.collectSystem());
    };
    collect();
    this.timer = setInterval(collect, interval * 1000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.reading;
  }

  /** Every HTTP response on every listener: Requests2XX / 4XX / 5XX (anything else counts as 5XX). */
  httpResponse(status: number): void {
    const name = status >= 200 && status < 300 ? 'Requests2XX' : status >= 400 && status < 500 ? 'Requests4XX' : 'Requests5XX';
    this.guard(() => this.configured.frontend(name)?.record(this.host, 1));
  }

  predictionReceived(job: Job, modelName: string, modelVersion: string, requestedVersion: string | null): void {
    const labels = this.labelsOf(modelName, requestedVersion ?? 'default');
    this.predictions.set(job, { model: modelName, version: modelVersion, labels, receivedMs: this.now(), scheduledMs: null });
    this.guard(() => this.configured.frontend('ts_inference_requests_total')?.record(labels, 1));
  }

  /** The same array for the same labels, so that metric lines reuse their dimension text. */
  private labelsOf(model: string, versionLabel: string): readonly string[] {
    let byVersion = this.requestLabels.get(model);
    if (byVersion === undefined) {
      byVersion = new Map();
      this.requestLabels.set(model, byVersion);
    }
    let labels = byVersion.get(versionLabel);
    if (labels === undefined) {
      labels = [model, versionLabel, this.options.hostname];
      byVersion.set(versionLabel, labels);
    }
    return labels;
  }

  batchTaken(modelName: string, modelVersion: string, batch: readonly Job[]): void {
    const now = this.now();
    this.batchStarts.set(batch, now);
    // The waits feed Lantern's own histogram, which log mode does not keep.
    const waits: number[] | null = this.lantern === null ? null : [];
    for (const job of batch) {
      const timing = this.predictions.get(job);
      if (timing === undefined) continue;
      timing.scheduledMs = now;
      waits?.push((now - timing.receivedMs) / 1000);
    }
    const { lantern } = this;
    if (lantern !== null && waits !== null) this.guard(() => lantern.batchFormed(modelName, modelVersion, batch.length, waits));
  }

  /** The batch's frame is written: the frontend's share of the batch is over (WorkerThreadTime). */
  batchSent(_modelName: string, _modelVersion: string, batch: readonly Job[]): void {
    const start = this.batchStarts.get(batch);
    if (start === undefined) return;
    this.guard(() => this.configured.frontend('WorkerThreadTime')?.record(this.host, Math.floor(this.now() - start)));
  }

  predictionAnswered(job: Job, ok: boolean): void {
    const timing = this.predictions.get(job);
    if (timing === undefined) return;
    this.predictions.delete(job);
    const now = this.now();
    this.guard(() => this.lantern?.requestAnswered(timing.model, timing.version, (now - timing.receivedMs) / 1000, ok));
    this.guard(() => this.options.activity?.answered(timing.model, timing.version, now - timing.receivedMs, ok));
    if (!ok) return;
    // TorchServe counts latency only for requests answered with a result.
    const { labels } = timing;
    const queuedMs = (timing.scheduledMs ?? now) - timing.receivedMs;
    this.guard(() => {
      this.configured.frontend('ts_inference_latency_microseconds')?.record(labels, (now - timing.receivedMs) * 1000);
      this.configured.frontend('ts_queue_latency_microseconds')?.record(labels, queuedMs * 1000);
      this.configured.frontend('QueueTime')?.record(this.host, Math.floor(queuedMs));
    });
  }

  workerLoaded(modelName: string, modelVersion: string, workerId: number, loadMs: number): void {
    this.guard(() => this.configured.frontend('WorkerLoadTime')?.record([`W-${workerId}-${modelName}_${modelVersion}`, ...this.host], loadMs));
  }

  workerRestarting(modelName: string, modelVersion: string): void {
    this.guard(() => this.lantern?.workerRestarted(modelName, modelVersion));
  }

  /** Takes a worker output line; true when it was a `[METRICS]` line (consumed, not model log). */
  workerOutput(line: string): boolean {
    if (!isMetricsLine(line)) return false;
    const metric = parseBackendMetric(line);
    if (metric === null) {
      this.options.log(`Failed to parse metrics line: "${line}"`);
      return true;
    }
    this.guard(() => {
      let recorder = this.configured.backend(metric.name);
      if (recorder === undefined) {
        if (!this.options.autoDetectModelMetrics) return;
        this.options.log(`Registering auto detected backend metric: ${metric.name}`);
        recorder = this.configured.addBackend({
          name: metric.name,
          type: metric.type ?? 'counter',
          unit: metric.unit,
          dimensions: [...metric.dimensions.map(([name]) => name), 'Hostname'],
        });
      }
      recorder.record(this.backendLabels(metric), metric.value, metric.requestIds);
    });
    return true;
  }

  /** A backend metric's label values (its dimensions, then the host), one array per label set. */
  private backendLabels(metric: BackendMetric): readonly string[] {
    let labels = this.backendLabelSets.get(metric.labelText);
    if (labels === undefined) {
      // Handlers choose their dimension values: keep a bounded number of label sets.
      if (this.backendLabelSets.size >= MAX_BACKEND_LABEL_SETS) this.backendLabelSets.clear();
      labels = [...metric.dimensions.map(([, value]) => value), metric.hostname];
      this.backendLabelSets.set(metric.labelText, labels);
    }
    return labels;
  }

  private async collectSystem(): Promise<void> {
    try {
      for (const sample of await this.system.read()) this.configured.frontend(sample.name)?.record(this.host, sample.value);
    } catch (err) {
      this.options.log(`Failed to read system metrics: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** A metric that cannot be updated (a handler's metric with the wrong labels) is logged, never thrown at the caller. */
  private guard(update: () => void): void {
    try {
      update();
    } catch (err) {
      this.options.log(`Failed to update a metric: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
