import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { awsEnvironmentFrom } from './aws-environment.js';
import { compileAllowedUrls } from './allowed-urls.js';
import { downloadToFile } from './download.js';
import { formatBytes, progressMeter } from './progress-meter.js';
import { isS3Url, parseS3Url } from './s3-object-source.js';
import { EMPTY_BODY_SHA256, signedGetHeaders } from './s3-signed-get.js';

const aws = awsEnvironmentFrom({
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  AWS_SESSION_TOKEN: 'session-token',
  AWS_DEFAULT_REGION: 'eu-west-1',
});

describe('model sources', () => {
  it('reads AWS settings from the environment, preferring TorchServe’s AWS_DEFAULT_REGION', () => {
    assert.deepEqual(awsEnvironmentFrom({ AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' }), {
      accessKeyId: null,
      secretAccessKey: null,
      sessionToken: null,
      region: 'eu-west-1',
      endpointUrl: 'http://127.0.0.1:9000',
    });
    assert.equal(awsEnvironmentFrom({ AWS_REGION: 'us-west-2' }).region, 'us-west-2');
  });

  it('signs a GET with SigV4 for service s3: date, content hash, session token and a scoped Authorization', async () => {
    const headers = await signedGetHeaders(new URL('https://bucket.s3.amazonaws.com/dir/model%20a.mar?versionId=3'), aws, new Date(Date.UTC(2024, 0, 2, 3, 4, 5)));
    assert.equal(headers['x-amz-date'], '20240102T030405Z');
    assert.equal(headers['x-amz-content-sha256'], EMPTY_BODY_SHA256);
    assert.equal(headers['x-amz-security-token'], 'session-token');
    assert.match(
      headers.authorization ?? '',
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20240102\/eu-west-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
  });

  it('refuses to sign without credentials or region, saying which variables are needed', async () => {
    await assert.rejects(signedGetHeaders(new URL('https://b.s3.amazonaws.com/k'), awsEnvironmentFrom({})), /AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION/);
  });

  it('parses s3://bucket/key URLs', () => {
    assert.ok(isS3Url('S3://b/k') && !isS3Url('https://b/k'));
    assert.deepEqual(parseS3Url('s3://models/dir/resnet%2018.mar'), { bucket: 'models', key: 'dir/resnet 18.mar' });
    assert.throws(() => parseS3Url('s3://bucket-only'), /not an s3:\/\/bucket\/key URL/);
  });

  it('reports progress in steps of 10% for large transfers and stays quiet for small ones', () => {
    const lines: string[] = [];
    const meter = progressMeter({ label: 'Downloading x', totalBytes: 1000, minBytes: 100, report: (l) => lines.push(l) });
    for (let i = 0; i < 10; i++) meter.add(100);
    meter.finish();
    meter.finish();
    assert.equal(lines.length, 11);
    assert.equal(lines[0], 'Downloading x: 0% of 1000 B');
    assert.equal(lines[5], 'Downloading x: 50% (500 B of 1000 B)');
    assert.equal(lines[10], 'Downloading x: done, 1000 B');
    const quiet: string[] = [];
    const small = progressMeter({ label: 'y', totalBytes: 10, minBytes: 100, report: (l) => quiet.push(l) });
    small.add(10);
    small.finish();
    assert.deepEqual(quiet, []);
    assert.equal(formatBytes(3 * 1024 * 1024), '3.0 MiB');
  });

  it('logs download progress of a large http download, and signs the GET when s3_sse_kms is set', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 1);
    const seen: http.IncomingHttpHeaders[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = await mkdtemp(path.join(tmpdir(), 'lantern-sources-'));
    try {
      const { port } = server.address() as AddressInfo;
      const lines: string[] = [];
      const url = `http://127.0.0.1:${port}/big.mar`;
      await downloadToFile(url, path.join(dir, 'big.mar'), {
        maxBytes: 10 * 1024 * 1024,
        timeoutMs: 30_000,
        allowedUrls: compileAllowedUrls(['http://.*']),
        s3SseKms: true,
        sources: { aws, log: (l) => lines.push(l), progressMinBytes: 1024 * 1024 },
      });
      assert.equal(lines[0], `Downloading ${url}: 0% of 2.0 MiB`);
      assert.equal(lines.at(-1), `Downloading ${url}: done, 2.0 MiB`);
      assert.ok(lines.length >= 3, lines.join(' | '));
      assert.match(String(seen[0]?.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request/);
      assert.equal(seen[0]?.['x-amz-content-sha256'], EMPTY_BODY_SHA256);
      assert.deepEqual(await readdir(dir), ['big.mar']);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
