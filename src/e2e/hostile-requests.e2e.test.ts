// Hostile requests (issue #3 items 4–5, CVE-2024-35199): oversized bodies, headers and responses,
// malformed JSON, multipart and paths, plain HTTP on a TLS listener, and listeners that must not be
// reachable from other machines by default. Each refusal is exact and leaves the server serving.
import { afterEach, before, after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/load-config.js';
import { httpsRequest, makeTestCertificate, type TestCertificate } from '../http/self-signed-certificate.js';
import { expectError, lanternPerTest, request, waitFor, type Lantern, type MarSpec } from './harness.js';
import { expectUnchanged, FREE_PORTS, observe } from './hostile-support.js';
import { holdFile, waitForLine, waitForQueued } from './observed-state.js';

const NOOP: MarSpec = { file: 'noop.mar', handler: 'echo_handler.py', modelName: 'noop' };
const RESPONDER: MarSpec = { file: 'responder.mar', handler: 'response_handler.py', modelName: 'responder' };
const SLOW: MarSpec = { file: 'slow.mar', handler: 'slow_handler.py', modelName: 'slow' };
const MIB = 1024 * 1024;

/** Raw bytes in, everything the server sends until it closes out. */
function raw(url: string, bytes: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('connect', () => socket.write(bytes));
  });
}

const jsonBody = (text: string): unknown => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));

async function withWorker(lantern: Lantern, model: string): Promise<void> {
  await request('PUT', `${lantern.management}/models/${model}?min_worker=1&synchronous=true`);
  await waitFor('a healthy server', async () => (await request('GET', `${lantern.inference}/ping`)).status === 200, 60_000);
}

describe('hostile requests', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('refuses bodies over max_request_size with 413 on both APIs, declared or chunked', async () => {
    const lantern = await lanterns.start({ archives: [NOOP], properties: [...FREE_PORTS, 'max_request_size=1000', 'load_models=noop.mar'] });
    await withWorker(lantern, 'noop');
    const before = await observe(lantern);
    const tooLarge = (reply: Awaited<ReturnType<typeof request>>): void =>
      expectError(reply, 413, 'RequestEntityTooLargeException', 'Request body exceeds max_request_size (1000 bytes)');
    tooLarge(await request('POST', `${lantern.inference}/predictions/noop`, { body: 'x'.repeat(1001) }));
    tooLarge(await request('POST', `${lantern.inference}/no/such/route`, { body: 'x'.repeat(50_000) }));
    tooLarge(await request('POST', `${lantern.management}/models`, { body: JSON.stringify({ url: 'noop.mar', pad: 'x'.repeat(2000) }), headers: { 'content-type': 'application/json' } }));
    const chunked = await raw(
      lantern.inference,
      `POST /predictions/noop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${'3e8\r\n' + 'y'.repeat(1000) + '\r\n'}${'3e8\r\n' + 'y'.repeat(1000) + '\r\n'}0\r\n\r\n`,
    );
    assert.match(chunked, /^HTTP\/1\.1 413 /);
    assert.deepEqual(jsonBody(chunked), { code: 413, type: 'RequestEntityTooLargeException', message: 'Request body exceeds max_request_size (1000 bytes)' });
    const fits = await request('POST', `${lantern.inference}/predictions/noop`, { body: 'x'.repeat(1000) });
    assert.equal(fits.status, 200, fits.text);
    await expectUnchanged(lantern, before);
  });

  it('answers oversized and malformed request heads with 400 Invalid HTTP message', async () => {
    const lantern = await lanterns.start({ properties: FREE_PORTS });
    const before = await observe(lantern);
    const invalid = { code: 400, type: 'BadRequestException', message: 'Invalid HTTP message.' };
    for (const base of [lantern.inference, lantern.management]) {
      const big = await raw(base, `GET /models HTTP/1.1\r\nHost: x\r\nx-pad: ${'a'.repeat(20_000)}\r\n\r\n`);
      assert.match(big, /^HTTP\/1\.1 400 /);
      assert.deepEqual(jsonBody(big), invalid);
      // 24 KB of small headers: node:http counts only their names and values (16 KB), Lantern the whole head.
      const manySmall = Array.from({ length: 2000 }, (_, i) => `x-h${String(i).padStart(4, '0')}: v\r\n`).join('');
      const many = await raw(base, `GET /models HTTP/1.1\r\nHost: x\r\n${manySmall}\r\n`);
      assert.match(many, /^HTTP\/1\.1 400 /);
      assert.deepEqual(jsonBody(many), invalid);
      const smuggled = await raw(base, 'POST /models HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
      assert.match(smuggled, /^HTTP\/1\.1 400 /);
      const garbage = await raw(base, 'HELLO\x00\x01\r\n\r\n');
      assert.deepEqual(jsonBody(garbage), invalid);
    }
    expectError(await request('GET', `${lantern.management}/models/%E0%A4%A`), 400, 'BadRequestException', 'Invalid HTTP message.');
    await expectUnchanged(lantern, before);
  });

  it('answers a body sent a byte at a time with 408 once request_body_timeout_ms has passed', async () => {
    const lantern = await lanterns.start({ properties: [...FREE_PORTS, 'request_body_timeout_ms=1500'] });
    const before = await observe(lantern);
    const { port } = new URL(lantern.management);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      const chunks: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
      socket.on('close', () => {
        clearInterval(timer);
        resolve(Buffer.concat(chunks).toString('latin1'));
      });
      socket.on('connect', () => {
        socket.write('POST /models HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
        // One byte every 200 ms: the whole body would take 200 s.
        timer = setInterval(() => (socket.writable ? socket.write(' ') : undefined), 200);
      });
    });
    assert.match(reply, /^HTTP\/1\.1 408 /);
    assert.deepEqual(jsonBody(reply), { code: 408, type: 'RequestTimeoutException', message: 'The request was not received in time.' });
    await expectUnchanged(lantern, before);
  });

  it('answers malformed JSON registrations with 400 and registers nothing', async () => {
    const lantern = await lanterns.start({ archives: [NOOP], properties: FREE_PORTS });
    const before = await observe(lantern);
    const post = (body: string) => request('POST', `${lantern.management}/models`, { body, headers: { 'content-type': 'application/json' } });
    expectError(await post('{"url": "noop.mar"'), 400, 'BadRequestException', 'Invalid JSON in request body.');
    expectError(await post('\u0000'), 400, 'BadRequestException', 'Invalid JSON in request body.');
    expectError(await post('["noop.mar"]'), 400, 'BadRequestException', 'Request body must be a JSON object.');
    expectError(await post('{"url": {"$ne": null}}'), 400, 'BadRequestException', 'Parameter url must be a string, number or boolean.');
    expectError(await post('{}'), 400, 'BadRequestException', 'Parameter url is required.');
    await expectUnchanged(lantern, before);
  });

  it('answers malformed multipart predictions with 400 and keeps predicting', async () => {
    const lantern = await lanterns.start({ archives: [NOOP], properties: [...FREE_PORTS, 'load_models=noop.mar'] });
    await withWorker(lantern, 'noop');
    const before = await observe(lantern);
    const predict = (contentType: string, body: string) =>
      request('POST', `${lantern.inference}/predictions/noop`, { body, headers: { 'content-type': contentType } });
    expectError(await predict('multipart/form-data', 'x'), 400, 'BadRequestException', 'Invalid form data: Multipart: Boundary not found');
    expectError(
      await predict('multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="data"\r\n\r\nunfinished'),
      400,
      'BadRequestException',
      'Invalid form data: Unexpected end of form',
    );
    const ok = await predict('multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="data"\r\n\r\nhello\r\n--b--\r\n');
    assert.equal(ok.status, 200, ok.text);
    await expectUnchanged(lantern, before);
  });

  it('refuses bodies over max_inflight_request_bytes with 503 before buffering them, answers each request once and keeps serving', async () => {
    const lantern = await lanterns.start({ archives: [SLOW], properties: [...FREE_PORTS, 'load_models=slow.mar', `max_inflight_request_bytes=${8 * MIB}`] });
    await withWorker(lantern, 'slow');
    const predict = `${lantern.inference}/predictions/slow`;
    const hold = holdFile(lantern, 'burst');
    const held = request('POST', predict, { body: hold.body });
    await waitForLine(lantern.logs, 'slow_handler: holding until');
    // A 3 MiB body the handler reads as "sleep 0 seconds"; two fit in 8 MiB beside the held request.
    const big = `0${' '.repeat(3 * MIB - 1)}`;
    const replies: Array<Awaited<ReturnType<typeof request>> | null> = Array.from({ length: 5 }, () => null);
    const burst = replies.map((_, i) => request('POST', predict, { body: big }).then((reply) => (replies[i] = reply)));
    await waitFor('the refused requests to be answered', () => replies.filter((r) => r !== null).length >= 3, 60_000);
    await waitForQueued(lantern, 'slow', 2);
    await hold.release();
    assert.equal((await held).status, 200);
    await Promise.all(burst);
    const statuses = replies.map((r) => r?.status).sort();
    assert.deepEqual(statuses, [200, 200, 503, 503, 503]);
    for (const reply of replies) {
      if (reply?.status === 503) {
        expectError(reply, 503, 'ServiceUnavailableException', `Server busy: request bodies in flight would exceed max_inflight_request_bytes (${8 * MIB} bytes); retry later`);
      }
    }
    // Every byte was given back: the same bodies fit again, two at a time.
    const again = await Promise.all([request('POST', predict, { body: big }), request('POST', predict, { body: big })]);
    assert.deepEqual(again.map((r) => r.status), [200, 200]);
  });

  it('answers a response over max_response_size with a clear 500 and keeps serving', async () => {
    const lantern = await lanterns.start({ archives: [RESPONDER], properties: [...FREE_PORTS, 'max_response_size=2000', 'load_models=responder.mar'] });
    await withWorker(lantern, 'responder');
    const big = await request('POST', `${lantern.inference}/predictions/responder`, {
      body: JSON.stringify({ text: 'z'.repeat(5000) }),
      headers: { 'content-type': 'application/json' },
    });
    expectError(
      big,
      500,
      'InternalServerException',
      "Message size exceed limit: 5000\nConsider increasing the 'max_response_size' in 'config.properties' to fix.",
    );
    await waitFor('the worker to come back', async () => (await request('GET', `${lantern.inference}/ping`)).status === 200, 60_000);
    const small = await request('POST', `${lantern.inference}/predictions/responder`, {
      body: JSON.stringify({ text: 'fine' }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(small.status, 200, small.text);
    assert.equal(small.text, 'fine');
  });
});

describe('TLS listeners', () => {
  const lanterns = lanternPerTest({ afterEach });
  let dir = '';
  let certificate: TestCertificate;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lantern-tls-e2e-'));
    certificate = await makeTestCertificate(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves both APIs over https with certificate_file and private_key_file, tokens included', async () => {
    const lantern = await lanterns.start({
      properties: [
        ...FREE_PORTS,
        'inference_address=https://127.0.0.1:0',
        'management_address=https://127.0.0.1:0',
        `certificate_file=${certificate.certificateFile}`,
        `private_key_file=${certificate.privateKeyFile}`,
        'disable_token_authorization=false',
      ],
    });
    assert.match(lantern.inference, /^https:/);
    assert.match(lantern.management, /^https:/);
    const keys = JSON.parse(await readFile(lantern.server.keyFile ?? '', 'utf8')) as { inference: { key: string }; management: { key: string } };
    const ping = await httpsRequest('GET', `${lantern.inference}/ping`, certificate.cert, { authorization: `Bearer ${keys.inference.key}` });
    assert.equal(ping.status, 200, ping.text);
    const list = await httpsRequest('GET', `${lantern.management}/models`, certificate.cert, { authorization: `Bearer ${keys.management.key}` });
    assert.equal(list.text, `${JSON.stringify({ models: [] }, null, 2)}\n`);
    const refused = await httpsRequest('GET', `${lantern.management}/models`, certificate.cert);
    assert.equal(refused.status, 400);
    const plain = await request('GET', lantern.management.replace('https:', 'http:') + '/models');
    assert.equal(plain.status, 403);
    assert.deepEqual(plain.json(), { status: 'This TorchServe instance only accepts HTTPS requests' });
  });
});

describe('default listeners (CVE-2024-35199)', () => {
  it('bind every REST and gRPC listener to 127.0.0.1 unless told otherwise', () => {
    const { config } = loadConfig({ fileText: null, cli: {}, env: {} });
    for (const address of [config.inference_address, config.management_address, config.metrics_address]) {
      assert.equal(address.host, '127.0.0.1');
    }
    assert.equal(config.grpc_inference_address, '127.0.0.1');
    assert.equal(config.grpc_management_address, '127.0.0.1');
    assert.equal(config.disable_token_authorization, false, 'and token authorization is on');
  });
});
