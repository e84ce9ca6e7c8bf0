import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatFirstAxis, flattenNested, floatTensorOf, parseRawBytes, parseRequest, splitFirstAxis, toNested, toTensorData, TensorInputError, type InputSpec } from './onnx-tensors.js';

const PIXELS: InputSpec = { name: 'pixels', type: 'float32', shape: ['N', 4] };
const refused = (pattern: RegExp) => (err: unknown): boolean => err instanceof TensorInputError && pattern.test(err.message);

describe('flattenNested', () => {
  it('returns the shape and values of a rectangular nested array', () => {
    assert.deepEqual(flattenNested([[1, 2, 3], [4, 5, 6]]), { dims: [2, 3], values: [1, 2, 3, 4, 5, 6] });
  });

  it('returns null for a ragged array or a non-array', () => {
    assert.equal(flattenNested([[1, 2], [3]]), null);
    assert.equal(flattenNested([[1, 2], 3]), null);
    assert.equal(flattenNested({ a: 1 }), null);
  });
});

describe('toTensorData', () => {
  it('converts numbers to the element type', () => {
    assert.deepEqual(toTensorData([1, 2.5], 'float32', 'x'), Float32Array.from([1, 2.5]));
    assert.deepEqual(toTensorData([1, -2], 'int64', 'x'), BigInt64Array.from([1n, -2n]));
    assert.deepEqual(toTensorData([true, 0], 'bool', 'x'), Uint8Array.from([1, 0]));
  });

  it('refuses values outside the type', () => {
    assert.throws(() => toTensorData([1.5], 'int32', 'Input "a"'), refused(/Input "a": 1.5 is not a valid int32 value/));
    assert.throws(() => toTensorData([300], 'uint8', 'x'), refused(/300 is not a valid uint8/));
    assert.throws(() => toTensorData(['1'], 'float32', 'x'), refused(/"1" is not a valid float32/));
  });
});

describe('parseRequest', () => {
  it('reads a nested array whose first axis is the samples', () => {
    const parsed = parseRequest([[1, 2, 3, 4], [5, 6, 7, 8]], [PIXELS], ['out']);
    assert.equal(parsed.form, 'array');
    assert.equal(parsed.samples, 2);
    assert.deepEqual(parsed.tensors.get('pixels')?.dims, [2, 4]);
  });

  it('names the expected input when the shape is wrong', () => {
    assert.throws(() => parseRequest([1, 2, 3, 4], [PIXELS], []), refused(/^Input "pixels" \(float32, shape \[N, 4\]\) got an array of shape \[4\]$/));
    assert.throws(() => parseRequest([[1, 2, 3]], [PIXELS], []), refused(/got an array of shape \[1, 3\]/));
  });

  it('asks for a v2 body when the model has several inputs', () => {
    const other: InputSpec = { name: 'mask', type: 'bool', shape: ['N', 4] };
    assert.throws(() => parseRequest([[1, 2, 3, 4]], [PIXELS, other], []), refused(/has 2 inputs .*send a KServe v2 body/));
  });

  it('reads a KServe v2 body with its id and requested outputs', () => {
    const body = { id: 'a', inputs: [{ name: 'pixels', shape: [1, 4], datatype: 'FP32', data: [[1, 2, 3, 4]] }], outputs: [{ name: 'out' }] };
    const parsed = parseRequest(body, [PIXELS], ['out']);
    assert.equal(parsed.form, 'v2');
    assert.equal(parsed.id, 'a');
    assert.deepEqual(parsed.outputs, ['out']);
    assert.deepEqual(parsed.tensors.get('pixels')?.data, Float32Array.from([1, 2, 3, 4]));
  });

  it('refuses v2 inputs with a wrong datatype, name, size or a missing input', () => {
    const input = (over: object): unknown => ({ inputs: [{ name: 'pixels', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4], ...over }] });
    assert.throws(() => parseRequest(input({ datatype: 'FP64' }), [PIXELS], []), refused(/expects datatype FP32, got "FP64"/));
    assert.throws(() => parseRequest(input({ name: 'x' }), [PIXELS], []), refused(/Unknown input "x"; the model's inputs are "pixels"/));
    assert.throws(() => parseRequest(input({ data: [1, 2] }), [PIXELS], []), refused(/must hold 4 values for shape \[1, 4\], got 2/));
    assert.throws(() => parseRequest({ inputs: [] }, [PIXELS], []), refused(/Missing input "pixels"/));
    assert.throws(() => parseRequest({ ...(input({}) as object), outputs: [{ name: 'y' }] }, [PIXELS], ['out']), refused(/Unknown output "y"/));
  });
});

describe('concatenation and splitting along the first axis', () => {
  it('joins requests into one tensor and cuts the result back per request', () => {
    const a = { type: 'float32' as const, dims: [1, 2], data: Float32Array.from([1, 2]) };
    const b = { type: 'float32' as const, dims: [2, 2], data: Float32Array.from([3, 4, 5, 6]) };
    const joined = concatFirstAxis([a, b]);
    assert.deepEqual(joined.dims, [3, 2]);
    assert.deepEqual(joined.data, Float32Array.from([1, 2, 3, 4, 5, 6]));
    const [x, y] = splitFirstAxis(joined, [1, 2]);
    assert.deepEqual(x, a);
    assert.deepEqual(y, b);
  });

  it('renders a tensor as nested arrays following its dims', () => {
    assert.deepEqual(toNested({ type: 'int64', dims: [2, 1], data: BigInt64Array.from([7n, 2n ** 60n]) }), [[7], ['1152921504606846976']]);
    assert.deepEqual(toNested({ type: 'bool', dims: [2], data: Uint8Array.from([1, 0]) }), [true, false]);
  });
});

describe('floatTensorOf', () => {
  it('gives the shape and float data of a rectangular array of finite numbers in one pass', () => {
    assert.deepEqual(floatTensorOf([[1, 2.5], [3, 4]], 'float32'), { dims: [2, 2], data: Float32Array.from([1, 2.5, 3, 4]) });
    assert.deepEqual(floatTensorOf([[[0.5]]], 'float64'), { dims: [1, 1, 1], data: Float64Array.from([0.5]) });
  });

  it('leaves ragged arrays, empty axes and non-numbers to the general path (null)', () => {
    for (const bad of [[[1, 2], [3]], [[1, 2], 3], [[]], [], [[1, '2']], [[1, null]], [[1, Infinity]], { a: 1 }, 5]) {
      assert.equal(floatTensorOf(bad, 'float32'), null, JSON.stringify(bad));
    }
  });

  it('gives parseRequest the same tensors and errors as before', () => {
    assert.deepEqual(parseRequest([[1, 2, 3, 4]], [PIXELS], []).tensors.get('pixels'), { type: 'float32', dims: [1, 4], data: Float32Array.from([1, 2, 3, 4]) });
    assert.throws(() => parseRequest([[1, 2, 3]], [PIXELS], []), refused(/got an array of shape \[1, 3\]/));
    assert.throws(() => parseRequest([[1, 2, 3, 'x']], [PIXELS], []), refused(/"x" is not a valid float32 value/));
  });
});

describe('parseRawBytes', () => {
  const IMAGE: InputSpec = { name: 'input', type: 'float32', shape: ['N', 2, 2] };

  it('reads little-endian samples of the only input, the first axis from the length', () => {
    const values = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const parsed = parseRawBytes(new Uint8Array(values.buffer), [IMAGE]);
    assert.equal(parsed.samples, 2);
    assert.deepEqual(parsed.tensors.get('input'), { type: 'float32', dims: [2, 2, 2], data: values });
  });

  it('copies from an unaligned view', () => {
    const bytes = new Uint8Array(17);
    bytes.set(new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer), 1);
    assert.deepEqual(parseRawBytes(bytes.subarray(1), [IMAGE]).tensors.get('input')?.data, Float32Array.from([1, 2, 3, 4]));
  });

  it('refuses a length that is not whole samples, and models it cannot describe', () => {
    assert.throws(() => parseRawBytes(new Uint8Array(15), [IMAGE]), refused(/multiples of 16 \(one float32 sample\), got 15/));
    assert.throws(() => parseRawBytes(new Uint8Array(0), [IMAGE]), refused(/got 0/));
    assert.throws(() => parseRawBytes(new Uint8Array(16), [PIXELS, IMAGE]), refused(/one numeric input/));
    assert.throws(() => parseRawBytes(new Uint8Array(16), [{ name: 'x', type: 'float32', shape: ['N', 'M'] }]), refused(/axes after the first are fixed/));
  });
});
