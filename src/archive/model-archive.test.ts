import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isServeError } from '../errors.js';
import { writeTarGz, writeZip } from './archive-fixtures.js';
import { compileAllowedUrls, openArchive, type OpenArchiveOptions } from './model-archive.js';

const MANIFEST = JSON.stringify({
  runtime: 'python',
  model: { modelName: 'demo', modelVersion: '2.0', handler: 'handler.py', configFile: 'model-config.yaml' },
  archiverVersion: '0.12.0',
});

let root: string;
let store: string;
let outside: string;
let tmpRoot: string;
let server: http.Server;
let base: string;
let opts: OpenArchiveOptions;
const marBytes: { value: Buffer } = { value: Buffer.alloc(0) };

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lantern-open-'));
  store = path.join(root, 'store');
  outside = path.join(root, 'outside');
  tmpRoot = path.join(root, 'tmp');
  await mkdir(store);
  await mkdir(outside);
  await writeZip(path.join(store, 'demo.mar'), [
    { name: 'MAR-INF/MANIFEST.json', data: MANIFEST },
    { name: 'handler.py', data: '# handler' },
    { name: 'model-config.yaml', data: 'minWorkers: 2\nmaxWorkers: 3\nbatchSize: 4\ncustom: {a: 1}' },
  ]);
  marBytes.value = await readFile(path.join(store, 'demo.mar'));
  await writeTarGz(path.join(store, 'demo.tar.gz'), [
    { name: 'demo/MAR-INF/MANIFEST.json', data: MANIFEST.replace('2.0', '3.0') },
    { name: 'demo/model-config.yaml', data: 'batchSize: [' },
  ]);
  await writeZip(path.join(store, 'bare.mar'), [{ name: 'weights.bin', data: 'w' }]);
  await writeZip(path.join(store, 'badmanifest.mar'), [{ name: 'MAR-INF/MANIFEST.json', data: '{"runtime": "cobol"}' }]);
  await writeZip(path.join(store, 'slip.mar'), [{ name: 'ok', data: 'x' }, { name: '../slip', data: 'x' }]);
  await mkdir(path.join(store, 'dirmodel', 'MAR-INF'), { recursive: true });
  await writeFile(path.join(store, 'dirmodel', 'MAR-INF', 'MANIFEST.json'), MANIFEST);
  await mkdir(path.join(store, 'wrapped', 'inner', 'MAR-INF'), { recursive: true });
  await writeFile(path.join(store, 'wrapped', 'inner', 'MAR-INF', 'MANIFEST.json'), MANIFEST);
  await mkdir(path.join(outside, 'secret', 'MAR-INF'), { recursive: true });
  await writeFile(path.join(outside, 'secret', 'MAR-INF', 'MANIFEST.json'), MANIFEST);
  await writeFile(path.join(outside, 'elsewhere.mar'), marBytes.value);
  await symlink(path.join(outside, 'secret'), path.join(store, 'escape'));
  await symlink(path.join(outside, 'elsewhere.mar'), path.join(store, 'escape.mar'));
  await mkdir(path.join(store, 'blobs'));
  await writeFile(path.join(store, 'blobs', 'sha256-abc'), marBytes.value);
  await symlink(path.join(store, 'blobs', 'sha256-abc'), path.join(store, 'linked.mar'));

  server = http.createServer((req, res) => {
    if (req.url === '/remote.mar' || req.url === '/again.mar') return void res.end(marBytes.value);
    if (req.url === '/junk.mar') return void res.end('not a zip at all');
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  opts = {
    modelStore: store,
    allowedUrls: compileAllowedUrls(['file://.*', 'http(s)?://127\\.0\\.0\\.1:\\d+/.*']),
    tmpRoot,
    trusted: false,
    limits: { maxEntries: 100, maxUncompressedBytes: 1024 * 1024, downloadMaxBytes: 1024 * 1024, downloadTimeoutMs: 2000 },
  };
});

function serveError(status: number, message: string | RegExp) {
  return (err: unknown): boolean => {
    assert.ok(isServeError(err), String(err));
    assert.equal(err.status, status);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  };
}

async function extractedDirs(): Promise<string[]> {
  return existsSync(path.join(tmpRoot, 'models')) ? readdir(path.join(tmpRoot, 'models')) : [];
}

describe('openArchive: url rules', () => {
  it('needs a model store and a url', async () => {
    await assert.rejects(openArchive('demo.mar', { ...opts, modelStore: null }), serveError(404, 'Model store has not been configured.'));
    await assert.rejects(openArchive('', opts), serveError(404, 'empty url'));
  });

  it('refuses .. anywhere, also percent-encoded', async () => {
    for (const url of ['../demo.mar', 'a..b.mar', 'http://127.0.0.1/%2e%2e/x.mar']) {
      await assert.rejects(openArchive(url, opts), serveError(404, `Relative path is not allowed in url: ${url}`));
    }
  });

  it('refuses URLs that match no allowed pattern', async () => {
    const url = 'https://example.com/model.mar';
    await assert.rejects(openArchive(url, opts), serveError(404, `Given URL ${url} does not match any allowed URL(s)`));
  });

  it('answers not found for names that are not in the store', async () => {
    await assert.rejects(openArchive('nothing.mar', opts), serveError(404, 'Model not found at: nothing.mar'));
  });

  it('refuses absolute paths and symlinks out of the store for API callers', async () => {
    for (const url of [path.join(outside, 'secret'), 'escape', 'escape.mar', '.']) {
      await assert.rejects(openArchive(url, opts), serveError(404, `Model not found at: ${url}`), url);
    }
  });

  it('lets operator-named models use directories anywhere', async () => {
    const archive = await openArchive(path.join(outside, 'secret'), { ...opts, trusted: true });
    assert.equal(archive.dir, path.join(outside, 'secret'));
    assert.equal(archive.manifest.model.modelName, 'demo');
    await archive.close();
    assert.ok(existsSync(path.join(outside, 'secret', 'MAR-INF', 'MANIFEST.json')));
  });
});

describe('openArchive: archives and directories', () => {
  it('unpacks a .mar from the store into tmpRoot/models/<32 hex> and removes it on close', async () => {
    const archive = await openArchive('sub/demo.mar', opts);
    assert.equal(archive.marName, 'demo.mar');
    assert.equal(archive.url, 'sub/demo.mar');
    assert.match(archive.dir, new RegExp(`^${tmpRoot}/models/[0-9a-f]{32}$`));
    assert.equal(await readFile(path.join(archive.dir, 'handler.py'), 'utf8'), '# handler');
    assert.equal(archive.manifest.model.modelVersion, '2.0');
    assert.equal(archive.config?.minWorkers, 2);
    assert.equal(archive.config?.batchSize, 4);
    assert.deepEqual(archive.config?.raw['custom'], { a: 1 });
    assert.deepEqual(archive.warnings, []);
    assert.equal(archive.downloadedFile, null);
    await archive.close();
    await archive.close();
    assert.equal(existsSync(archive.dir), false);
    await archive.removeDownloaded();
    assert.ok(existsSync(path.join(store, 'demo.mar')));
  });

  it('judges a symlinked archive inside the store by the name of the link', async () => {
    const archive = await openArchive('linked.mar', opts);
    assert.equal(archive.marName, 'linked.mar');
    assert.equal(archive.manifest.model.modelName, 'demo');
    await archive.close();
  });

  it('unpacks a tar.gz and treats an unparseable config as no config', async () => {
    const archive = await openArchive('demo.tar.gz', opts);
    assert.equal(archive.manifest.model.modelVersion, '3.0');
    assert.equal(archive.config, null);
    assert.equal(archive.warnings.length, 1);
    assert.match(archive.warnings[0] ?? '', /model-config\.yaml: not valid YAML/);
    await archive.close();
  });

  it('uses the default manifest when MAR-INF/MANIFEST.json is missing', async () => {
    const archive = await openArchive('bare.mar', opts);
    assert.deepEqual(archive.manifest, { runtime: 'python', model: { modelVersion: '1.0' } });
    assert.equal(archive.config, null);
    assert.match(archive.warnings.join('\n'), /default manifest/);
    await archive.close();
  });

  it('uses a store directory in place and never deletes it', async () => {
    const archive = await openArchive('dirmodel', opts);
    assert.equal(archive.dir, path.join(await realStore(), 'dirmodel'));
    assert.match(archive.warnings.join('\n'), /configFile "model-config.yaml" could not be read/);
    await archive.close();
    assert.ok(existsSync(path.join(store, 'dirmodel', 'MAR-INF', 'MANIFEST.json')));
  });

  it('descends into the single directory of a wrapper directory', async () => {
    const archive = await openArchive('wrapped', opts);
    assert.equal(archive.dir, path.join(await realStore(), 'wrapped', 'inner'));
    assert.equal(archive.manifest.model.modelName, 'demo');
  });

  it('cleans up when the manifest is invalid', async () => {
    const before = await extractedDirs();
    await assert.rejects(openArchive('badmanifest.mar', opts), serveError(400, 'Runtime is not defined or invalid.'));
    assert.deepEqual(await extractedDirs(), before);
  });

  it('refuses an unsafe archive and leaves nothing behind', async () => {
    const before = await extractedDirs();
    await assert.rejects(openArchive('slip.mar', opts), serveError(400, /Refused archive: entry "\.\.\/slip"/));
    assert.deepEqual(await extractedDirs(), before);
    assert.equal(existsSync(path.join(tmpRoot, 'slip')), false);
  });
});

describe('openArchive: downloads', () => {
  it('downloads an allowed URL into the store, and refuses it again while the file is there', async () => {
    const url = `${base}/remote.mar`;
    const archive = await openArchive(url, opts);
    const stored = path.join(store, 'remote.mar');
    assert.equal(archive.downloadedFile, stored);
    assert.equal(archive.manifest.model.modelName, 'demo');
    await assert.rejects(openArchive(url, opts), serveError(500, 'Model file already exists remote.mar'));
    await archive.close();
    await archive.removeDownloaded();
    await archive.removeDownloaded();
    assert.equal(existsSync(stored), false);
  });

  it('answers downloadFailed for a 404 and leaves nothing in the store', async () => {
    const url = `${base}/absent.mar`;
    await assert.rejects(openArchive(url, opts), serveError(400, `Failed to download archive from: ${url}`));
    assert.equal(existsSync(path.join(store, 'absent.mar')), false);
  });

  it('removes the downloaded copy when it turns out not to be an archive', async () => {
    await assert.rejects(openArchive(`${base}/junk.mar`, opts), serveError(400, /zip/));
    assert.equal(existsSync(path.join(store, 'junk.mar')), false);
  });

  it('copies file:// URLs into the store', async () => {
    const url = `file://${path.join(outside, 'elsewhere.mar')}`;
    const archive = await openArchive(url, opts);
    assert.equal(archive.downloadedFile, path.join(store, 'elsewhere.mar'));
    await archive.close();
    await archive.removeDownloaded();
  });
});

async function realStore(): Promise<string> {
  const { realpath } = await import('node:fs/promises');
  return realpath(store);
}
