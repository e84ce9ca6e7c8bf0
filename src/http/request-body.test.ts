import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { isServeError } from '../errors.js';
import { bodyParameters, receiveBody } from './request-body.js';

describe('receiveBody', () => {
  it('turns a client that closes its connection mid-body into a 400, not an unexpected failure', async () => {
    let settled: (value: unknown) => void = () => {};
    const outcome = new Promise((resolve) => (settled = resolve));
    const server = http.createServer((req) => {
      receiveBody(req, 1_000).then(settled, settled);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc', () => socket.destroy());
    });
    try {
      const err = await outcome;
      assert.ok(isServeError(err), String(err));
      assert.equal(err.status, 400);
      assert.equal(err.message, 'The connection closed before the request body was complete.');
    } finally {
      server.close();
    }
  });
});

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
