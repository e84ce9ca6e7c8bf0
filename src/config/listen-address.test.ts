import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  INFERENCE_DEFAULT_PORTS,
  MANAGEMENT_DEFAULT_PORTS,
  METRICS_DEFAULT_PORTS,
  formatListenAddress,
  parseListenAddress,
} from './listen-address.js';

describe('parseListenAddress', () => {
  it('parses an http address with an explicit port', () => {
    assert.deepEqual(parseListenAddress('http://127.0.0.1:8080', INFERENCE_DEFAULT_PORTS), {
      ok: true,
      value: { scheme: 'http', host: '127.0.0.1', port: 8080, path: null },
    });
  });

  it('accepts the scheme in any case and normalizes it', () => {
    const parsed = parseListenAddress('HTTPS://Example.com:9443', INFERENCE_DEFAULT_PORTS);
    assert.deepEqual(parsed, { ok: true, value: { scheme: 'https', host: 'Example.com', port: 9443, path: null } });
  });

  it('fills in the per-listener default ports', () => {
    const port = (text: string, defaults: typeof INFERENCE_DEFAULT_PORTS): number | null => {
      const parsed = parseListenAddress(text, defaults);
      assert.ok(parsed.ok);
      return parsed.value.port;
    };
    assert.equal(port('http://0.0.0.0', INFERENCE_DEFAULT_PORTS), 80);
    assert.equal(port('https://0.0.0.0', INFERENCE_DEFAULT_PORTS), 443);
    assert.equal(port('http://0.0.0.0', MANAGEMENT_DEFAULT_PORTS), 8081);
    assert.equal(port('https://0.0.0.0', MANAGEMENT_DEFAULT_PORTS), 8444);
    assert.equal(port('http://0.0.0.0', METRICS_DEFAULT_PORTS), 8082);
    assert.equal(port('https://0.0.0.0', METRICS_DEFAULT_PORTS), 8445);
  });

  it('allows port 0 and 65534 but refuses 65535', () => {
    assert.equal(parseListenAddress('http://localhost:0', INFERENCE_DEFAULT_PORTS).ok, true);
    assert.equal(parseListenAddress('http://localhost:65534', INFERENCE_DEFAULT_PORTS).ok, true);
    const refused = parseListenAddress('http://localhost:65535', INFERENCE_DEFAULT_PORTS);
    assert.equal(refused.ok, false);
  });

  it('accepts a bracketed IPv6 host and strips the brackets', () => {
    const parsed = parseListenAddress('http://[::1]:8080', INFERENCE_DEFAULT_PORTS);
    assert.deepEqual(parsed, { ok: true, value: { scheme: 'http', host: '::1', port: 8080, path: null } });
    const noPort = parseListenAddress('https://[fe80::1]', MANAGEMENT_DEFAULT_PORTS);
    assert.deepEqual(noPort, { ok: true, value: { scheme: 'https', host: 'fe80::1', port: 8444, path: null } });
  });

  it('parses a unix socket address', () => {
    assert.deepEqual(parseListenAddress('unix:/tmp/lantern.sock', INFERENCE_DEFAULT_PORTS), {
      ok: true,
      value: { scheme: 'unix', host: null, port: null, path: '/tmp/lantern.sock' },
    });
  });

  it('refuses other schemes, paths, missing hosts and junk ports', () => {
    const refused = ['ftp://host:21', 'http://host:80/path', 'http://:8080', 'http://host:abc', 'host:8080', 'unix:rel', ''];
    for (const text of refused) {
      assert.equal(parseListenAddress(text, INFERENCE_DEFAULT_PORTS).ok, false, text);
    }
  });

  it('formats an address back into TorchServe syntax', () => {
    assert.equal(formatListenAddress({ scheme: 'http', host: '::1', port: 0, path: null }), 'http://[::1]:0');
    assert.equal(formatListenAddress({ scheme: 'https', host: 'h', port: 8443, path: null }), 'https://h:8443');
    assert.equal(formatListenAddress({ scheme: 'unix', host: null, port: null, path: '/s' }), 'unix:/s');
  });
});
