// Model sources in S3 (issue #7, spec §1.3): a local S3-compatible server (moto, from PyPI) on
// 127.0.0.1 that authenticates every request and holds an object written with SSE-KMS. Registering
// its path-style http URL with s3_sse_kms=true signs the GET with SigV4; s3://bucket/key URLs go
// through the AWS SDK with AWS_ENDPOINT_URL. Wrong credentials and missing objects fail clearly and
// leave nothing in the model store.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArchiverArgs } from '../cli/archiver-args.js';
import { packModel } from '../cli/archiver-cli.js';
import { REPO_ROOT, closeAndCheck, dumpLogsOnFailure, request, startLantern, type Lantern } from './harness.js';

interface S3Fixture {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly bucket: string;
  readonly encryptedKey: string;
  readonly plainKey: string;
}

const AWS_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3'];

/** Starts moto's S3 server with `file` uploaded; resolves with what it printed. */
async function startMoto(file: string): Promise<{ child: ChildProcess; fixture: S3Fixture }> {
  const child = spawn('python3', [path.join(REPO_ROOT, 'test', 'fixtures', 's3', 'moto_s3.py'), file], { stdio: ['pipe', 'pipe', 'pipe'] });
  const errors: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => errors.push(line));
  const fixture = await new Promise<S3Fixture>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`moto did not start: ${errors.join('\n')}`)), 120_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as S3Fixture);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`moto exited with ${code}: ${errors.join('\n')}`));
    });
  });
  return { child, fixture };
}

describe('S3 model sources', () => {
  let work: string;
  let moto: ChildProcess | undefined;
  let s3: S3Fixture;
  let lantern: Lantern | undefined;
  const savedEnv = new Map(AWS_VARS.map((name) => [name, process.env[name]]));

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'lantern-s3-'));
    const src = path.join(work, 'src');
    await mkdir(src);
    await writeFile(
      path.join(src, 'greet.py'),
      'def handle(data, context):\n    if data is None:\n        return None\n    return ["encrypted model says hi" for _ in data]\n',
    );
    const command = parseArchiverArgs(['--model-name', 'greet', '-v', '1.0', '--handler', 'greet.py', '--export-path', work], src);
    assert.equal(command.kind, 'archive');
    await packModel(command.options, { cwd: src, report: () => undefined });
    ({ child: moto, fixture: s3 } = await startMoto(path.join(work, 'greet.mar')));
  });

  after(async () => {
    for (const [name, value] of savedEnv) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    if (moto !== undefined && moto.exitCode === null) {
      const exited = new Promise((resolve) => moto?.once('exit', resolve));
      moto.stdin?.end();
      const timer = setTimeout(() => moto?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(work, { recursive: true, force: true });
  });

  afterEach(async (t) => {
    dumpLogsOnFailure(t as { passed?: boolean; name: string }, lantern);
    if (lantern !== undefined) await closeAndCheck(lantern);
    lantern = undefined;
  });

  /** A server whose environment holds these AWS settings (read once at start). */
  const start = async (secretAccessKey: string): Promise<Lantern> => {
    for (const name of AWS_VARS) delete process.env[name];
    process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
    process.env.AWS_DEFAULT_REGION = s3.region;
    process.env.AWS_ENDPOINT_URL = s3.endpoint;
    lantern = await startLantern({ properties: ['allowed_urls=http(s)?://.*,s3://.*'] });
    return lantern;
  };

  const register = (server: Lantern, url: string, extra = ''): Promise<{ status: number; text: string; json<T>(): T }> =>
    request('POST', `${server.management}/models?url=${encodeURIComponent(url)}&initial_workers=1&synchronous=true${extra}`);

  const storeEntries = async (server: Lantern): Promise<string[]> => (await readdir(server.store)).sort();

  const objectUrl = (key: string): string => `${s3.endpoint}/${s3.bucket}/${key}`;

  it('downloads an SSE-KMS object with a SigV4-signed GET when s3_sse_kms=true, and refuses it unsigned', async () => {
    const server = await start(s3.secretAccessKey);
    const unsigned = await register(server, objectUrl(s3.encryptedKey));
    assert.equal(unsigned.status, 400, unsigned.text);
    assert.deepEqual(unsigned.json(), { code: 400, type: 'DownloadArchiveException', message: `Failed to download archive from: ${objectUrl(s3.encryptedKey)}` });
    assert.ok(server.logs.some((l) => /Download of .* failed: HTTP 403/.test(l)), 'the log says why');
    assert.deepEqual(await storeEntries(server), []);

    const signed = await register(server, objectUrl(s3.encryptedKey), '&s3_sse_kms=true');
    assert.equal(signed.status, 200, signed.text);
    const reply = await request('POST', `${server.inference}/predictions/greet`, { body: 'x' });
    assert.equal(reply.text, 'encrypted model says hi');
    assert.deepEqual(await storeEntries(server), ['greet.mar']);
    assert.equal((await request('DELETE', `${server.management}/models/greet`)).status, 200);
    assert.deepEqual(await storeEntries(server), [], 'unregistering deletes the downloaded copy');
  });

  it('accepts the JSON form of the register request with s3_sse_kms', async () => {
    const server = await start(s3.secretAccessKey);
    const reply = await request('POST', `${server.management}/models`, {
      body: JSON.stringify({ url: objectUrl(s3.encryptedKey), s3_sse_kms: true, initial_workers: 1 }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(reply.status, 200, reply.text);
  });

  it('fetches s3://bucket/key URLs with the AWS SDK through AWS_ENDPOINT_URL', async () => {
    const server = await start(s3.secretAccessKey);
    const reply = await register(server, `s3://${s3.bucket}/${s3.encryptedKey}`);
    assert.equal(reply.status, 200, reply.text);
    assert.equal((await request('POST', `${server.inference}/predictions/greet`, { body: 'x' })).text, 'encrypted model says hi');
  });

  it('fails clearly for a missing object and leaves nothing in the model store', async () => {
    const server = await start(s3.secretAccessKey);
    for (const [url, extra, reason] of [
      [`s3://${s3.bucket}/enc/missing.mar`, '', /NoSuchKey/],
      [objectUrl('enc/missing.mar'), '&s3_sse_kms=true', /HTTP 404.*NoSuchKey/],
    ] as const) {
      const reply = await register(server, url, extra);
      assert.equal(reply.status, 400, reply.text);
      assert.deepEqual(reply.json(), { code: 400, type: 'DownloadArchiveException', message: `Failed to download archive from: ${url}` });
      assert.ok(server.logs.some((l) => l.includes(`Download of ${url} failed`) && reason.test(l)), `log explains ${url}`);
    }
    assert.deepEqual(await storeEntries(server), []);
  });

  it('fails clearly with wrong credentials and leaves nothing in the model store', async () => {
    const server = await start('not-the-secret');
    for (const [url, extra] of [
      [objectUrl(s3.encryptedKey), '&s3_sse_kms=true'],
      [`s3://${s3.bucket}/${s3.encryptedKey}`, ''],
    ] as const) {
      const reply = await register(server, url, extra);
      assert.equal(reply.status, 400, reply.text);
      assert.ok(server.logs.some((l) => l.includes(`Download of ${url} failed`) && /SignatureDoesNotMatch/.test(l)), `log explains ${url}`);
    }
    assert.deepEqual(await storeEntries(server), []);
    assert.equal((await request('GET', `${server.management}/models`)).json<{ models: unknown[] }>().models.length, 0);
  });

  it('refuses s3:// URLs that allowed_urls does not allow', async () => {
    for (const name of AWS_VARS) delete process.env[name];
    lantern = await startLantern();
    const url = `s3://${s3.bucket}/${s3.encryptedKey}`;
    const reply = await register(lantern, url);
    assert.equal(reply.status, 404, reply.text);
    assert.equal(reply.json<{ message: string }>().message, `Given URL ${url} does not match any allowed URL(s)`);
  });
});
