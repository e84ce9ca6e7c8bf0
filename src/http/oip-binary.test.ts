import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binaryOutputsOf, binaryRequestToJson, decodeTensor, encodeTensor, jsonReplyToBinary } from './oip-binary.js';

describe('Open Inference binary tensor data', () => {
  it('round-trips every fixed-size datatype and BYTES', () => {
    const cases: Array<[string, unknown[]]> = [
      ['BOOL', [true, false]],
      ['UINT8', [0, 255]],
      ['INT8', [-128, 127]],
      ['UINT16', [65535]],
      ['INT16', [-32768]],
      ['FP16', [1.5, -2]],
      ['UINT32', [4294967295]],
      ['INT32', [-5, 7]],
      ['FP32', [0.5, -1.25]],
      ['UINT64', [2 ** 40]],
      ['INT64', [-(2 ** 40), 3]],
      ['FP64', [Math.PI]],
      ['BYTES', ['hé', '']],
    ];
    for (const [datatype, values] of cases) assert.deepEqual(decodeTensor(datatype, encodeTensor(datatype, values), 'x'), values, datatype);
    assert.equal(encodeTensor('FP32', [[1, 2], [3, 4]]).length, 16, 'nested data is flattened');
  });

  it('turns a binary request into the JSON request, and refuses sizes that do not fit', () => {
    const header = JSON.stringify({
      inputs: [
        { name: 'a', datatype: 'INT32', shape: [2], parameters: { binary_data_size: 8 } },
        { name: 'b', datatype: 'FP64', shape: [1], data: [2.5] },
      ],
      outputs: [{ name: 'o', parameters: { binary_data: true } }],
    });
    const body = Buffer.concat([Buffer.from(header), encodeTensor('INT32', [7, -1])]);
    const json = binaryRequestToJson(body, Buffer.byteLength(header));
    assert.deepEqual(json.inputs, [
      { name: 'a', datatype: 'INT32', shape: [2], data: [7, -1] },
      { name: 'b', datatype: 'FP64', shape: [1], data: [2.5] },
    ]);
    assert.deepEqual([...binaryOutputsOf(json).byName], [['o', true]]);
    assert.throws(() => binaryRequestToJson(body, body.length + 1), /does not fit the body/);
    assert.throws(() => binaryRequestToJson(Buffer.concat([body, Buffer.alloc(1)]), Buffer.byteLength(header)), /1 bytes after the last binary input/);
    assert.throws(() => binaryRequestToJson(Buffer.from('nope'), 4), /not JSON/);
    const odd = JSON.stringify({ inputs: [{ name: 'a', datatype: 'INT32', shape: [1], parameters: { binary_data_size: 3 } }] });
    assert.throws(() => binaryRequestToJson(Buffer.concat([Buffer.from(odd), Buffer.alloc(3)]), Buffer.byteLength(odd)), /not a whole number of INT32 elements/);
  });

  it('moves the wanted outputs of a JSON reply to binary data', () => {
    const reply = { id: '1', outputs: [{ name: 'o', datatype: 'FP32', shape: [2], data: [1, 2] }, { name: 'p', datatype: 'INT64', shape: [1], data: [3] }] };
    const [bytes, headerLength] = jsonReplyToBinary(reply, { all: false, byName: new Map([['o', true]]) });
    const header = JSON.parse(bytes.toString('utf8', 0, headerLength)) as typeof reply;
    assert.deepEqual(header.outputs[0], { name: 'o', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } });
    assert.deepEqual(header.outputs[1]?.data, [3]);
    assert.deepEqual(decodeTensor('FP32', bytes.subarray(headerLength), 'o'), [1, 2]);
  });
});
