// Hostile registration URLs (issue #3 item 2): SSRF through registration (CVE-2023-43654), allowed_urls
// bypass with `..` in any spelling (CVE-2024-35198), redirects out of allowed_urls, and downloads that
// are too large or too slow. A local HTTP server plays both the model site and the internal service an
// attacker wants to reach; it records every request, so "not fetched" is checked, not assumed.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expectError, expectStatus, lanternPerTest, marBytes, request, type Lantern } from './harness.js';
import { expectUnchanged, FREE_PORTS, observe } from './hostile-support.js';

const REGISTERED = (name: string): string =>
  `Model "${name}" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.`;

interface Site {
  readonly origin: string;
  readonly port: number;
  readonly hits: string[];
  close(): Promise<void>;
}

async function startSite(): Promise<Site> {
  const mar = await marBytes({ handler: 'echo_handler.py', modelName: 'noop' });
  const secret = await marBytes({ handler: 'echo_handler.py', modelName: 'secret' });
  const hits: string[] = [];
  const stalled = new Set<http.ServerResponse>();
  let origin = '';
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    hits.push(url);
    const redirect = (location: string): void => {
      res.writeHead(302, { location }).end();
    };
    if (url.startsWith('/secret/')) res.end(secret);
    else if (url === '/models/noop.mar') res.end(mar);
    else if (url === '/models/hop.mar') res.writeHead(301, { location: '/models/noop.mar' }).end();
    else if (url === '/models/to-secret.mar') redirect('/secret/x.mar');
    else if (url === '/models/to-file.mar') redirect('file:///etc/passwd');
    else if (url === '/models/to-localhost.mar') redirect(origin.replace('127.0.0.1', 'localhost') + '/secret/x.mar');
    else if (url === '/models/loop.mar') redirect('/models/loop.mar');
    else if (url === '/models/big.mar') res.end(Buffer.alloc(300_000));
    else if (url === '/models/big-chunked.mar') {
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      for (let i = 0; i < 30; i++) res.write(Buffer.alloc(10_000));
      res.end();
    } else if (url === '/models/slow.mar') {
      res.writeHead(200, { 'content-length': String(mar.length) });
      res.write(mar.subarray(0, 10));
      stalled.add(res);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    port,
    hits,
    close: async () => {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const register = (lantern: Lantern, url: string) => request('POST', `${lantern.management}/models?url=${encodeURIComponent(url)}`);

describe('hostile registration urls', () => {
  const lanterns = lanternPerTest({ afterEach });
  let site: Site;

  before(async () => {
    site = await startSite();
  });
  after(async () => {
    await site.close();
  });
  afterEach(() => {
    site.hits.length = 0;
  });

  /** allowed_urls locked down to the site's /models/ folder, with small download limits. */
  const lockedDown = (): Promise<Lantern> =>
    lanterns.start({
      properties: [
        ...FREE_PORTS,
        `allowed_urls=http://127\\.0\\.0\\.1:${site.port}/models/.*`,
        'download_max_bytes=100000',
        'download_timeout_sec=2',
      ],
    });

  async function refused(lantern: Lantern, url: string, status: number, type: string, message: string | RegExp): Promise<void> {
    const before = await observe(lantern);
    const reply = await register(lantern, url);
    if (typeof message === 'string') {
      expectError(reply, status, type, message);
    } else {
      assert.equal(reply.status, status, reply.text);
      const body = reply.json<{ code: number; type: string; message: string }>();
      assert.equal(body.type, type);
      assert.match(body.message, message);
    }
    await expectUnchanged(lantern, before);
  }

  /** Lantern's own download refusals keep TorchServe's text and name the reason after it. */
  const downloadRefused = (url: string, reason: RegExp): RegExp =>
    new RegExp(`^Failed to download archive from: ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(${reason.source}\\)$`);

  it('refuses urls outside allowed_urls without fetching them (SSRF through registration, CVE-2023-43654)', async () => {
    const lantern = await lockedDown();
    const urls = [
      `${site.origin}/secret/x.mar`,
      `http://localhost:${site.port}/models/noop.mar`,
      `http://127.0.0.1:${site.port}@169.254.169.254/models/x.mar`,
      `https://127.0.0.1:${site.port}/models/noop.mar`,
      'http://169.254.169.254/latest/meta-data/x.mar',
      'file:///etc/passwd',
      'FILE:///etc/passwd',
    ];
    for (const url of urls) await refused(lantern, url, 404, 'ModelNotFoundException', `Given URL ${url} does not match any allowed URL(s)`);
    assert.deepEqual(site.hits, [], 'nothing was fetched');
  });

  it('refuses .. in any spelling before fetching (allowed_urls bypass, CVE-2024-35198)', async () => {
    const lantern = await lockedDown();
    const urls = [
      `${site.origin}/models/../secret/x.mar`,
      `${site.origin}/models/%2e%2e/secret/x.mar`,
      `${site.origin}/models/.%2E/secret/x.mar`,
      `${site.origin}/models/%252e%252e/secret/x.mar`,
      `${site.origin}/models/%2e%2e/%zz/secret/x.mar`,
      `${site.origin}/models/.\t./secret/x.mar`,
      `${site.origin}/models\\..\\secret/x.mar`,
    ];
    for (const url of urls) await refused(lantern, url, 404, 'ModelNotFoundException', `Relative path is not allowed in url: ${url}`);
    assert.deepEqual(site.hits, [], 'nothing was fetched');
  });

  it('refuses a redirect that leaves allowed_urls, without following it', async () => {
    const lantern = await lockedDown();
    for (const name of ['to-secret.mar', 'to-file.mar', 'to-localhost.mar', 'loop.mar']) {
      const url = `${site.origin}/models/${name}`;
      await refused(lantern, url, 400, 'DownloadArchiveException', downloadRefused(url, /redirect to .* (does not match allowed_urls|refused)|more than 5 redirects/));
    }
    assert.equal(site.hits.filter((hit) => hit.startsWith('/secret/')).length, 0, 'the secret was never requested');
    assert.ok(site.hits.filter((hit) => hit === '/models/loop.mar').length <= 6, 'a redirect loop ends');
  });

  it('follows redirects that stay inside allowed_urls and matches them case-insensitively', async () => {
    const lantern = await lockedDown();
    expectStatus(await register(lantern, `${site.origin}/models/hop.mar`), 200, REGISTERED('noop'));
    const shouted = `HTTP://127.0.0.1:${site.port}/models/noop.mar`;
    expectStatus(
      await request('POST', `${lantern.management}/models?model_name=shouted&url=${encodeURIComponent(shouted)}`),
      200,
      REGISTERED('shouted'),
    );
    assert.deepEqual(site.hits, ['/models/hop.mar', '/models/noop.mar', '/models/noop.mar']);
  });

  it('stops downloads over download_max_bytes, declared or streamed, and leaves no partial file', async () => {
    const lantern = await lockedDown();
    for (const name of ['big.mar', 'big-chunked.mar']) {
      const url = `${site.origin}/models/${name}`;
      await refused(lantern, url, 400, 'DownloadArchiveException', downloadRefused(url, /(response|download) is larger than \d+ bytes/));
    }
  });

  it('stops a download that takes longer than download_timeout_sec and leaves no partial file', async () => {
    const lantern = await lockedDown();
    const url = `${site.origin}/models/slow.mar`;
    await refused(lantern, url, 400, 'DownloadArchiveException', downloadRefused(url, /timed out after \d+ ms/));
  });

  it("keeps TorchServe's default allowed_urls: any http(s) or file url, loopback included", async () => {
    const lantern = await lanterns.start({ properties: FREE_PORTS });
    expectStatus(await register(lantern, `${site.origin}/models/noop.mar`), 200, REGISTERED('noop'));
    // The default still refuses .. and redirects are still checked against it (only http(s) may follow).
    const escape = `${site.origin}/models/%2e%2e/secret/x.mar`;
    expectError(await register(lantern, escape), 404, 'ModelNotFoundException', `Relative path is not allowed in url: ${escape}`);
    const toFile = `${site.origin}/models/to-file.mar`;
    expectError(await register(lantern, toFile), 400, 'DownloadArchiveException', `Failed to download archive from: ${toFile} (redirect to file:///etc/passwd refused)`);
  });
});
