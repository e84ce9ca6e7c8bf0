import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Job } from '../batching/job.js';
import { DEFAULT_METRICS_CONFIG, parseMetricsConfig } from './metrics-config.js';
import { ServerMetrics, type ServerMetricsOptions } from './server-metrics.js';

function setup(overrides: Partial<ServerMetricsOptions> = {}): { metrics: ServerMetrics; ts: string[]; model: string[]; log: string[]; tick(ms: number): void } {
  let now = 0;
  const ts: string[] = [];
  const model: string[] = [];
  const log: string[] = [];
  const metrics = new ServerMetrics({
    mode: 'prometheus',
    config: DEFAULT_METRICS_CONFIG,
    hostname: 'box',
    autoDetectModelMetrics: false,
    systemIntervalSec: null,
    lines: { frontend: (l) => ts.push(l), backend: (l) => model.push(l) },
    log: (m) => log.push(m),
    models: () => [{ modelName: 'm', modelVersion: '1.0', queueDepth: 3, queueCapacity: 100, workersReady: 2, workersBusy: 1 }],
    now: () => now,
    epochMs: () => 1_717_105_307_000,
    ...overrides,
  });
  return { metrics, ts, model, log, tick: (ms) => (now += ms) };
}

const job = (): Job => new Job({ requestId: 'r', headers: [], parameters: [] }, 'predict', 0, { reply: () => undefined, fail: () => undefined });
const sample = (text: string, line: string): boolean => text.split('\n').includes(line);

describe('server metrics', () => {
  it('counts requests and latencies the way TorchServe labels them', () => {
    const { metrics, tick } = setup();
    const a = job();
    const b = job();
    metrics.predictionReceived(a, 'm', '1.0', null);
    metrics.predictionReceived(b, 'm', '1.0', '1.0');
    tick(2);
    metrics.batchTaken('m', '1.0', [a, b]);
    tick(3);
    metrics.predictionAnswered(a, true);
    metrics.predictionAnswered(b, false);
    metrics.httpResponse(200);
    metrics.httpResponse(404);
    metrics.httpResponse(503);
    metrics.httpResponse(302);
    const text = metrics.render();
    assert.ok(sample(text, 'ts_inference_requests_total{model_name="m",model_version="default",hostname="box",} 1.0'));
    assert.ok(sample(text, 'ts_inference_requests_total{model_name="m",model_version="1.0",hostname="box",} 1.0'));
    assert.ok(sample(text, 'ts_inference_latency_microseconds{model_name="m",model_version="default",hostname="box",} 5000.0'));
    assert.ok(sample(text, 'ts_queue_latency_microseconds{model_name="m",model_version="default",hostname="box",} 2000.0'));
    assert.ok(!text.includes('ts_inference_latency_microseconds{model_name="m",model_version="1.0"'), 'failed requests add no latency');
    assert.ok(sample(text, 'QueueTime{Level="Host",Hostname="box",} 2.0'));
    assert.ok(sample(text, 'Requests2XX{Level="Host",Hostname="box",} 1.0'));
    assert.ok(sample(text, 'Requests4XX{Level="Host",Hostname="box",} 1.0'));
    assert.ok(sample(text, 'Requests5XX{Level="Host",Hostname="box",} 2.0'));
    assert.ok(sample(text, 'lantern_inference_request_duration_seconds_count{model_name="m",model_version="1.0",} 2.0'));
    assert.ok(sample(text, 'lantern_inference_errors_total{model_name="m",model_version="1.0",} 1.0'), 'the failed prediction is counted as an error');
    assert.ok(sample(text, 'lantern_batch_size_bucket{model_name="m",model_version="1.0",le="2.0",} 1.0'));
    assert.ok(sample(text, 'lantern_queue_wait_seconds_bucket{model_name="m",model_version="1.0",le="0.0025",} 2.0'));
    assert.ok(sample(text, 'lantern_queue_depth{model_name="m",model_version="1.0",} 3.0'));
    assert.ok(sample(text, 'lantern_workers_busy{model_name="m",model_version="1.0",} 1.0'));
  });

  it('records worker load time and restarts', () => {
    const { metrics } = setup();
    metrics.workerLoaded('m', '1.0', 9000, 1234);
    metrics.workerRestarting('m', '1.0');
    const text = metrics.render();
    assert.ok(sample(text, 'WorkerLoadTime{WorkerName="W-9000-m_1.0",Level="Host",Hostname="box",} 1234.0'));
    assert.ok(sample(text, 'lantern_worker_restarts_total{model_name="m",model_version="1.0",} 1.0'));
  });

  it('writes metric log lines and shows nothing on /metrics in log mode', () => {
    const { metrics, ts, model } = setup({ mode: 'log' });
    metrics.httpResponse(200);
    assert.equal(metrics.workerOutput('[METRICS]PredictionTime.Milliseconds:1.5|#ModelName:m,Level:Model|#type:GAUGE|#hostname:box,1717105300,req-1'), true);
    assert.equal(metrics.render(), '');
    assert.deepEqual(ts, ['Requests2XX.Count:1.0|#Level:Host|#hostname:box,timestamp:1717105307']);
    assert.deepEqual(model, ['PredictionTime.ms:1.5|#ModelName:m,Level:Model|#hostname:box,requestID:req-1,timestamp:1717105307']);
  });

  it('keeps only the three request counters on /metrics in legacy mode', () => {
    const { metrics, ts } = setup({ mode: 'legacy' });
    const a = job();
    metrics.predictionReceived(a, 'm', '1.0', null);
    metrics.httpResponse(200);
    const text = metrics.render();
    assert.ok(sample(text, 'ts_inference_requests_total{model_name="m",model_version="default",hostname="box",} 1.0'));
    assert.ok(!text.includes('Requests2XX'));
    assert.equal(ts.length, 1);
  });

  it('exposes handler metrics from the configuration, and others only with auto-detection', () => {
    const off = setup();
    off.metrics.workerOutput('[METRICS]PredictionTime.Milliseconds:7|#ModelName:m,Level:Model|#type:GAUGE|#hostname:box,1717105300,r');
    off.metrics.workerOutput('[METRICS]CustomCount.Count:2|#ModelName:m|#type:COUNTER|#hostname:box,1717105300');
    assert.ok(sample(off.metrics.render(), 'PredictionTime{ModelName="m",Level="Model",Hostname="box",} 7.0'));
    assert.ok(!off.metrics.render().includes('CustomCount'));
    const on = setup({ autoDetectModelMetrics: true });
    on.metrics.workerOutput('[METRICS]CustomCount.Count:2|#ModelName:m|#type:COUNTER|#hostname:box,1717105300');
    on.metrics.workerOutput('[METRICS]CustomCount.Count:3|#ModelName:m|#type:COUNTER|#hostname:box,1717105300');
    assert.ok(sample(on.metrics.render(), 'CustomCount{ModelName="m",Hostname="box",} 5.0'));
    assert.ok(sample(on.metrics.render(), '# HELP CustomCount Torchserve prometheus counter metric with unit: Count'));
  });

  it("honours a custom metrics_config: only the ts_metrics it lists, and its model_metrics of every type", () => {
    const config = parseMetricsConfig(`
dimensions:
  - &level "Level"
  - &hostname "Hostname"
ts_metrics:
  counter:
    - name: Requests2XX
      unit: Count
      dimensions: [*level, *hostname]
model_metrics:
  counter:
    - name: Calls
      unit: count
      dimensions: ["ModelName"]
  gauge:
    - name: BatchSize
      unit: count
      dimensions: []
  histogram:
    - name: Latency
      unit: ms
      dimensions: ["ModelName", *level]
`);
    const lines = [
      '[METRICS]Calls.Count:1|#ModelName:m|#type:COUNTER|#hostname:box,1717105300,r1',
      '[METRICS]Calls.Count:2|#ModelName:m|#type:COUNTER|#hostname:box,1717105300,r2',
      '[METRICS]BatchSize.Count:4|#|#type:GAUGE|#hostname:box,1717105300',
      '[METRICS]Latency.Milliseconds:12.5|#ModelName:m,Level:Model|#type:HISTOGRAM|#hostname:box,1717105300,r1',
    ];
    const prom = setup({ config });
    prom.metrics.httpResponse(200);
    prom.metrics.httpResponse(404);
    for (const line of lines) prom.metrics.workerOutput(line);
    const text = prom.metrics.render();
    assert.ok(sample(text, 'Requests2XX{Level="Host",Hostname="box",} 1.0'));
    assert.ok(!text.includes('Requests4XX') && !text.includes('ts_inference_requests_total'), 'unlisted front-end metrics are not recorded');
    assert.ok(sample(text, 'Calls{ModelName="m",Hostname="box",} 3.0'));
    assert.ok(sample(text, 'BatchSize{Hostname="box",} 4.0'));
    assert.ok(sample(text, '# TYPE Latency histogram'));
    assert.ok(sample(text, 'Latency_count{ModelName="m",Level="Model",Hostname="box",} 1.0'));
    assert.ok(sample(text, 'Latency_sum{ModelName="m",Level="Model",Hostname="box",} 12.5'));
    const log = setup({ config, mode: 'log' });
    for (const line of lines) log.metrics.workerOutput(line);
    assert.deepEqual(log.model, [
      'Calls.count:1.0|#ModelName:m|#hostname:box,requestID:r1,timestamp:1717105307',
      'Calls.count:2.0|#ModelName:m|#hostname:box,requestID:r2,timestamp:1717105307',
      'BatchSize.count:4.0|#|#hostname:box,timestamp:1717105307',
      'Latency.ms:12.5|#ModelName:m,Level:Model|#hostname:box,requestID:r1,timestamp:1717105307',
    ]);
  });

  it('logs a metric line it cannot parse or apply instead of throwing', () => {
    const { metrics, log } = setup();
    assert.equal(metrics.workerOutput('[METRICS]not a metric'), true);
    metrics.workerOutput('[METRICS]PredictionTime.Milliseconds:7|#ModelName:m|#type:GAUGE|#hostname:box,1717105300');
    assert.equal(log.length, 2);
    assert.match(log[0] ?? '', /Failed to parse metrics line/);
    assert.match(log[1] ?? '', /Incorrect number of labels/);
  });
});
