import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isMetricsLine, parseBackendMetric } from './backend-metric-line.js';

describe('backend metric lines', () => {
  it('parses a line printed by context.metrics with type and request id', () => {
    const m = parseBackendMetric('[METRICS]PredictionTime.Milliseconds:12.5|#ModelName:iris,Level:Model|#type:GAUGE|#hostname:box,1717105307,abc-1');
    assert.deepEqual(m, {
      name: 'PredictionTime',
      unit: 'Milliseconds',
      value: 12.5,
      dimensions: [
        ['ModelName', 'iris'],
        ['Level', 'Model'],
      ],
      type: 'gauge',
      hostname: 'box',
      requestIds: 'abc-1',
      labelText: 'ModelName:iris,Level:Model|box',
    });
  });

  it('parses a line without type or request id', () => {
    const m = parseBackendMetric('[METRICS]Errors.unit:1|#Level:Model|#hostname:box,1717105307');
    assert.equal(m?.type, null);
    assert.equal(m?.requestIds, null);
    assert.equal(m?.value, 1);
  });

  it('recognizes metrics lines and refuses malformed ones', () => {
    assert.equal(isMetricsLine('[METRICS]garbage'), true);
    assert.equal(isMetricsLine('INFO > [METRICS]x'), true);
    assert.equal(isMetricsLine('hello [METRICS]'), false);
    assert.equal(parseBackendMetric('[METRICS]garbage'), null);
    assert.equal(parseBackendMetric('plain output'), null);
  });
});
