// Lantern's own metrics, beyond TorchServe's, named `lantern_*` so nothing collides: latency and
// queue wait as real histograms, batch sizes, queue depth and worker gauges to autoscale on, and
// worker restarts. They follow Prometheus' naming rules (base units, `_total` counters).
import { CounterFamily, HistogramFamily, ObservedGaugeFamily } from './metric-families.js';
import type { MetricRegistry } from './metric-registry.js';

/** What the gauges read at scrape time, per model version. */
export interface ModelLoad {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly queueDepth: number;
  readonly queueCapacity: number;
  readonly workersReady: number;
  readonly workersBusy: number;
}

export const LATENCY_BUCKETS_SEC = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
export const QUEUE_WAIT_BUCKETS_SEC = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

const MODEL = ['model_name', 'model_version'] as const;

export class LanternMetrics {
  private readonly latency: HistogramFamily;
  private readonly queueWait: HistogramFamily;
  private readonly batchSize: HistogramFamily;
  private readonly restarts: CounterFamily;
  private readonly errors: CounterFamily;

  constructor(registry: MetricRegistry, models: () => readonly ModelLoad[]) {
    this.latency = registry.register(
      new HistogramFamily('lantern_inference_request_duration_seconds', 'Time from a prediction request entering the queue to its final answer (result or error).', MODEL, LATENCY_BUCKETS_SEC),
    );
    this.queueWait = registry.register(
      new HistogramFamily('lantern_queue_wait_seconds', 'Time a prediction request waited in its model queue before joining a batch.', MODEL, QUEUE_WAIT_BUCKETS_SEC),
    );
    this.batchSize = registry.register(new HistogramFamily('lantern_batch_size', 'Number of requests in each batch sent to a worker.', MODEL, BATCH_SIZE_BUCKETS));
    this.errors = registry.register(
      new CounterFamily('lantern_inference_errors_total', 'Prediction requests answered with an error after they were queued (worker error, timeout, worker died).', MODEL),
    );
    this.restarts = registry.register(new CounterFamily('lantern_worker_restarts_total', 'Worker processes restarted after a crash, timeout or failed load.', MODEL));
    const gauge = (name: string, help: string, pick: (m: ModelLoad) => number): void => {
      registry.register(new ObservedGaugeFamily(name, help, MODEL, () => models().map((m) => [[m.modelName, m.modelVersion], pick(m)] as const)));
    };
    gauge('lantern_queue_depth', 'Prediction requests waiting in the model queue now.', (m) => m.queueDepth);
    gauge('lantern_queue_capacity', 'Size of the model queue (job_queue_size).', (m) => m.queueCapacity);
    gauge('lantern_workers_ready', 'Workers that have loaded the model and take requests (idle or busy).', (m) => m.workersReady);
    gauge('lantern_workers_busy', 'Workers running a batch now.', (m) => m.workersBusy);
  }

  requestAnswered(model: string, version: string, seconds: number, ok: boolean): void {
    this.latency.observe([model, version], seconds);
    if (!ok) this.errors.inc([model, version]);
  }

  batchFormed(model: string, version: string, size: number, waitsSec: readonly number[]): void {
    this.batchSize.observe([model, version], size);
    for (const wait of waitsSec) this.queueWait.observe([model, version], wait);
  }

  workerRestarted(model: string, version: string): void {
    this.restarts.inc([model, version]);
  }
}
