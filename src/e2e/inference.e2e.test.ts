// The inference API (spec §2): what the handler receives for each kind of body, what reaches
// the HTTP response from the handler, and the errors for unknown or unserved models.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { expectError, expectStatus, lanternPerTest, request, UUID, type Lantern, type MarSpec } from './harness.js';

const ECHO: MarSpec = { file: 'echo.mar', handler: 'echo_handler.py', modelName: 'echo' };
const RESPONDER: MarSpec = { file: 'responder.mar', handler: 'response_handler.py', modelName: 'responder' };

interface Seen {
  keys: string[];
  values: Record<string, { type: 'bytes'; hex: string } | { type: 'str'; value: string } | { type: 'json'; value: unknown }>;
  headers: Record<string, unknown>;
  request_id: string;
  batch: number;
}

async function startWithEcho(lanterns: ReturnType<typeof lanternPerTest>, extra: MarSpec[] = []): Promise<Lantern> {
  const lantern = await lanterns.start({ archives: [ECHO, ...extra] });
  expectStatus(
    await request('POST', `${lantern.management}/models?url=echo.mar&initial_workers=1&synchronous=true`),
    200,
    'Model "echo" Version: 1.0 registered with 1 initial workers',
  );
  return lantern;
}

async function predict(lantern: Lantern, body: string | Buffer | FormData | undefined, headers?: Record<string, string>): Promise<Seen> {
  const reply = await request('POST', `${lantern.inference}/predictions/echo`, { body, headers });
  assert.equal(reply.status, 200, reply.text);
  return reply.json<Seen>();
}

/** A request over node:http, which sends header names exactly as given. */
function rawPost(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('inference API', () => {
  const lanterns = lanternPerTest({ afterEach });

  describe('handler input', () => {
    it('decodes a JSON body into a JSON value under "body"', async () => {
      const lantern = await startWithEcho(lanterns);
      const seen = await predict(lantern, JSON.stringify({ a: [1, 2], b: 'c' }), { 'content-type': 'application/json; charset=utf-8' });
      assert.deepEqual(seen.keys, ['body']);
      assert.deepEqual(seen.values.body, { type: 'json', value: { a: [1, 2], b: 'c' } });
      assert.deepEqual(seen.headers.body, { 'content-type': 'application/json' }, 'the mime type without parameters');
      assert.equal(seen.batch, 1);
    });

    it('passes a text body as a string', async () => {
      const lantern = await startWithEcho(lanterns);
      const seen = await predict(lantern, 'héllo wörld', { 'content-type': 'text/plain' });
      assert.deepEqual(seen.values.body, { type: 'str', value: 'héllo wörld' });
    });

    it('passes a binary body as raw bytes', async () => {
      const lantern = await startWithEcho(lanterns);
      const bytes = Buffer.from([0, 1, 2, 254, 255, 0x7b]);
      const seen = await predict(lantern, bytes, { 'content-type': 'application/octet-stream' });
      assert.deepEqual(seen.values.body, { type: 'bytes', hex: bytes.toString('hex') });
      const untyped = await predict(lantern, bytes);
      assert.deepEqual(untyped.values.body, { type: 'bytes', hex: bytes.toString('hex') }, 'no content type: raw bytes');
      assert.equal(untyped.headers['content-type'], undefined);
    });

    it('passes a large binary body, read in many chunks and sent to the worker uncopied, byte for byte', async () => {
      const lantern = await startWithEcho(lanterns);
      const bytes = randomBytes(700_000);
      const seen = await predict(lantern, bytes, { 'content-type': 'application/octet-stream' });
      assert.equal(seen.values.body?.type, 'bytes');
      assert.ok(seen.values.body?.type === 'bytes' && seen.values.body.hex === bytes.toString('hex'), 'the handler got other bytes');
    });

    it('passes an empty body as an empty "body" parameter', async () => {
      const lantern = await startWithEcho(lanterns);
      const seen = await predict(lantern, undefined);
      assert.deepEqual(seen.keys, ['body']);
      assert.deepEqual(seen.values.body, { type: 'bytes', hex: '' });
    });

    it('passes multipart fields and files as separate parameters', async () => {
      const lantern = await startWithEcho(lanterns);
      const form = new FormData();
      form.append('name', 'lantern');
      form.append('data', new Blob([Buffer.from([9, 8, 7])], { type: 'application/octet-stream' }), 'input.bin');
      form.append('meta', new Blob(['{"k": 1}'], { type: 'application/json' }), 'meta.json');
      const seen = await predict(lantern, form);
      assert.deepEqual(seen.keys, ['data', 'meta', 'name']);
      assert.deepEqual(seen.values.name, { type: 'bytes', hex: Buffer.from('lantern').toString('hex') }, 'a plain field has no content type');
      assert.deepEqual(seen.values.data, { type: 'bytes', hex: '090807' });
      assert.deepEqual(seen.values.meta, { type: 'json', value: { k: 1 } });
      assert.deepEqual(seen.headers.data, { 'content-type': 'application/octet-stream' });
      assert.deepEqual(seen.headers.meta, { 'content-type': 'application/json' });
    });

    it('passes url-encoded form fields as separate parameters', async () => {
      const lantern = await startWithEcho(lanterns);
      const seen = await predict(lantern, 'a=1&b=two', { 'content-type': 'application/x-www-form-urlencoded' });
      assert.deepEqual(seen.keys, ['a', 'b']);
      assert.deepEqual(seen.values.b, { type: 'bytes', hex: Buffer.from('two').toString('hex') });
    });

    it('shows the request headers to the handler, names as sent, plus url_path and explain', async () => {
      const lantern = await startWithEcho(lanterns);
      const reply = await rawPost(`${lantern.inference}/predictions/echo`, { 'X-Custom-Thing': 'abc', 'x-request-id': 'client-chosen', 'Content-Type': 'text/plain' }, 'hi');
      assert.equal(reply.status, 200, reply.text);
      const seen = JSON.parse(reply.text) as Seen;
      assert.equal(seen.headers['X-Custom-Thing'], 'abc');
      assert.equal(seen.headers['x-request-id'], 'client-chosen', 'an incoming x-request-id is an ordinary header');
      assert.equal(seen.headers.url_path, '');
      assert.equal(seen.headers.explain, 'False');
      // The response id is a fresh UUID, and it is the request id the handler saw.
      assert.match(String(reply.headers['x-request-id']), UUID);
      assert.equal(seen.request_id, reply.headers['x-request-id']);
    });

    it('passes extra path segments as url_path and marks explanations', async () => {
      const lantern = await startWithEcho(lanterns);
      const reply = await request('POST', `${lantern.inference}/predictions/echo/1.0/a/b`, { body: 'x' });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.json<Seen>().headers.url_path, 'a/b');
      const explained = await request('POST', `${lantern.inference}/explanations/echo`, { body: 'x' });
      assert.equal(explained.json<Seen>().headers.explain, 'True');
    });
  });

  describe('handler output', () => {
    it('sends no content type by default and a fresh x-request-id per response', async () => {
      const lantern = await startWithEcho(lanterns);
      const ids = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const reply = await request('POST', `${lantern.inference}/predictions/echo`, { body: '{}', headers: { 'content-type': 'application/json' } });
        assert.equal(reply.status, 200);
        assert.equal(reply.headers.get('content-type'), null, 'no content type unless the handler sets one');
        const id = reply.headers.get('x-request-id') ?? '';
        assert.match(id, UUID);
        assert.equal(reply.json<Seen>().request_id, id);
        ids.add(id);
      }
      assert.equal(ids.size, 3);
    });

    it('sends the status, reason phrase, content type and headers set by the handler', async () => {
      const lantern = await lanterns.start({ archives: [RESPONDER] });
      await request('POST', `${lantern.management}/models?url=responder.mar&initial_workers=1&synchronous=true`);
      const spec = { status: 201, phrase: 'Made It', content_type: 'text/csv', headers: { 'X-Model-Header': 'from the handler' }, text: 'a,b\n1,2\n' };
      const reply = await request('POST', `${lantern.inference}/predictions/responder`, { body: JSON.stringify(spec), headers: { 'content-type': 'application/json' } });
      assert.equal(reply.status, 201);
      assert.equal(reply.statusText, 'Made It');
      assert.equal(reply.headers.get('content-type'), 'text/csv');
      assert.equal(reply.headers.get('x-model-header'), 'from the handler');
      assert.equal(reply.text, 'a,b\n1,2\n');
      assert.match(reply.headers.get('x-request-id') ?? '', UUID);

      const teapot = await request('POST', `${lantern.inference}/predictions/responder`, {
        body: JSON.stringify({ status: 418, text: 'short and stout' }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(teapot.status, 418);
      assert.equal(teapot.text, 'short and stout');
      assert.equal(teapot.headers.get('content-type'), null);
    });

    it('answers 503 "Prediction failed" when the handler raises, and keeps serving', async () => {
      const lantern = await lanterns.start({ archives: [RESPONDER] });
      await request('POST', `${lantern.management}/models?url=responder.mar&initial_workers=1&synchronous=true`);
      // Not JSON: json.loads raises inside the handler.
      expectError(await request('POST', `${lantern.inference}/predictions/responder`, { body: 'not json' }), 503, 'InternalServerException', 'Prediction failed');
      const ok = await request('POST', `${lantern.inference}/predictions/responder`, { body: '{"text": "fine"}', headers: { 'content-type': 'application/json' } });
      assert.equal(ok.status, 200);
      assert.equal(ok.text, 'fine');
    });
  });

  describe('errors and health', () => {
    it('answers 404 for an unknown model or version', async () => {
      const lantern = await startWithEcho(lanterns);
      expectError(await request('POST', `${lantern.inference}/predictions/nope`, { body: 'x' }), 404, 'ModelNotFoundException', 'Model not found: nope');
      expectError(
        await request('POST', `${lantern.inference}/predictions/echo/7.0`, { body: 'x' }),
        404,
        'ModelVersionNotFoundException',
        'Model version: 7.0 does not exist for model: echo',
      );
    });

    it('answers 503 for a model without workers', async () => {
      const lantern = await lanterns.start({ archives: [ECHO] });
      await request('POST', `${lantern.management}/models?url=echo.mar`);
      const tail = ' has no worker to serve inference request. Please use scale workers API to add workers. If this is a sequence inference, please check if it is closed, or expired; or exceeds maxSequenceJobQueueSize';
      expectError(await request('POST', `${lantern.inference}/predictions/echo`, { body: 'x' }), 503, 'ServiceUnavailableException', `Model "echo"${tail}`);
      expectError(await request('POST', `${lantern.inference}/predictions/echo/1.0`, { body: 'x' }), 503, 'ServiceUnavailableException', `Model "echo" Version 1.0"${tail}`);
    });

    it('reports Healthy on /ping, with and without models', async () => {
      const lantern = await lanterns.start({ archives: [ECHO] });
      for (const method of ['GET', 'POST']) expectStatus(await request(method, `${lantern.inference}/ping`), 200, 'Healthy');
      await request('POST', `${lantern.management}/models?url=echo.mar&initial_workers=1&synchronous=true`);
      expectStatus(await request('GET', `${lantern.inference}/ping`), 200, 'Healthy');
    });

    it('answers 404 ResourceNotFoundException for unknown inference paths', async () => {
      const lantern = await startWithEcho(lanterns);
      for (const path of ['/predictions', '/nothing/here', '/models']) {
        expectError(
          await request('POST', `${lantern.inference}${path}`, { body: 'x' }),
          404,
          'ResourceNotFoundException',
          'Requested resource is not found, please refer to API document.',
        );
      }
    });
  });
});
