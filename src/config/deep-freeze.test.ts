import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deepFreeze } from './deep-freeze.js';

describe('deepFreeze', () => {
  it('freezes nested plain objects and arrays but leaves regular expressions usable', () => {
    const pattern = /^a$/;
    const value = deepFreeze({ list: [{ x: 1 }], pattern });
    assert.ok(Object.isFrozen(value));
    assert.ok(Object.isFrozen(value.list));
    assert.ok(Object.isFrozen(value.list[0]));
    assert.ok(!Object.isFrozen(pattern));
    assert.ok(value.pattern.test('a'));
  });
});
