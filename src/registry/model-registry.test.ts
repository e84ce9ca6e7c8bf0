import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServeError } from '../errors.js';
import { ModelRegistry, type RegistryEvent } from './model-registry.js';

const serveError = (status: number, message: string) => (err: unknown): boolean => {
  assert.ok(err instanceof ServeError, `expected a ServeError, got ${String(err)}`);
  assert.equal(err.status, status);
  assert.equal(err.message, message);
  return true;
};

function registry(): { reg: ModelRegistry<string>; events: RegistryEvent[] } {
  const reg = new ModelRegistry<string>();
  const events: RegistryEvent[] = [];
  reg.on('change', (e) => events.push(e));
  return { reg, events };
}

describe('ModelRegistry', () => {
  it('makes the first version of a model its default', () => {
    const { reg } = registry();
    reg.add('m', '1.0', 'one');
    assert.equal(reg.defaultVersionOf('m'), '1.0');
    assert.equal(reg.isDefault('m', '1.0'), true);
    assert.equal(reg.get('m'), 'one');
  });

  it('keeps the default when later versions are added', () => {
    const { reg } = registry();
    reg.add('m', '1.0', 'one');
    reg.add('m', '2.0', 'two');
    assert.equal(reg.defaultVersionOf('m'), '1.0');
    assert.equal(reg.isDefault('m', '2.0'), false);
    assert.equal(reg.get('m'), 'one');
    assert.deepEqual(reg.allVersions('m'), [['1.0', 'one'], ['2.0', 'two']]);
  });

  it('refuses a version registered twice with 409 and keeps the first entry', () => {
    const { reg } = registry();
    reg.add('m', '1.0', 'one');
    assert.throws(() => reg.add('m', '1.0', 'again'), serveError(409, 'Model version 1.0 is already registered for model m'));
    assert.equal(reg.get('m', '1.0'), 'one');
  });

  it('gets an explicit version', () => {
    const { reg } = registry();
    reg.add('m', '1.0', 'one');
    reg.add('m', '2.0', 'two');
    assert.equal(reg.get('m', '2.0'), 'two');
    assert.equal(reg.has('m', '2.0'), true);
    assert.equal(reg.has('m', '3.0'), false);
    assert.equal(reg.has('x', '1.0'), false);
  });

  it('answers 404 for an unknown model', () => {
    const { reg } = registry();
    assert.throws(() => reg.get('x'), serveError(404, 'Model not found: x'));
    assert.throws(() => reg.get('x', '1.0'), serveError(404, 'Model not found: x'));
    assert.throws(() => reg.defaultVersionOf('x'), serveError(404, 'Model not found: x'));
    assert.throws(() => reg.allVersions('x'), serveError(404, 'Model not found: x'));
  });

  it('answers 404 for an unknown version of a known model', () => {
    const { reg } = registry();
    reg.add('m', '1.0', 'one');
    assert.throws(() => reg.get('m', '9'), serveError(404, 'Model version: 9 does not exist for model: m'));
  });

  it('refuses to remove the default version while other versions exist', () => {
    const { reg } = registry();
    reg.add('m', '1.0', 'one');
    reg.add('m', '2.0', 'two');
    assert.throws(() => reg.checkRemovable('m'), serveError(403, 'Cannot remove default version for model m'));
    assert.throws(() => reg.checkRemovable('m', '1.0'), serveError(403, 'Cannot remove default version for model m'));
    assert.throws(() => reg.remove('m', '1.0'), serveError(403, 'Cannot remove default version for model m'));
    assert.equal(reg.has('m', '1.0'), true);
  });

  it('allows removing a non-default version', () => {
    const { reg } = registry();
    reg.add('m', '1.0', 'one');
    reg.add('m', '2.0', 'two');
    assert.equal(reg.checkRemovable('m', '2.0'), '2.0');
    assert.equal(reg.remove('m', '2.0'), 'two');
    assert.equal(reg.has('m', '2.0'), false);
    assert.equal(reg.defaultVersionOf('m'), '1.0');
  });

  it('allows removing the only version, which removes the model', () => {
    const { reg } = registry();
    reg.add('m', '1.0', 'one');
    assert.equal(reg.checkRemovable('m'), '1.0');
    assert.equal(reg.remove('m', '1.0'), 'one');
    assert.deepEqual(reg.names(), []);
    assert.throws(() => reg.get('m'), serveError(404, 'Model not found: m'));
  });

  it('checks removal of unknown models and versions with 404', () => {
    const { reg } = registry();
    reg.add('m', '1.0', 'one');
    assert.throws(() => reg.checkRemovable('x'), serveError(404, 'Model not found: x'));
    assert.throws(() => reg.checkRemovable('m', '9'), serveError(404, 'Model version: 9 does not exist for model: m'));
  });

  it('sets the default version', () => {
    const { reg } = registry();
    reg.add('m', '1.0', 'one');
    reg.add('m', '2.0', 'two');
    reg.setDefault('m', '2.0');
    assert.equal(reg.defaultVersionOf('m'), '2.0');
    assert.equal(reg.get('m'), 'two');
    assert.equal(reg.checkRemovable('m', '1.0'), '1.0');
  });

  it('refuses to set an unknown default with the colon-less 404 message', () => {
    const { reg } = registry();
    reg.add('m', '1.0', 'one');
    assert.throws(() => reg.setDefault('m', '9'), serveError(404, 'Model version 9 does not exist for model m'));
    assert.throws(() => reg.setDefault('x', '1.0'), serveError(404, 'Model not found: x'));
    assert.equal(reg.defaultVersionOf('m'), '1.0');
  });

  it('lists names in Java string order, uppercase before lowercase', () => {
    const { reg } = registry();
    for (const name of ['beta', 'alpha', 'Zeta', 'Alpha', '_x', '9', 'a-b']) reg.add(name, '1.0', name);
    assert.deepEqual(reg.names(), ['9', 'Alpha', 'Zeta', '_x', 'a-b', 'alpha', 'beta']);
  });

  it('orders names by UTF-16 code units as Java does', () => {
    const { reg } = registry();
    reg.add('\uff61', '1.0', 'halfwidth');
    reg.add('\u{1f600}', '1.0', 'emoji'); // surrogate pair D83D DE00 sorts before FF61
    assert.deepEqual(reg.names(), ['\u{1f600}', '\uff61']);
  });

  it('lists entries by name with their default flag', () => {
    const { reg } = registry();
    reg.add('b', '1.0', 'b1');
    reg.add('a', '1.0', 'a1');
    reg.add('a', '2.0', 'a2');
    assert.deepEqual(reg.entries(), [
      { name: 'a', version: '1.0', entry: 'a1', isDefault: true },
      { name: 'a', version: '2.0', entry: 'a2', isDefault: false },
      { name: 'b', version: '1.0', entry: 'b1', isDefault: true },
    ]);
  });

  it('emits a change event after every change and none for refused ones', () => {
    const { reg, events } = registry();
    reg.add('m', '1.0', 'one');
    reg.add('m', '2.0', 'two');
    assert.throws(() => reg.add('m', '2.0', 'dup'));
    reg.setDefault('m', '2.0');
    assert.throws(() => reg.setDefault('m', '9'));
    reg.notifyScaled('m', '2.0');
    reg.remove('m', '1.0');
    assert.throws(() => reg.remove('m', '9'));
    assert.deepEqual(events, [
      { kind: 'added', name: 'm', version: '1.0' },
      { kind: 'added', name: 'm', version: '2.0' },
      { kind: 'default-changed', name: 'm', version: '2.0' },
      { kind: 'scaled', name: 'm', version: '2.0' },
      { kind: 'removed', name: 'm', version: '1.0' },
    ]);
  });

  it('emits the change event after the registry has changed', () => {
    const reg = new ModelRegistry<string>();
    const seen: string[] = [];
    reg.on('change', () => seen.push(reg.names().join(',')));
    reg.add('m', '1.0', 'one');
    reg.remove('m', '1.0');
    assert.deepEqual(seen, ['m', '']);
  });
});
