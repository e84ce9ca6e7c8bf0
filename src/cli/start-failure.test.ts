import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressInUseMessage, failureReason } from './start-failure.js';

describe('start failures', () => {
  it('names the address of a listener whose port is taken, from node:net and from gRPC', () => {
    const net = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), { code: 'EADDRINUSE', address: '127.0.0.1', port: 8080 });
    assert.match(addressInUseMessage(net) ?? '', /^Cannot listen on 127\.0\.0\.1:8080: the address is already in use.*lantern --stop/);
    assert.match(addressInUseMessage(Object.assign(new Error('x'), { code: 'EADDRINUSE', address: '::1', port: 8081 })) ?? '', /\[::1\]:8081/);
    const grpc = new Error('The grpc-inference listener cannot listen on 127.0.0.1:7070: No address added out of total 1 resolved', { cause: new Error('bind') });
    assert.match(addressInUseMessage(grpc) ?? '', /^Cannot listen on 127\.0\.0\.1:7070: /);
  });

  it('leaves other errors alone', () => {
    assert.equal(addressInUseMessage(new Error('something else')), null);
    assert.equal(addressInUseMessage(null), null);
    assert.equal(addressInUseMessage(Object.assign(new Error('x'), { code: 'EACCES', address: '0.0.0.0', port: 80 })), null);
  });

  it('takes the reason of a failed background start from the lines that are neither informational nor stack frames', () => {
    const log = [
      '2026-01-01T00:00:00,000 [INFO ] main lantern - Reading configuration from /x/config.properties',
      '2026-01-01T00:00:00,001 [WARN ] main lantern - Unknown configuration key "x" ignored',
      'Error: boom',
      '    at start (file:///x.js:1:1)',
      '2026-01-01T00:00:00,002 [INFO ] main lantern - Logs are written to /x/logs',
      '',
    ].join('\n');
    assert.deepEqual(failureReason(log), ['2026-01-01T00:00:00,001 [WARN ] main lantern - Unknown configuration key "x" ignored', 'Error: boom']);
    assert.deepEqual(failureReason('a [INFO ] b\n'), ['a [INFO ] b']);
    assert.deepEqual(failureReason('1\n2\n3\n', 2), ['2', '3']);
  });
});
