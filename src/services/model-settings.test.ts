import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  resolveModelSettings,
  type ConfiguredSettings,
  type RequestedSettings,
  type ServerDefaults,
  type YamlSettings,
} from './model-settings.js';

const notRequested: RequestedSettings = {
  batchSize: null,
  maxBatchDelayMs: null,
  responseTimeoutSec: null,
  startupTimeoutSec: null,
  initialWorkers: 1,
};
const defaults: ServerDefaults = { responseTimeoutSec: 77, startupTimeoutSec: 88, jobQueueSize: 100 };

const resolve = (
  requested: Partial<RequestedSettings>,
  yaml: YamlSettings | null,
  configured?: ConfiguredSettings,
) => resolveModelSettings({ ...notRequested, ...requested }, yaml, configured, defaults);

describe('resolveModelSettings', () => {
  it('uses the built-in defaults when nothing is set', () => {
    assert.deepEqual(resolve({}, null), {
      batchSize: 1,
      maxBatchDelayMs: 100,
      responseTimeoutSec: 77,
      startupTimeoutSec: 88,
      minWorkers: 1,
      maxWorkers: 1,
      jobQueueSize: 100,
      maxRetryTimeoutSec: 300,
      clientTimeoutMs: 0,
    });
  });

  it('returns frozen settings', () => {
    assert.equal(Object.isFrozen(resolve({}, null)), true);
  });

  describe('batch size', () => {
    it('takes the request over the yaml and the models JSON', () => {
      assert.equal(resolve({ batchSize: 2 }, { batchSize: 3 }, { batchSize: 4 }).batchSize, 2);
    });

    it('takes the yaml over the models JSON', () => {
      assert.equal(resolve({}, { batchSize: 3 }, { batchSize: 4 }).batchSize, 3);
    });

    it('takes the models JSON when neither request nor yaml sets it', () => {
      assert.equal(resolve({}, {}, { batchSize: 4 }).batchSize, 4);
      assert.equal(resolve({}, null, { batchSize: 4 }).batchSize, 4);
    });

    it('ignores yaml and models JSON values that are not positive', () => {
      assert.equal(resolve({}, { batchSize: 0 }, { batchSize: 4 }).batchSize, 4);
      assert.equal(resolve({}, { batchSize: 0 }, { batchSize: -1 }).batchSize, 1);
    });
  });

  describe('max batch delay', () => {
    it('takes the request over the yaml and the models JSON', () => {
      assert.equal(resolve({ maxBatchDelayMs: 5 }, { maxBatchDelay: 6 }, { maxBatchDelay: 7 }).maxBatchDelayMs, 5);
    });

    it('takes the yaml over the models JSON', () => {
      assert.equal(resolve({}, { maxBatchDelay: 6 }, { maxBatchDelay: 7 }).maxBatchDelayMs, 6);
    });

    it('takes the models JSON, then 100', () => {
      assert.equal(resolve({}, {}, { maxBatchDelay: 7 }).maxBatchDelayMs, 7);
      assert.equal(resolve({}, {}, {}).maxBatchDelayMs, 100);
    });

    it('keeps a requested value even when it is not positive (the JSON-body default -10000)', () => {
      assert.equal(resolve({ maxBatchDelayMs: -10000 }, { maxBatchDelay: 6 }).maxBatchDelayMs, -10000);
    });
  });

  describe('timeouts', () => {
    it('take the yaml over the request when the archive has a yaml', () => {
      const s = resolve(
        { responseTimeoutSec: 5, startupTimeoutSec: 6 },
        { responseTimeout: 30, startupTimeout: 40 },
        { responseTimeout: 50, startupTimeout: 60 },
      );
      assert.equal(s.responseTimeoutSec, 30);
      assert.equal(s.startupTimeoutSec, 40);
    });

    it('are 120 when a yaml exists without them, whatever the request and defaults say', () => {
      const s = resolve({ responseTimeoutSec: 5, startupTimeoutSec: 6 }, { batchSize: 2 }, { responseTimeout: 50 });
      assert.equal(s.responseTimeoutSec, 120);
      assert.equal(s.startupTimeoutSec, 120);
    });

    it('ignore yaml values that are not positive', () => {
      const s = resolve({ responseTimeoutSec: 5 }, { responseTimeout: 0, startupTimeout: -3 });
      assert.equal(s.responseTimeoutSec, 120);
      assert.equal(s.startupTimeoutSec, 120);
    });

    it('take the models JSON, then the request, then the server defaults without a yaml', () => {
      assert.equal(resolve({ responseTimeoutSec: 5 }, null, { responseTimeout: 50 }).responseTimeoutSec, 50);
      assert.equal(resolve({ startupTimeoutSec: 6 }, null, { startupTimeout: 60 }).startupTimeoutSec, 60);
      assert.equal(resolve({ responseTimeoutSec: 5, startupTimeoutSec: 6 }, null, {}).responseTimeoutSec, 5);
      assert.equal(resolve({ responseTimeoutSec: 5, startupTimeoutSec: 6 }, null, {}).startupTimeoutSec, 6);
      assert.equal(resolve({}, null, { responseTimeout: 0 }).responseTimeoutSec, 77);
      assert.equal(resolve({}, null).startupTimeoutSec, 88);
    });
  });

  describe('workers', () => {
    it('take valid yaml min and max workers instead of initial_workers', () => {
      const s = resolve({ initialWorkers: 1 }, { minWorkers: 2, maxWorkers: 4 });
      assert.equal(s.minWorkers, 2);
      assert.equal(s.maxWorkers, 4);
    });

    it('accept yaml max equal to min', () => {
      const s = resolve({ initialWorkers: 0 }, { minWorkers: 3, maxWorkers: 3 });
      assert.deepEqual([s.minWorkers, s.maxWorkers], [3, 3]);
    });

    it('use initial_workers when yaml max is below min', () => {
      const s = resolve({ initialWorkers: 1 }, { minWorkers: 3, maxWorkers: 2 });
      assert.deepEqual([s.minWorkers, s.maxWorkers], [1, 1]);
    });

    it('use initial_workers when yaml min is unset or not positive', () => {
      assert.deepEqual(
        [resolve({ initialWorkers: 2 }, { maxWorkers: 4 })].map((s) => [s.minWorkers, s.maxWorkers]),
        [[2, 2]],
      );
      const s = resolve({ initialWorkers: 2 }, { minWorkers: 0, maxWorkers: 4 });
      assert.deepEqual([s.minWorkers, s.maxWorkers], [2, 2]);
    });

    it('use initial_workers when yaml max is unset', () => {
      const s = resolve({ initialWorkers: 2 }, { minWorkers: 1 });
      assert.deepEqual([s.minWorkers, s.maxWorkers], [2, 2]);
    });

    it('ignore worker counts in the models JSON for a model registered over the API', () => {
      const s = resolve({ initialWorkers: 2 }, null, { minWorkers: 5, maxWorkers: 6 });
      assert.deepEqual([s.minWorkers, s.maxWorkers], [2, 2]);
    });
  });

  describe('yaml-only settings', () => {
    it('take a positive yaml jobQueueSize over the server default', () => {
      assert.equal(resolve({}, { jobQueueSize: 7 }).jobQueueSize, 7);
      assert.equal(resolve({}, { jobQueueSize: 0 }).jobQueueSize, 100);
    });

    it('take maxRetryTimeoutInSec and clientTimeoutInMills from the yaml', () => {
      const s = resolve({}, { maxRetryTimeoutInSec: 10, clientTimeoutInMills: 2500 });
      assert.equal(s.maxRetryTimeoutSec, 10);
      assert.equal(s.clientTimeoutMs, 2500);
    });
  });

  it("takes the workers of a model loaded at start from config.properties' models JSON, under a valid yaml range", () => {
    const configured = { minWorkers: 1, maxWorkers: 1 };
    const fromConfig = resolve({ initialWorkers: 2, atStartup: true }, null, configured);
    assert.deepEqual([fromConfig.minWorkers, fromConfig.maxWorkers], [1, 1]);
    const withYaml = resolve({ initialWorkers: 2, atStartup: true }, { minWorkers: 2, maxWorkers: 4 }, configured);
    assert.deepEqual([withYaml.minWorkers, withYaml.maxWorkers], [2, 4]);
    const zero = resolve({ initialWorkers: 2, atStartup: true }, null, { minWorkers: 0, maxWorkers: 0 });
    assert.deepEqual([zero.minWorkers, zero.maxWorkers], [2, 2], 'only values above 0 count');
    const onlyMin = resolve({ initialWorkers: 2, atStartup: true }, null, { minWorkers: 3 });
    assert.deepEqual([onlyMin.minWorkers, onlyMin.maxWorkers], [3, 3]);
  });
});
