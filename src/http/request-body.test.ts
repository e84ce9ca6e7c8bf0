import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bodyParameters } from './request-body.js';

describe('bodyParameters', () => {
  it('keeps a body that came in chunks as its chunks, and joins them only for `value`', async () => {
    const chunks = [Buffer.from('ab'), Buffer.from('cd'), Buffer.from('e')];
    const [param, ...rest] = await bodyParameters('Application/Octet-Stream; x=1', { chunks, size: 5 });
    assert.equal(rest.length, 0);
    assert.equal(param?.name, 'body');
    assert.equal(param?.contentType, 'application/octet-stream');
    assert.equal(param?.chunks, chunks);
    assert.equal(param?.value.toString(), 'abcde');
    assert.equal(param?.value, param?.value, 'joined once');
  });

  it('uses a single chunk as the value itself', async () => {
    const only = Buffer.from('x');
    const [param] = await bodyParameters(undefined, { chunks: [only], size: 1 });
    assert.equal(param?.value, only);
    assert.equal(param?.contentType, '');
  });

  it('parses forms from the joined chunks', async () => {
    const [param, ...rest] = await bodyParameters('application/x-www-form-urlencoded', { chunks: [Buffer.from('a=1&'), Buffer.from('b=2')], size: 7 });
    assert.deepEqual(
      [param, ...rest].map((p) => [p?.name, p?.value.toString(), p?.chunks]),
      [
        ['a', '1', undefined],
        ['b', '2', undefined],
      ],
    );
  });
});
