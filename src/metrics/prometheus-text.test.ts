import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDouble } from './prometheus-text.js';
import { CounterFamily, GaugeFamily, HistogramFamily } from './metric-families.js';
import { MetricRegistry } from './metric-registry.js';

describe('Prometheus text', () => {
  it('prints numbers as Java prints doubles', () => {
    assert.equal(formatDouble(1), '1.0');
    assert.equal(formatDouble(0), '0.0');
    assert.equal(formatDouble(0.005), '0.005');
    assert.equal(formatDouble(2.5), '2.5');
    assert.equal(formatDouble(123456.75), '123456.75');
    assert.equal(formatDouble(1e7), '1.0E7');
    assert.equal(formatDouble(12345678.5), '1.23456785E7');
    assert.equal(formatDouble(0.00015), '1.5E-4');
    assert.equal(formatDouble(Infinity), '+Inf');
    assert.equal(formatDouble(Number.NaN), 'NaN');
  });

  it('writes HELP and TYPE for every family, with label sets closed by a trailing comma', () => {
    const registry = new MetricRegistry();
    const counter = registry.register(new CounterFamily('Requests2XX', 'Torchserve prometheus counter metric with unit: Count', ['Level', 'Hostname']));
    registry.register(new GaugeFamily('GPUUtilization', 'Torchserve prometheus gauge metric with unit: Percent', ['Level', 'DeviceId', 'Hostname']));
    counter.inc(['Host', 'box']);
    counter.inc(['Host', 'box'], 2);
    assert.equal(
      registry.render(),
      [
        '# HELP Requests2XX Torchserve prometheus counter metric with unit: Count',
        '# TYPE Requests2XX counter',
        'Requests2XX{Level="Host",Hostname="box",} 3.0',
        '# HELP GPUUtilization Torchserve prometheus gauge metric with unit: Percent',
        '# TYPE GPUUtilization gauge',
        '',
      ].join('\n'),
    );
  });

  it('writes cumulative histogram buckets, then count and sum', () => {
    const registry = new MetricRegistry();
    const h = registry.register(new HistogramFamily('lantern_x_seconds', 'x', ['model_name'], [0.1, 1]));
    for (const v of [0.05, 0.5, 0.7, 3]) h.observe(['m'], v);
    assert.equal(
      registry.render(),
      [
        '# HELP lantern_x_seconds x',
        '# TYPE lantern_x_seconds histogram',
        'lantern_x_seconds_bucket{model_name="m",le="0.1",} 1.0',
        'lantern_x_seconds_bucket{model_name="m",le="1.0",} 3.0',
        'lantern_x_seconds_bucket{model_name="m",le="+Inf",} 4.0',
        'lantern_x_seconds_count{model_name="m",} 4.0',
        'lantern_x_seconds_sum{model_name="m",} 4.25',
        '',
      ].join('\n'),
    );
  });

  it('filters by sample name and leaves out families without matching samples', () => {
    const registry = new MetricRegistry();
    registry.register(new CounterFamily('a', 'a', [])).inc([]);
    registry.register(new CounterFamily('b', 'b', [])).inc([], 2);
    registry.register(new GaugeFamily('c', 'c', []));
    assert.equal(registry.render(['b', 'c']), '# HELP b b\n# TYPE b counter\nb 2.0\n');
    assert.equal(registry.render(['nothing']), '');
  });

  it('escapes label values and refuses names a scraper could not read', () => {
    const registry = new MetricRegistry();
    registry.register(new GaugeFamily('g', 'g', ['l'])).set(['a"b\\c\nd'], 1);
    assert.match(registry.render(), /g\{l="a\\"b\\\\c\\nd",\} 1\.0/);
    assert.throws(() => new GaugeFamily('bad-name', 'x', []), /Invalid metric name/);
    assert.throws(() => new GaugeFamily('ok', 'x', ['bad label']), /Invalid metric label name/);
    assert.throws(() => registry.register(new GaugeFamily('g', 'again', [])), /already registered/);
  });

  it('refuses a label-value count that does not match the label names', () => {
    const counter = new CounterFamily('c', 'c', ['a', 'b']);
    assert.throws(() => counter.inc(['only one']), /Incorrect number of labels/);
  });
});
