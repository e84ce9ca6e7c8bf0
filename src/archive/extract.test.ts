import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { isServeError, type ServeError } from '../errors.js';
import { writeTarGz, writeZip } from './archive-fixtures.js';
import { archiveFormatOf, extractArchive, extractTarGz, extractZip, stripFirstComponent } from './extract.js';
import { resolveEntryPath } from './extraction-guard.js';

const LIMITS = { maxEntries: 50, maxUncompressedBytes: 1024 * 1024 };

let work: string;
before(async () => { work = await mkdtemp(path.join(os.tmpdir(), 'lantern-extract-')); });
after(async () => { await rm(work, { recursive: true, force: true }); });

let counter = 0;
function fresh(name: string): { archive: string; dest: string } {
  counter += 1;
  return { archive: path.join(work, `${counter}-${name}`), dest: path.join(work, `out-${counter}`) };
}

function refusal(pattern: RegExp, status = 400) {
  return (err: unknown): boolean => {
    assert.ok(isServeError(err), `expected a ServeError, got ${String(err)}`);
    assert.equal((err as ServeError).status, status);
    assert.match((err as ServeError).message, pattern);
    return true;
  };
}

// Every zip case runs twice: read into memory (small archives) and streamed from the file (large ones).
for (const [mode, options] of [['in memory', {}], ['streamed', { inMemoryMaxBytes: 0 }]] as const) {
describe(`extractZip, ${mode}`, () => {
  it('unpacks a regular .mar with nested directories', async () => {
    const { archive, dest } = fresh('ok.mar');
    await writeZip(archive, [
      { name: 'MAR-INF/MANIFEST.json', data: '{"runtime":"python"}' },
      { name: 'handler.py', data: 'print(1)' },
      { name: 'extra/', directory: true },
      { name: 'extra/deep/data.bin', data: Buffer.alloc(1000, 7) },
    ]);
    await extractZip(archive, dest, LIMITS, options);
    assert.equal(await readFile(path.join(dest, 'MAR-INF/MANIFEST.json'), 'utf8'), '{"runtime":"python"}');
    assert.equal(await readFile(path.join(dest, 'handler.py'), 'utf8'), 'print(1)');
    assert.deepEqual(await readFile(path.join(dest, 'extra/deep/data.bin')), Buffer.alloc(1000, 7));
  });

  it('refuses an entry that climbs out with .. and leaves nothing behind', async () => {
    const { archive, dest } = fresh('slip.mar');
    const victim = `victim-${randomBytes(4).toString('hex')}`;
    await writeZip(archive, [{ name: 'ok.txt', data: 'fine' }, { name: `../${victim}`, data: 'pwned' }]);
    await assert.rejects(extractZip(archive, dest, LIMITS, options), refusal(new RegExp(`\\.\\./${victim}.*\\.\\.`)));
    assert.equal(existsSync(dest), false);
    assert.equal(existsSync(path.join(work, victim)), false);
  });

  it('refuses an absolute entry name', async () => {
    const { archive, dest } = fresh('abs.mar');
    const victim = path.join(work, `abs-${randomBytes(4).toString('hex')}`);
    await writeZip(archive, [{ name: victim, data: 'pwned' }]);
    await assert.rejects(extractZip(archive, dest, LIMITS, options), refusal(/absolute path/));
    assert.equal(existsSync(victim), false);
    assert.equal(existsSync(dest), false);
  });

  it('refuses symlink entries', async () => {
    const { archive, dest } = fresh('link.mar');
    await writeZip(archive, [{ name: 'passwd', data: '/etc/passwd', mode: 0o120777 }]);
    await assert.rejects(extractZip(archive, dest, LIMITS, options), refusal(/"passwd".*symbolic link/));
    assert.equal(existsSync(dest), false);
  });

  it('refuses an archive with more entries than allowed', async () => {
    const { archive, dest } = fresh('many.mar');
    await writeZip(archive, Array.from({ length: 11 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' })));
    await assert.rejects(extractZip(archive, dest, { ...LIMITS, maxEntries: 10 }, options), refusal(/more than 10/));
    assert.equal(existsSync(dest), false);
    await extractZip(archive, dest, { ...LIMITS, maxEntries: 11 }, options);
    assert.equal((await readdir(dest)).length, 11);
  });

  it('refuses a highly compressible entry that expands past the byte limit', async () => {
    const { archive, dest } = fresh('bomb.mar');
    await writeZip(archive, [{ name: 'zeros.bin', data: Buffer.alloc(8 * 1024 * 1024) }]);
    assert.ok((await stat(archive)).size < 100 * 1024, 'the bomb should be small on disk');
    await assert.rejects(extractZip(archive, dest, LIMITS, options), refusal(/more than 1048576 bytes/));
    assert.equal(existsSync(dest), false);
  });

  // The central directory's uncompressed size (offset 24 of the entry) claims too little or too much.
  for (const [claim, data, declared] of [
    ['understates', Buffer.alloc(4 * 1024 * 1024), 10],
    ['overstates', Buffer.from('hello '.repeat(100)), 700],
  ] as const) {
    it(`refuses a zip whose central directory ${claim} an entry size`, async () => {
      const { archive, dest } = fresh(`${claim}.mar`);
      await writeZip(archive, [{ name: 'entry.bin', data }]);
      const bytes = await readFile(archive);
      const central = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
      assert.ok(central > 0);
      bytes.writeUInt32LE(declared, central + 24);
      await writeFile(archive, bytes);
      await assert.rejects(extractZip(archive, dest, LIMITS, options), refusal(/./));
      assert.equal(existsSync(dest), false);
    });
  }

  it('refuses an entry whose compressed data is damaged', async () => {
    const { archive, dest } = fresh('damaged.mar');
    const data = randomBytes(2000).toString('hex');
    await writeZip(archive, [{ name: 'data.txt', data }]);
    const bytes = await readFile(archive);
    // The deflate stream starts after the 30-byte local header and the 8-byte name.
    for (let i = 38; i < 38 + 64; i++) bytes[i] = (bytes[i] as number) ^ 0xa5;
    await writeFile(archive, bytes);
    await assert.rejects(extractZip(archive, dest, LIMITS, options), refusal(/./));
    assert.equal(existsSync(dest), false);
  });

  it('unpacks stored entries and entries too large to inflate in place', async () => {
    const { archive, dest } = fresh('mixed.mar');
    const big = Buffer.alloc(3 * 1024 * 1024, 'model weights ');
    await writeZip(archive, [
      { name: 'stored.txt', data: 'not compressed', compress: false },
      { name: 'big-1.bin', data: big },
      { name: 'big-2.bin', data: big },
    ]);
    await extractZip(archive, dest, { ...LIMITS, maxUncompressedBytes: 8 * 1024 * 1024 }, options);
    assert.equal(await readFile(path.join(dest, 'stored.txt'), 'utf8'), 'not compressed');
    assert.deepEqual(await readFile(path.join(dest, 'big-1.bin')), big);
    assert.deepEqual(await readFile(path.join(dest, 'big-2.bin')), big);
  });

  it('answers invalidModel for data that is not a zip', async () => {
    const { archive, dest } = fresh('junk.mar');
    await writeFile(archive, randomBytes(4096));
    await assert.rejects(extractZip(archive, dest, LIMITS, options), (err: unknown) => {
      assert.ok(isServeError(err));
      assert.equal(err.type, 'InvalidModelException');
      assert.match(err.message, /zip/i);
      return true;
    });
    assert.equal(existsSync(dest), false);
  });

  it('does not touch a destination that already exists', async () => {
    const { archive, dest } = fresh('exists.mar');
    await writeZip(archive, [{ name: 'a.txt', data: 'a' }]);
    await mkdir(dest);
    await writeFile(path.join(dest, 'keep.txt'), 'keep');
    await assert.rejects(extractZip(archive, dest, LIMITS, options));
    assert.equal(await readFile(path.join(dest, 'keep.txt'), 'utf8'), 'keep');
  });
});
}

describe('extractTarGz', () => {
  it('strips the top directory of every entry', async () => {
    const { archive, dest } = fresh('ok.tar.gz');
    await writeTarGz(archive, [
      { name: 'mymodel/', type: 'Directory' },
      { name: 'mymodel/MAR-INF/MANIFEST.json', data: '{}' },
      { name: 'mymodel/weights/w.bin', data: Buffer.alloc(3000, 1) },
      { name: 'loose.txt', data: 'no slash' },
    ]);
    await extractTarGz(archive, dest, LIMITS);
    assert.deepEqual((await readdir(dest)).sort(), ['MAR-INF', 'loose.txt', 'weights']);
    assert.equal(await readFile(path.join(dest, 'MAR-INF/MANIFEST.json'), 'utf8'), '{}');
    assert.deepEqual(await readFile(path.join(dest, 'weights/w.bin')), Buffer.alloc(3000, 1));
  });

  it('refuses traversal, whether or not it survives stripping', async () => {
    for (const name of ['model/../../evil.txt', '../evil.txt', 'model/sub/../../../evil.txt']) {
      const { archive, dest } = fresh('slip.tar.gz');
      await writeTarGz(archive, [{ name: 'model/ok.txt', data: 'ok' }, { name, data: 'pwned' }]);
      await assert.rejects(extractTarGz(archive, dest, LIMITS), refusal(/\.\./), name);
      assert.equal(existsSync(dest), false);
    }
    assert.equal(existsSync(path.join(work, 'evil.txt')), false);
  });

  it('refuses absolute entry names', async () => {
    const { archive, dest } = fresh('abs.tar.gz');
    await writeTarGz(archive, [{ name: '/etc/evil.txt', data: 'x' }]);
    await assert.rejects(extractTarGz(archive, dest, LIMITS), refusal(/absolute path/));
    assert.equal(existsSync(dest), false);
  });

  it('refuses symbolic and hard links', async () => {
    for (const type of ['SymbolicLink', 'Link'] as const) {
      const { archive, dest } = fresh('link.tar.gz');
      await writeTarGz(archive, [
        { name: 'model/ok.txt', data: 'ok' },
        { name: 'model/escape', type, linkpath: '/etc/passwd' },
        { name: 'model/escape/after.txt', data: 'x' },
      ]);
      await assert.rejects(extractTarGz(archive, dest, LIMITS), refusal(/links are not allowed/), type);
      assert.equal(existsSync(dest), false);
    }
  });

  it('refuses special files', async () => {
    const { archive, dest } = fresh('fifo.tar.gz');
    await writeTarGz(archive, [{ name: 'model/pipe', type: 'FIFO' }]);
    await assert.rejects(extractTarGz(archive, dest, LIMITS), refusal(/FIFO/));
  });

  it('refuses more entries than allowed', async () => {
    const { archive, dest } = fresh('many.tar.gz');
    await writeTarGz(archive, Array.from({ length: 6 }, (_, i) => ({ name: `m/f${i}`, data: 'x' })));
    await assert.rejects(extractTarGz(archive, dest, { ...LIMITS, maxEntries: 5 }), refusal(/more than 5 entries/));
    assert.equal(existsSync(dest), false);
  });

  it('refuses an entry that expands past the byte limit', async () => {
    const { archive, dest } = fresh('bomb.tar.gz');
    await writeTarGz(archive, [{ name: 'm/zeros.bin', data: Buffer.alloc(8 * 1024 * 1024) }]);
    assert.ok((await stat(archive)).size < 100 * 1024);
    await assert.rejects(extractTarGz(archive, dest, LIMITS), refusal(/more than 1048576 bytes/));
    assert.equal(existsSync(dest), false);
  });

  it('counts bytes across entries', async () => {
    const { archive, dest } = fresh('sum.tar.gz');
    const part = Buffer.alloc(400 * 1024, 1);
    await writeTarGz(archive, [0, 1, 2].map((i) => ({ name: `m/p${i}`, data: part })));
    await assert.rejects(extractTarGz(archive, dest, LIMITS), refusal(/"m\/p2".*more than 1048576 bytes/));
    assert.equal(existsSync(dest), false);
  });

  it('fails cleanly when the archive is cut off in the middle of a file', { timeout: 5000 }, async () => {
    const { archive, dest } = fresh('cut.tar.gz');
    await writeTarGz(archive, [{ name: 'm/a.txt', data: 'a' }, { name: 'm/noise.bin', data: randomBytes(300 * 1024) }]);
    const bytes = await readFile(archive);
    await writeFile(archive, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(extractTarGz(archive, dest, LIMITS), (err: unknown) => {
      assert.ok(isServeError(err), String(err));
      assert.equal(err.type, 'InvalidModelException');
      return true;
    });
    assert.equal(existsSync(dest), false);
  });

  it('answers invalidModel for corrupt or non-tar data', async () => {
    const garbage = [randomBytes(5000), gzipSync(randomBytes(5000)), gzipSync(Buffer.from('x')).subarray(0, 8)];
    for (const bytes of garbage) {
      const { archive, dest } = fresh('junk.tar.gz');
      await writeFile(archive, bytes);
      await assert.rejects(extractTarGz(archive, dest, LIMITS), (err: unknown) => {
        assert.ok(isServeError(err), String(err));
        assert.equal(err.type, 'InvalidModelException');
        return true;
      });
      assert.equal(existsSync(dest), false);
    }
  });
});

describe('extraction helpers', () => {
  it('chooses zip for .mar and tar.gz for anything else', () => {
    assert.equal(archiveFormatOf('/x/model.mar'), 'zip');
    assert.equal(archiveFormatOf('/x/model.tar.gz'), 'tar.gz');
    assert.equal(archiveFormatOf('/x/model.model'), 'tar.gz');
  });

  it('strips up to and including the first slash', () => {
    assert.equal(stripFirstComponent('a/b/c'), 'b/c');
    assert.equal(stripFirstComponent('a/'), '');
    assert.equal(stripFirstComponent('plain'), 'plain');
  });

  it('maps safe names inside the destination and refuses the rest', () => {
    assert.equal(resolveEntryPath('/d', 'a/./b'), '/d/a/b');
    assert.equal(resolveEntryPath('/d', './'), null);
    for (const bad of ['../x', 'a/../../x', '/x', 'C:/x', 'a\\..\\x', 'a\0b']) {
      assert.throws(() => resolveEntryPath('/d', bad), (err: unknown) => isServeError(err) && err.status === 400, bad);
    }
  });

  it('extractArchive dispatches on the file name', async () => {
    const { archive, dest } = fresh('dispatch.tar.gz');
    await writeTarGz(archive, [{ name: 'top/file.txt', data: 'tar' }]);
    await extractArchive(archive, dest, LIMITS);
    assert.equal(await readFile(path.join(dest, 'file.txt'), 'utf8'), 'tar');
  });
});
