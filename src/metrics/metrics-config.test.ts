import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseMetricsConfig } from './metrics-config.js';

describe('metrics configuration', () => {
  it('reads TorchServe-style YAML with anchors', () => {
    const config = parseMetricsConfig(`
dimensions:
  - &level "Level"
  - &hostname "Hostname"
ts_metrics:
  counter:
    - name: Requests2XX
      unit: Count
      dimensions: [*level, *hostname]
  histogram:
    - name: ts_inference_latency_histogram
      unit: Microseconds
      dimensions: ["model_name", "hostname"]
model_metrics:
  gauge:
    - name: HandlerTime
      unit: ms
      dimensions: ["ModelName", *level]
`);
    assert.deepEqual(config.frontend, [
      { name: 'Requests2XX', type: 'counter', unit: 'Count', dimensions: ['Level', 'Hostname'] },
      { name: 'ts_inference_latency_histogram', type: 'histogram', unit: 'Microseconds', dimensions: ['model_name', 'hostname'] },
    ]);
    assert.deepEqual(config.backend, [{ name: 'HandlerTime', type: 'gauge', unit: 'ms', dimensions: ['ModelName', 'Level'] }]);
  });

  it('says what is wrong with a bad file', () => {
    assert.throws(() => parseMetricsConfig('ts_metrics:\n  summary: []\n'), /ts_metrics.summary is not one of counter, gauge, histogram/);
    assert.throws(() => parseMetricsConfig('ts_metrics:\n  counter:\n    - unit: Count\n'), /ts_metrics.counter\[0\].name/);
    assert.throws(() => parseMetricsConfig('- a\n'), /must be a mapping/);
  });
});
