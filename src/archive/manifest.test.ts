import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isServeError } from '../errors.js';
import { defaultManifest, isRuntime, parseManifest, requireModelName } from './manifest.js';

function invalid(message: string) {
  return (err: unknown): boolean => {
    assert.ok(isServeError(err), String(err));
    assert.equal(err.status, 400);
    assert.equal(err.type, 'InvalidModelException');
    assert.equal(err.message, message);
    return true;
  };
}

describe('parseManifest', () => {
  it('reads what torch-model-archiver writes', () => {
    const manifest = parseManifest(JSON.stringify({
      createdOn: '01/02/2024 10:11:12',
      runtime: 'python3',
      model: {
        modelName: 'resnet',
        serializedFile: 'resnet.pt',
        handler: 'image_classifier',
        modelVersion: '2.0',
        configFile: 'model-config.yaml',
        requirementsFile: 'requirements.txt',
        extensions: 'x',
      },
      archiverVersion: '0.12.0',
      modelServerVersion: '1.0',
    }));
    assert.deepEqual(manifest, {
      createdOn: '01/02/2024 10:11:12',
      runtime: 'python3',
      archiverVersion: '0.12.0',
      model: {
        modelName: 'resnet',
        serializedFile: 'resnet.pt',
        handler: 'image_classifier',
        modelVersion: '2.0',
        configFile: 'model-config.yaml',
        requirementsFile: 'requirements.txt',
        extensions: 'x',
      },
    });
    assert.ok(Object.isFrozen(manifest) && Object.isFrozen(manifest.model));
  });

  it('defaults modelVersion to 1.0 and runtime to python', () => {
    const manifest = parseManifest('{"model": {"modelName": "m"}}');
    assert.equal(manifest.model.modelVersion, '1.0');
    assert.equal(manifest.runtime, 'python');
  });

  it('accepts the node runtime and LSP', () => {
    assert.equal(parseManifest('{"runtime": "node", "model": {}}').runtime, 'node');
    assert.equal(parseManifest('{"runtime": "LSP", "model": {}}').runtime, 'LSP');
  });

  it('coerces numeric versions to strings as Gson does', () => {
    assert.equal(parseManifest('{"model": {"modelVersion": 3}}').model.modelVersion, '3');
  });

  it('rejects text that is not JSON or not an object', () => {
    for (const text of ['{', '', '[]', '"x"', 'null', '{"model": "m"}', '{"model": {"handler": {}}}']) {
      assert.throws(() => parseManifest(text), invalid('Failed to parse signature.json.'), text);
    }
  });

  it('rejects an explicit null model', () => {
    assert.throws(() => parseManifest('{"model": null}'), invalid('Missing Model entry in manifest file.'));
  });

  it('rejects unknown, null or wrongly cased runtimes', () => {
    for (const runtime of ['PYTHON', 'python2', 'java', null, 3]) {
      const text = JSON.stringify({ runtime, model: {} });
      assert.throws(() => parseManifest(text), invalid('Runtime is not defined or invalid.'), text);
    }
  });

  it('rejects an empty modelVersion', () => {
    assert.throws(() => parseManifest('{"model": {"modelVersion": ""}}'), invalid('Model version is not defined.'));
  });
});

describe('manifest helpers', () => {
  it('default manifest is python 1.0 without a name', () => {
    assert.deepEqual(defaultManifest(), { runtime: 'python', model: { modelVersion: '1.0' } });
  });

  it('requireModelName passes names through and rejects missing ones', () => {
    assert.equal(requireModelName('squeezenet'), 'squeezenet');
    for (const name of [undefined, null, '']) {
      assert.throws(() => requireModelName(name), invalid('Model name is not defined.'));
    }
  });

  it('isRuntime knows exactly the four runtimes', () => {
    assert.deepEqual(['python', 'python3', 'LSP', 'node', 'lsp', ''].map(isRuntime), [true, true, true, true, false, false]);
  });
});

describe('model names', () => {
  it("are refused unless they match torch-model-archiver's pattern, with at most 255 characters", () => {
    for (const name of ['resnet-18', 'bert_base.v2', '9lives', 'a'.repeat(255)]) assert.equal(requireModelName(name), name);
    for (const name of ['.', '..', '-x', '_x', 'a b', 'a/b', 'x\r\nINFO forged', 'ünï', 'a'.repeat(256), 'x%2e']) {
      assert.throws(() => requireModelName(name), (err: unknown) => {
        const e = err as { status: number; code: string; message: string };
        return e.status === 400 && e.code === 'INVALID_MODEL_NAME' && !/[\r\n]/.test(e.message);
      }, name);
    }
  });
});
