import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ProtocolError } from './codec.js';
import { FrameDecoder } from './frame-decoder.js';

const golden = JSON.parse(
  readFileSync(new URL('../../test/fixtures/frames.json', import.meta.url), 'utf8'),
) as Array<{ name: string; hex: string }>;

const frames = golden.map((g) => Buffer.from(g.hex, 'hex'));
const stream = Buffer.concat(frames);
const expected = frames.map((f) => f.subarray(4).toString('hex'));
const hexes = (payloads: Buffer[]): string[] => payloads.map((p) => p.toString('hex'));
const LIMIT = 1 << 20;

const header = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
};

describe('FrameDecoder', () => {
  it('returns every payload of several frames in one chunk, in order', () => {
    const d = new FrameDecoder(LIMIT);
    assert.deepEqual(hexes(d.push(stream)), expected);
    assert.equal(d.bufferedBytes, 0);
  });

  it('returns the same payloads when the stream is split at any byte boundary', () => {
    for (let i = 0; i <= stream.length; i++) {
      const d = new FrameDecoder(LIMIT);
      const out = [...d.push(stream.subarray(0, i)), ...d.push(stream.subarray(i))];
      assert.deepEqual(hexes(out), expected, `split at ${i}`);
      assert.equal(d.bufferedBytes, 0);
    }
  });

  it('returns the same payloads when the first two frames are cut at any two boundaries', () => {
    const two = Buffer.concat(frames.slice(0, 2));
    for (let i = 0; i <= two.length; i++) {
      for (let j = i; j <= two.length; j++) {
        const d = new FrameDecoder(LIMIT);
        const out = [...d.push(two.subarray(0, i)), ...d.push(two.subarray(i, j)), ...d.push(two.subarray(j))];
        assert.deepEqual(hexes(out), expected.slice(0, 2), `cut at ${i} and ${j}`);
      }
    }
  });

  it('returns the same payloads when fed one byte at a time', () => {
    const d = new FrameDecoder(LIMIT);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    assert.deepEqual(hexes(out), expected);
  });

  it('returns a frame only once its last byte has arrived and counts the buffered bytes', () => {
    const frame = frames[0] as Buffer;
    const d = new FrameDecoder(LIMIT);
    assert.deepEqual(d.push(frame.subarray(0, 2)), []);
    assert.equal(d.bufferedBytes, 2);
    assert.deepEqual(d.push(frame.subarray(2, frame.length - 1)), []);
    assert.equal(d.bufferedBytes, frame.length - 1);
    assert.deepEqual(hexes(d.push(frame.subarray(frame.length - 1))), [expected[0]]);
    assert.equal(d.bufferedBytes, 0);
  });

  it('keeps the start of the next frame after a completed one', () => {
    const d = new FrameDecoder(LIMIT);
    const first = frames[0] as Buffer;
    const second = frames[1] as Buffer;
    const out = d.push(Buffer.concat([first, second.subarray(0, 5)]));
    assert.deepEqual(hexes(out), [expected[0]]);
    assert.equal(d.bufferedBytes, 5);
    assert.deepEqual(hexes(d.push(second.subarray(5))), [expected[1]]);
  });

  it('accepts a frame exactly at the limit', () => {
    const d = new FrameDecoder(10);
    const payload = Buffer.from('0123456789');
    assert.deepEqual(d.push(Buffer.concat([header(10), payload])), [payload]);
  });

  it('refuses a frame over the limit as soon as its length prefix arrives', () => {
    const d = new FrameDecoder(10);
    assert.throws(
      () => d.push(header(11)),
      (err: unknown) => err instanceof ProtocolError && /Message size exceed limit: 11/.test(err.message),
    );
  });

  it('refuses a frame over the limit when its length prefix arrives in pieces', () => {
    const d = new FrameDecoder(10);
    const h = header(0xffffffff);
    assert.deepEqual(d.push(h.subarray(0, 1)), []);
    assert.deepEqual(d.push(h.subarray(1, 3)), []);
    assert.throws(() => d.push(h.subarray(3)), (err: unknown) => err instanceof ProtocolError && /4294967295/.test(err.message));
  });
});
