import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL_CONFIG_DEFAULTS, parseModelConfig } from './model-config.js';

describe('parseModelConfig', () => {
  it('reads the frontend keys and keeps the whole file as raw', () => {
    const { config, warnings } = parseModelConfig([
      'minWorkers: 2',
      'maxWorkers: 4',
      'batchSize: 8',
      'maxBatchDelay: 50',
      'responseTimeout: 300',
      'startupTimeout: 600',
      'jobQueueSize: 1000',
      'maxRetryTimeoutInSec: 60',
      'clientTimeoutInMills: 5000',
      'useJobTicket: true',
      'continuousBatching: true',
      'deviceType: GPU',
      'handler:',
      '  threshold: 0.5',
    ].join('\n'));
    assert.deepEqual(warnings, []);
    assert.ok(config !== null);
    assert.deepEqual({ ...config, raw: undefined }, {
      minWorkers: 2, maxWorkers: 4, batchSize: 8, maxBatchDelay: 50, responseTimeout: 300, startupTimeout: 600,
      jobQueueSize: 1000, maxRetryTimeoutInSec: 60, clientTimeoutInMills: 5000, useJobTicket: true,
      continuousBatching: true, deviceType: 'gpu', raw: undefined,
    });
    assert.deepEqual(config.raw['handler'], { threshold: 0.5 });
  });

  it('uses the defaults for an empty file', () => {
    const { config, warnings } = parseModelConfig('');
    assert.deepEqual(warnings, []);
    assert.deepEqual({ ...config, raw: undefined }, { ...MODEL_CONFIG_DEFAULTS, raw: undefined });
    assert.equal(config?.responseTimeout, 120);
    assert.equal(config?.maxRetryTimeoutInSec, 300);
    assert.equal(config?.clientTimeoutInMills, 0);
  });

  it('clamps minWorkers and batchSize to at least 1', () => {
    const { config, warnings } = parseModelConfig('minWorkers: 0\nbatchSize: -5');
    assert.equal(config?.minWorkers, 1);
    assert.equal(config?.batchSize, 1);
    assert.deepEqual(warnings, []);
  });

  it('ignores negative maxWorkers and maxBatchDelay and non-positive timeouts, with warnings', () => {
    const { config, warnings } = parseModelConfig(
      'maxWorkers: -1\nmaxBatchDelay: -3\nresponseTimeout: 0\nstartupTimeout: -1\njobQueueSize: 0',
    );
    assert.equal(config?.maxWorkers, 0);
    assert.equal(config?.maxBatchDelay, 0);
    assert.equal(config?.responseTimeout, 120);
    assert.equal(config?.startupTimeout, 120);
    assert.equal(config?.jobQueueSize, 0);
    assert.equal(warnings.length, 5);
    assert.match(warnings[0] ?? '', /maxWorkers/);
  });

  it('ignores values of the wrong type', () => {
    const { config, warnings } = parseModelConfig(
      'minWorkers: "2"\nbatchSize: 1.5\nuseJobTicket: 1\ndeviceType: tpu\nmaxBatchDelay: [1]\nresponseTimeout: 99999999999',
    );
    assert.equal(config?.minWorkers, 0);
    assert.equal(config?.batchSize, 0);
    assert.equal(config?.useJobTicket, false);
    assert.equal(config?.deviceType, null);
    assert.equal(config?.maxBatchDelay, 0);
    assert.equal(config?.responseTimeout, 120);
    assert.equal(warnings.length, 6);
  });

  it('reads YAML 1.1 booleans and repeated keys as the Java and Python sides do', () => {
    assert.equal(parseModelConfig('useJobTicket: yes').config?.useJobTicket, true);
    assert.equal(parseModelConfig('batchSize: 2\nbatchSize: 3').config?.batchSize, 3);
  });

  it('answers null with a warning for text that is not YAML or not a mapping', () => {
    for (const text of ['minWorkers: [1, 2', '- a\n- b', 'just a string', 'a: [1\nb: 2']) {
      const { config, warnings } = parseModelConfig(text, 'cfg.yaml');
      assert.equal(config, null, text);
      assert.equal(warnings.length, 1, text);
      assert.match(warnings[0] ?? '', /^cfg\.yaml: /);
    }
  });

  it('refuses alias bombs', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 12; i += 1) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    assert.equal(parseModelConfig(lines.join('\n')).config, null);
  });

  it('returns a frozen config, raw included', () => {
    const { config } = parseModelConfig('handler:\n  nested: {k: 1}');
    assert.ok(config !== null);
    assert.ok(Object.isFrozen(config));
    assert.throws(() => { (config.raw['handler'] as { nested: { k: number } }).nested.k = 2; }, TypeError);
  });
});
