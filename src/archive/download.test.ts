import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isServeError } from '../errors.js';
import { compileAllowedUrls } from './allowed-urls.js';
import { downloadToFile, DownloadRefused, type DownloadOptions } from './download.js';

let server: http.Server;
let base: string;
let dir: string;
let options: DownloadOptions;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lantern-download-'));
  server = http.createServer((req, res) => {
    const route = req.url ?? '';
    if (route === '/ok.mar') return void res.end('archive bytes');
    if (route === '/redirect-ok') return void res.writeHead(302, { location: '/ok.mar' }).end();
    if (route === '/redirect-bad') {
      return void res.writeHead(301, { location: `http://localhost:${(server.address() as AddressInfo).port}/ok.mar` }).end();
    }
    if (route === '/loop') return void res.writeHead(307, { location: '/loop' }).end();
    if (route === '/big-chunked') {
      res.writeHead(200);
      for (let i = 0; i < 20; i += 1) res.write(Buffer.alloc(64 * 1024));
      return void res.end();
    }
    if (route === '/big-declared') return void res.writeHead(200, { 'content-length': 10_000_000 }).end();
    if (route === '/slow') {
      res.writeHead(200, { 'content-length': 100 });
      return void res.write('partial');
    }
    res.writeHead(404).end('nope');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  options = {
    maxBytes: 1024 * 1024,
    timeoutMs: 2000,
    allowedUrls: compileAllowedUrls([`http://127\\.0\\.0\\.1:\\d+/.*`, 'file://.*']),
  };
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

async function expectFailure(url: string, target: string, opts: DownloadOptions, cause: RegExp): Promise<void> {
  await assert.rejects(downloadToFile(url, target, opts), (err: unknown) => {
    assert.ok(isServeError(err), String(err));
    assert.equal(err.status, 400);
    assert.equal(err.type, 'DownloadArchiveException');
    // TorchServe's text; Lantern's own refusals (limits, redirects, time) add their reason after it.
    const reason = err.cause instanceof DownloadRefused ? ` (${err.cause.message})` : '';
    assert.equal(err.message, `Failed to download archive from: ${url}${reason}`);
    assert.match(String((err.cause as Error | undefined)?.message), cause);
    return true;
  });
  assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith('.part')), [], 'temp files left behind');
}

describe('downloadToFile', () => {
  it('downloads into the target', async () => {
    const target = path.join(dir, 'ok.mar');
    await downloadToFile(`${base}/ok.mar`, target, options);
    assert.equal(await readFile(target, 'utf8'), 'archive bytes');
    assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith('.')), []);
  });

  it('fails on 404 and leaves no file', async () => {
    const target = path.join(dir, 'missing.mar');
    await expectFailure(`${base}/missing`, target, options, /HTTP 404/);
    await assert.rejects(readFile(target));
  });

  it('follows a redirect to an allowed url', async () => {
    const target = path.join(dir, 'redirected.mar');
    await downloadToFile(`${base}/redirect-ok`, target, options);
    assert.equal(await readFile(target, 'utf8'), 'archive bytes');
  });

  it('refuses a redirect to a url outside allowed_urls', async () => {
    await expectFailure(`${base}/redirect-bad`, path.join(dir, 'bad.mar'), options, /does not match allowed_urls/);
  });

  it('gives up after five redirects', async () => {
    await expectFailure(`${base}/loop`, path.join(dir, 'loop.mar'), options, /more than 5 redirects/);
  });

  it('refuses a body larger than maxBytes, counted while streaming', async () => {
    await expectFailure(`${base}/big-chunked`, path.join(dir, 'big.mar'), options, /larger than 1048576/);
    await downloadToFile(`${base}/big-chunked`, path.join(dir, 'big.mar'), { ...options, maxBytes: 2 * 1024 * 1024 });
  });

  it('refuses a declared Content-Length larger than maxBytes', async () => {
    await expectFailure(`${base}/big-declared`, path.join(dir, 'declared.mar'), options, /larger than/);
  });

  it('times out on a server that stalls', async () => {
    const started = Date.now();
    await expectFailure(`${base}/slow`, path.join(dir, 'slow.mar'), { ...options, timeoutMs: 300 }, /timed out after 300 ms/);
    assert.ok(Date.now() - started < 1500);
  });

  it('never replaces an existing target', async () => {
    const target = path.join(dir, 'exists.mar');
    await writeFile(target, 'original');
    await expectFailure(`${base}/ok.mar`, target, options, /already exists/);
    assert.equal(await readFile(target, 'utf8'), 'original');
  });

  it('refuses urls outside allowed_urls and malformed urls', async () => {
    await expectFailure('http://example.invalid/x.mar', path.join(dir, 'x.mar'), options, /allowed_urls/);
    const any = { ...options, allowedUrls: compileAllowedUrls(['.*']) };
    await expectFailure('http://localhost:aaaa/x.mar', path.join(dir, 'x.mar'), any, /Invalid URL/);
  });

  it('copies file:// urls the same way', async () => {
    const source = path.join(dir, 'source.bin');
    await writeFile(source, 'local bytes');
    const target = path.join(dir, 'copied.mar');
    await downloadToFile(pathToFileURL(source).href, target, options);
    assert.equal(await readFile(target, 'utf8'), 'local bytes');
    await expectFailure(pathToFileURL(path.join(dir, 'nope')).href, path.join(dir, 'n.mar'), options, /ENOENT/);
    await expectFailure(pathToFileURL(source).href, path.join(dir, 's.mar'), { ...options, maxBytes: 3 }, /larger than 3/);
  });
});
