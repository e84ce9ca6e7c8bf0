import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelRegistry } from '../registry/model-registry.js';
import { Readiness } from './readiness.js';
import type { ServedModel } from './served-model.js';

const model = (ready: { count: number }): ServedModel => ({ pool: { readyCount: () => ready.count } }) as unknown as ServedModel;

describe('Readiness', () => {
  it('is ready once serving while every startup model has a READY worker, and never after stop', () => {
    const registry = new ModelRegistry<ServedModel>();
    const a = { count: 0 };
    registry.add('a', '1.0', model(a));
    const readiness = new Readiness(registry);
    assert.equal(readiness.isReady(), false, 'not before startup is over');
    readiness.serving();
    assert.equal(readiness.isReady(), false, 'a startup model without a READY worker');
    a.count = 1;
    assert.equal(readiness.isReady(), true);
    registry.add('later', '1.0', model({ count: 0 }));
    assert.equal(readiness.isReady(), true, 'a model registered later does not count');
    assert.equal(readiness.isModelReady('later'), false);
    assert.equal(readiness.isModelReady('a', '1.0'), true);
    registry.remove('a', '1.0');
    assert.equal(readiness.isReady(), true, 'an unregistered startup model does not count');
    assert.throws(() => readiness.isModelReady('nope'), /not found/);
    readiness.stop();
    assert.equal(readiness.isReady(), false);
    assert.equal(readiness.isModelReady('later'), false);
  });
});
