import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseListenAddress, INFERENCE_DEFAULT_PORTS } from '../config/listen-address.js';
import { HttpEdge, MAX_HEADER_BYTES, type HttpEdgeOptions } from './http-edge.js';
import { readBody } from './request-body.js';
import { sendJson } from './respond.js';
import type { Route } from './route-table.js';
import { httpsRequest, makeTestCertificate, type TestCertificate } from './self-signed-certificate.js';

const ROUTES: Route[] = [
  {
    api: 'inference',
    path: '/echo',
    operations: {
      ANY: {
        summary: 'echo',
        handler: async (ex) => {
          const body = await readBody(ex.req, 1024, ex.bodyAllowance ?? null);
          sendJson(ex.res, ex.ctx, 200, { method: ex.method, length: body.length });
        },
      },
    },
  },
];

function edge(overrides: Partial<HttpEdgeOptions> = {}): { edge: HttpEdge; refused: string[] } {
  const refused: string[] = [];
  const instance = new HttpEdge({
    routes: ROUTES,
    cors: { allowedOrigin: null, allowedMethods: null, allowedHeaders: null },
    version: 'test',
    logError: () => undefined,
    auth: null,
    logRefused: (line) => refused.push(line),
    maxRequestBytes: 1024,
    ...overrides,
  });
  return { edge: instance, refused };
}

const address = (text: string) => {
  const parsed = parseListenAddress(text, INFERENCE_DEFAULT_PORTS);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
};

/** Sends raw bytes, optionally in pieces with pauses, and collects everything until the server closes. */
function rawExchange(port: number, pieces: ReadonlyArray<string | Buffer>, pauseMs = 0): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.on('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), closedAfterMs: Date.now() - started }));
    socket.on('connect', async () => {
      for (const piece of pieces) {
        if (socket.destroyed) return;
        socket.write(piece);
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    });
  });
}

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const bodyOf = (raw: string): unknown => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));

describe('HTTP edge limits', () => {
  it('answers a head that arrives too slowly with 408 and closes the connection', async () => {
    const { edge: e, refused } = edge({ timeouts: { headersMs: 300, checkIntervalMs: 50 } });
    const port = (await e.listen('inference', address('http://127.0.0.1:0'))).port ?? 0;
    try {
      // One header line every 150 ms: never finished in time.
      const pieces = ['GET /echo HTTP/1.1\r\n', ...Array.from({ length: 40 }, (_, i) => `x-slow-${i}: 1\r\n`)];
      const { text } = await rawExchange(port, pieces, 150);
      assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.match(text, /\r\nconnection: close\r\n/i);
      assert.deepEqual(bodyOf(text), { code: 408, type: 'RequestTimeoutException', message: 'The request was not received in time.' });
      assert.ok(refused.some((line) => line.includes('ERR_HTTP_REQUEST_TIMEOUT')));
    } finally {
      await e.close();
    }
  });

  it('answers a head larger than the limit with 400 Invalid HTTP message', async () => {
    const { edge: e } = edge();
    const port = (await e.listen('inference', address('http://127.0.0.1:0'))).port ?? 0;
    try {
      const { text } = await rawExchange(port, [`GET /echo HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`]);
      assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.deepEqual(bodyOf(text), { code: 400, type: 'BadRequestException', message: 'Invalid HTTP message.' });
    } finally {
      await e.close();
    }
  });

  it('answers bytes that are not HTTP with 400 Invalid HTTP message', async () => {
    const { edge: e } = edge();
    const port = (await e.listen('inference', address('http://127.0.0.1:0'))).port ?? 0;
    try {
      const { text } = await rawExchange(port, ['GET /echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello']);
      assert.deepEqual(bodyOf(text), { code: 400, type: 'BadRequestException', message: 'Invalid HTTP message.' });
      const garbage = await rawExchange(port, ['\x00\x01\x02 nonsense\r\n\r\n']);
      assert.deepEqual(bodyOf(garbage.text), { code: 400, type: 'BadRequestException', message: 'Invalid HTTP message.' });
    } finally {
      await e.close();
    }
  });

  it('refuses a declared body over max_request_size with 413 without reading it into memory', async () => {
    const { edge: e } = edge();
    const port = (await e.listen('inference', address('http://127.0.0.1:0'))).port ?? 0;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/anything`, { method: 'POST', body: 'x'.repeat(1025) });
      assert.equal(res.status, 413);
      assert.deepEqual(await res.json(), {
        code: 413,
        type: 'RequestEntityTooLargeException',
        message: 'Request body exceeds max_request_size (1024 bytes)',
      });
      const ok = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', body: 'x'.repeat(1024) });
      assert.deepEqual(await ok.json(), { method: 'POST', length: 1024 });
    } finally {
      await e.close();
    }
  });

  it('refuses a chunked body that grows over max_request_size with 413', async () => {
    const { edge: e } = edge();
    const port = (await e.listen('inference', address('http://127.0.0.1:0'))).port ?? 0;
    try {
      const chunk = `400\r\n${'y'.repeat(1024)}\r\n`;
      const { text } = await rawExchange(port, [`POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`, chunk, chunk, '0\r\n\r\n']);
      assert.match(text, /^HTTP\/1\.1 413 /);
      assert.equal((bodyOf(text) as { type: string }).type, 'RequestEntityTooLargeException');
    } finally {
      await e.close();
    }
  });

  it('counts the whole head against the limit: many small headers over 16 KiB get 400', async () => {
    const { edge: e } = edge();
    const port = (await e.listen('inference', address('http://127.0.0.1:0'))).port ?? 0;
    try {
      // 2,000 lines of 12 bytes: 24 KB on the wire, though node:http counts only 16,000 of them.
      const headers = Array.from({ length: 2000 }, (_, i) => `x-h${String(i).padStart(4, '0')}: v\r\n`).join('');
      const { text } = await rawExchange(port, [`GET /echo HTTP/1.1\r\nHost: x\r\n${headers}\r\n`]);
      assert.match(text, /^HTTP\/1\.1 400 /);
      assert.deepEqual(bodyOf(text), { code: 400, type: 'BadRequestException', message: 'Invalid HTTP message.' });
      const fits = Array.from({ length: 1000 }, (_, i) => `x-h${String(i).padStart(4, '0')}: v\r\n`).join('');
      assert.match((await rawExchange(port, [`GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${fits}\r\n`])).text, /^HTTP\/1\.1 200 /);
    } finally {
      await e.close();
    }
  });

  it('answers a body that arrives too slowly with 408 within requestMs', async () => {
    const { edge: e } = edge({ timeouts: { requestMs: 1000, checkIntervalMs: 50 } });
    const port = (await e.listen('inference', address('http://127.0.0.1:0'))).port ?? 0;
    try {
      // One byte every 200 ms of a 100-byte body: 20 s to send it all.
      const pieces = ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', ...Array.from({ length: 100 }, () => 'b')];
      const { text, closedAfterMs } = await rawExchange(port, pieces, 200);
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.match(text, /\r\nconnection: close\r\n/i);
      assert.deepEqual(bodyOf(text), { code: 408, type: 'RequestTimeoutException', message: 'The request was not received in time.' });
      assert.ok(closedAfterMs < 10_000, `closed after ${closedAfterMs} ms`);
    } finally {
      await e.close();
    }
  });

  it('refuses a body that would take the bytes in flight over max_inflight_request_bytes with 503, and gives them back', async () => {
    const { edge: e } = edge({ maxInflightRequestBytes: 700 });
    const port = (await e.listen('inference', address('http://127.0.0.1:0'))).port ?? 0;
    try {
      const chunk = `100\r\n${'y'.repeat(256)}\r\n`;
      const { text } = await rawExchange(port, ['POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', chunk, chunk, chunk, '0\r\n\r\n'], 20);
      assert.match(text, /^HTTP\/1\.1 503 /);
      assert.deepEqual(bodyOf(text), {
        code: 503,
        type: 'ServiceUnavailableException',
        message: 'Server busy: request bodies in flight would exceed max_inflight_request_bytes (700 bytes); retry later',
      });
      const declared = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', body: 'x'.repeat(701) });
      assert.equal(declared.status, 503);
      await declared.arrayBuffer();
      for (let i = 0; i < 3; i++) {
        const ok = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', body: 'x'.repeat(600) });
        assert.deepEqual(await ok.json(), { method: 'POST', length: 600 }, 'the bytes of answered requests are given back');
      }
    } finally {
      await e.close();
    }
  });

  it('keeps at most maxConnectionsPerListener connections, closing the oldest idle one for a new one', async () => {
    const { edge: e, refused } = edge({ maxConnectionsPerListener: 3 });
    const port = (await e.listen('inference', address('http://127.0.0.1:0'))).port ?? 0;
    const idle: net.Socket[] = [];
    let closed = 0;
    try {
      for (let i = 0; i < 6; i++) {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.on('close', () => closed++);
        idle.push(socket);
      }
      await waitUntil(() => closed >= 3);
      const res = await fetch(`http://127.0.0.1:${port}/echo`);
      assert.deepEqual(await res.json(), { method: 'GET', length: 0 });
      await waitUntil(() => refused.some((line) => line.includes('max_connections_per_listener=3')));
    } finally {
      for (const socket of idle) socket.destroy();
      await e.close();
    }
  });

  it('closes an idle keep-alive connection after keepAliveMs', async () => {
    const { edge: e } = edge({ timeouts: { keepAliveMs: 200, checkIntervalMs: 50 } });
    const port = (await e.listen('inference', address('http://127.0.0.1:0'))).port ?? 0;
    try {
      const { text, closedAfterMs } = await rawExchange(port, ['GET /echo HTTP/1.1\r\nHost: x\r\n\r\n']);
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.ok(closedAfterMs < 10_000, `closed after ${closedAfterMs} ms`);
    } finally {
      await e.close();
    }
  });
});

describe('HTTPS listeners', () => {
  let dir = '';
  let certificate: TestCertificate;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lantern-tls-'));
    certificate = await makeTestCertificate(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves https:// addresses with certificate_file and private_key_file', async () => {
    const { edge: e } = edge({ tls: certificate });
    const bound = await e.listen('inference', address('https://127.0.0.1:0'));
    try {
      assert.match(bound.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const reply = await httpsRequest('POST', `${bound.url}/echo`, certificate.cert, {}, 'abc');
      assert.equal(reply.status, 200);
      assert.deepEqual(JSON.parse(reply.text), { method: 'POST', length: 3 });
      assert.match(reply.protocol, /^TLSv1\.[23]$/);
    } finally {
      await e.close();
    }
  });

  it('answers plain HTTP on an https listener with 403', async () => {
    const { edge: e } = edge({ tls: certificate });
    const port = (await e.listen('inference', address('https://127.0.0.1:0'))).port ?? 0;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/echo`);
      assert.equal(res.status, 403);
      assert.equal(await res.text(), `${JSON.stringify({ status: 'This TorchServe instance only accepts HTTPS requests' }, null, 2)}\n`);
    } finally {
      await e.close();
    }
  });

  it('speaks TLS 1.2 and refuses TLS 1.1; clients that do not trust the certificate cannot connect', async () => {
    const { edge: e } = edge({ tls: certificate });
    const bound = await e.listen('inference', address('https://127.0.0.1:0'));
    try {
      await assert.rejects(httpsRequest('GET', `${bound.url}/echo`, Buffer.from('')), /self-signed|unable to verify|certificate/i);
      const other = await makeTestCertificate(dir, 'other-');
      await assert.rejects(httpsRequest('GET', `${bound.url}/echo`, other.cert), /self-signed|unable to verify|certificate|signature/i);
      const tls11 = await new Promise<string>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port: bound.port ?? 0, ca: certificate.cert, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
        socket.on('secureConnect', () => {
          resolve(`connected with ${socket.getProtocol() ?? '?'}`);
          socket.destroy();
        });
        socket.on('error', (err) => resolve(err.message));
      });
      assert.match(tls11, /protocol version|unsupported protocol|wrong version|ECONNRESET|socket disconnected/i);
      const tls12 = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: bound.port ?? 0, ca: certificate.cert, maxVersion: 'TLSv1.2' });
        socket.on('secureConnect', () => {
          resolve(socket.getProtocol() ?? '?');
          socket.destroy();
        });
        socket.on('error', reject);
      });
      assert.equal(tls12, 'TLSv1.2');
      const ok = await httpsRequest('GET', `${bound.url}/echo`, certificate.cert);
      assert.equal(ok.status, 200, 'still serves');
    } finally {
      await e.close();
    }
  });

  it('refuses to start an https listener without a usable certificate and key', async () => {
    const { edge: noFiles } = edge();
    await assert.rejects(noFiles.listen('inference', address('https://127.0.0.1:0')), /set certificate_file and private_key_file/);
    await noFiles.close();
    const bogus = path.join(dir, 'bogus.pem');
    await writeFile(bogus, 'not a key');
    const { edge: badKey } = edge({ tls: { certificateFile: certificate.certificateFile, privateKeyFile: bogus } });
    await assert.rejects(badKey.listen('inference', address('https://127.0.0.1:0')), /do not form a usable TLS key pair/);
    await badKey.close();
    const other = await makeTestCertificate(dir, 'mismatch-');
    const { edge: mismatch } = edge({ tls: { certificateFile: certificate.certificateFile, privateKeyFile: other.privateKeyFile } });
    await assert.rejects(mismatch.listen('inference', address('https://127.0.0.1:0')), /do not form a usable TLS key pair/);
    await mismatch.close();
    const { edge: missing } = edge({ tls: { certificateFile: path.join(dir, 'absent.pem'), privateKeyFile: certificate.privateKeyFile } });
    await assert.rejects(missing.listen('inference', address('https://127.0.0.1:0')), /Cannot read certificate_file/);
    await missing.close();
  });

  it('cuts off a TLS connection that never sends its first byte', async () => {
    const { edge: e } = edge({ tls: certificate, timeouts: { headersMs: 200, checkIntervalMs: 50 } });
    const port = (await e.listen('inference', address('https://127.0.0.1:0'))).port ?? 0;
    try {
      const { text } = await rawExchange(port, []);
      assert.equal(text, '');
    } finally {
      await e.close();
    }
  });
});
