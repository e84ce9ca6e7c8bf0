import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLenientJson } from './lenient-json.js';

describe('lenient JSON (registration bodies)', () => {
  it('parses strict JSON as JSON.parse does', () => {
    assert.deepEqual(parseLenientJson('{"url": "a.mar", "initial_workers": 1}'), { url: 'a.mar', initial_workers: 1 });
  });

  it("accepts single-quoted names and strings, as TorchServe's Gson does", () => {
    assert.deepEqual(parseLenientJson("{'url': 'echo.mar', 'model_name': 'echo_sq', 'initial_workers': 0}"), {
      url: 'echo.mar',
      model_name: 'echo_sq',
      initial_workers: 0,
    });
    assert.deepEqual(parseLenientJson(`{'a': 'it\\'s "quoted"', "b": "don't"}`), { a: `it's "quoted"`, b: "don't" });
  });

  it('still refuses what is not JSON either way', () => {
    assert.throws(() => parseLenientJson("{'url': 'a.mar'"), SyntaxError);
    assert.throws(() => parseLenientJson('not json'), SyntaxError);
  });
});
