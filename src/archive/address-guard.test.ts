import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { BlockList, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { AddressRefused, checkUrlHost, guardedLookup, isRefusedAddress, linkLocalAddresses } from './address-guard.js';
import { downloadToFile } from './download.js';

describe('link-local addresses', () => {
  const refused = linkLocalAddresses();

  it('are refused in every spelling of the metadata address the URL parser accepts', () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://2852039166/',
      'http://0xa9fea9fe/',
      'http://0251.0376.0251.0376/',
      'http://169.254.0.1/',
      'http://[::ffff:169.254.169.254]/',
      'http://[0:0:0:0:0:ffff:a9fe:a9fe]/',
      'http://[fe80::1]/',
      'http://[fd00:ec2::254]/',
    ]) {
      assert.throws(() => checkUrlHost(new URL(url), refused), AddressRefused, url);
    }
  });

  it('leave other addresses and names to the lookup', () => {
    for (const url of ['http://127.0.0.1/', 'http://10.0.0.1/', 'http://[::1]/', 'http://example.com/', 'http://169.254.169.254.example/']) {
      assert.doesNotThrow(() => checkUrlHost(new URL(url), refused), url);
    }
    assert.equal(isRefusedAddress('169.255.0.1', refused), false);
  });

  it('are refused when a name resolves to one, among other addresses or alone', async () => {
    const lookupWith = (addresses: Array<{ address: string; family: number }>) =>
      guardedLookup(refused, (_host, _options, callback) => callback(null, addresses));
    const resolve = (lookup: ReturnType<typeof lookupWith>, all: boolean) =>
      new Promise<unknown>((res, rej) => lookup('metadata.example', { all } as never, (err, address) => (err ? rej(err) : res(address))));
    await assert.rejects(resolve(lookupWith([{ address: '169.254.169.254', family: 4 }]), false), /link-local address 169.254.169.254 \(metadata.example resolves to it\)/);
    await assert.rejects(resolve(lookupWith([{ address: '10.1.1.1', family: 4 }, { address: 'fe80::2', family: 6 }]), true), AddressRefused);
    assert.equal(await resolve(lookupWith([{ address: '10.1.1.1', family: 4 }]), false), '10.1.1.1');
  });
});

// The guard wired into downloads, shown with loopback addresses standing in for refused ones (a
// test never sends traffic to a link-local address).
describe('downloads', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lantern-address-guard-'));
  const server = http.createServer((req, res) => {
    if (req.url === '/hop') res.writeHead(302, { location: `http://127.0.0.2:${port}/model.mar` }).end();
    else res.end('archive bytes');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const refused = new BlockList();
  refused.addAddress('127.0.0.2');
  const options = { maxBytes: 1 << 20, timeoutMs: 10_000, allowedUrls: [/.*/], refusedAddresses: refused };

  it('refuse a redirect hop to a refused address before connecting to it', async () => {
    await assert.rejects(downloadToFile(`http://127.0.0.1:${port}/hop`, path.join(dir, 'a.mar'), options), (err: Error) => {
      assert.match(err.message, /^Failed to download archive from: .*\(connecting to the link-local address 127.0.0.2 is refused/);
      return true;
    });
  });

  it('refuse a name that resolves to a refused address', async () => {
    const loopback = new BlockList();
    loopback.addSubnet('127.0.0.0', 8);
    await assert.rejects(
      downloadToFile(`http://localhost:${port}/model.mar`, path.join(dir, 'b.mar'), { ...options, refusedAddresses: loopback }),
      /localhost resolves to it/,
    );
  });

  it('fetch from addresses that are not refused', async () => {
    await downloadToFile(`http://127.0.0.1:${port}/model.mar`, path.join(dir, 'c.mar'), options);
  });
});
