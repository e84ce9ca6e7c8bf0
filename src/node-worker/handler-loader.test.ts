import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { entryPointsOf, parseHandler } from './handler-loader.js';

const existing = (...files: string[]) => (p: string): boolean => files.includes(p);

describe('parseHandler', () => {
  it('finds a module file in the model directory, with or without its extension', () => {
    assert.deepEqual(parseHandler('h.ts', '/m', null, existing('/m/h.ts')), { kind: 'file', file: '/m/h.ts', exportName: 'handle' });
    assert.deepEqual(parseHandler('h:run', '/m', null, existing('/m/h.mjs')), { kind: 'file', file: '/m/h.mjs', exportName: 'run' });
    assert.deepEqual(parseHandler('some/dir/h.cjs', '/m', null, existing('/m/h.cjs')), { kind: 'file', file: '/m/h.cjs', exportName: 'handle' });
  });

  it('selects the built-in onnx handler by name or for a .onnx serializedFile without handler', () => {
    assert.deepEqual(parseHandler('onnx', '/m', null, existing()), { kind: 'builtin', name: 'onnx' });
    assert.deepEqual(parseHandler('', '/m', { model: { serializedFile: 'net.ONNX' } }, existing()), { kind: 'builtin', name: 'onnx' });
  });

  it('prefers a model file over a built-in of the same name', () => {
    assert.deepEqual(parseHandler('echo', '/m', null, existing('/m/echo.js')), { kind: 'file', file: '/m/echo.js', exportName: 'handle' });
  });

  it('says what it looked for when nothing is found', () => {
    assert.throws(() => parseHandler('nope', '/m', null, existing()), /Handler module not found: nope\{\.ts,\.mts,\.cts,\.mjs,\.cjs,\.js\} in \/m/);
    assert.throws(() => parseHandler('', '/m', null, existing()), /No handler given/);
  });
});

describe('entryPointsOf', () => {
  it('takes named exports, with initialize, describe and explain beside handle', () => {
    const ns = { handle: () => [1], initialize: () => undefined, describe: () => ({}) };
    const { handler, initialize } = entryPointsOf(ns, 'handle', 'h.mjs');
    assert.equal(typeof initialize, 'function');
    assert.equal(typeof handler.describe, 'function');
    assert.equal(handler.explain, undefined);
  });

  it('takes the functions of a default export object (CommonJS module.exports)', () => {
    const { handler } = entryPointsOf({ default: { handle: () => ['x'] } }, 'handle', 'h.cjs');
    assert.deepEqual(handler.handle([], undefined as never), ['x']);
  });

  it('instantiates an exported class and binds its methods', () => {
    class H {
      n = 1;
      handle(): number[] {
        return [this.n];
      }
    }
    const { handler } = entryPointsOf({ default: H }, 'handle', 'h.mjs');
    assert.deepEqual(handler.handle([], undefined as never), [1]);
  });

  it('refuses a module without the entry point', () => {
    assert.throws(() => entryPointsOf({ other: () => 1 }, 'handle', '/m/h.mjs'), /h.mjs exports no function or class method named handle/);
  });
});
