import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseProperties } from '../config/properties.js';
import { parseModelSnapshot, snapshotText, SnapshotFormatError, type SnapshotVersion } from './snapshot-content.js';

const V1: SnapshotVersion = {
  name: 'noop',
  version: '1.0',
  isDefault: false,
  marName: 'noop.mar',
  minWorkers: 1,
  maxWorkers: 3,
  batchSize: 4,
  maxBatchDelay: 200,
  responseTimeout: 120,
  startupTimeout: 120,
  runtimeType: 'python',
};
const V2: SnapshotVersion = { ...V1, version: '2.0', isDefault: true, marName: 'noop_v2.mar', minWorkers: 2, maxWorkers: 2 };

describe('snapshot content', () => {
  it('writes a properties file with TorchServe\'s header, every property and model_snapshot', () => {
    const properties = new Map([
      ['inference_address', 'http://127.0.0.1:8085'],
      ['model_snapshot', '{"stale": true}'],
      ['enable_model_api', 'true'],
    ]);
    const text = snapshotText('20260102030405006-snapshot.cfg', 1767323045006, { properties, models: [V1, V2] });
    const lines = text.split('\n');
    assert.equal(lines[0], '#Saving snapshot');
    assert.match(lines[1] ?? '', /^#\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} \S+ \d{4}$/);
    const read = parseProperties(text);
    assert.equal(read.get('inference_address'), 'http://127.0.0.1:8085');
    assert.equal(read.get('enable_model_api'), 'true');
    const snapshot = JSON.parse(read.get('model_snapshot') ?? '') as Record<string, unknown>;
    assert.deepEqual(snapshot, {
      name: '20260102030405006-snapshot.cfg',
      modelCount: 2,
      created: 1767323045006,
      models: {
        noop: {
          '1.0': { defaultVersion: false, marName: 'noop.mar', minWorkers: 1, maxWorkers: 3, batchSize: 4, maxBatchDelay: 200, responseTimeout: 120, startupTimeout: 120, runtimeType: 'python' },
          '2.0': { defaultVersion: true, marName: 'noop_v2.mar', minWorkers: 2, maxWorkers: 2, batchSize: 4, maxBatchDelay: 200, responseTimeout: 120, startupTimeout: 120, runtimeType: 'python' },
        },
      },
    });
    // Gson-like pretty JSON in one escaped property line.
    assert.ok(text.includes('model_snapshot={\\n  "name"\\: "20260102030405006-snapshot.cfg",\\n'));
  });

  it('reads model_snapshot back into the versions it was written from', () => {
    const text = snapshotText('x.cfg', 0, { properties: new Map(), models: [V1, V2] });
    const json = JSON.parse(parseProperties(text).get('model_snapshot') ?? '') as Record<string, unknown>;
    assert.deepEqual(parseModelSnapshot(json), [V1, V2]);
  });

  it('reads no models when modelCount is zero or less', () => {
    assert.deepEqual(parseModelSnapshot({ name: 'x', modelCount: 0, models: { a: { '1.0': { marName: 'a.mar' } } } }), []);
  });

  it('refuses a model_snapshot without marName or with a non-integer worker count', () => {
    assert.throws(() => parseModelSnapshot({ modelCount: 1, models: { a: { '1.0': {} } } }), SnapshotFormatError);
    assert.throws(
      () => parseModelSnapshot({ modelCount: 1, models: { a: { '1.0': { marName: 'a.mar', minWorkers: 'two' } } } }),
      /minWorkers of model a version 1.0 must be an integer/,
    );
    assert.throws(() => parseModelSnapshot({ modelCount: 1, models: [] }), SnapshotFormatError);
  });
});
