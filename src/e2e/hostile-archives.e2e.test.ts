// Hostile archives and store paths (issue #3 items 2–3; zip-slip CVE-2023-48299): every refusal is a
// 4xx naming the reason, nothing is written outside (or left inside) the server's directories, the
// registry is unchanged and the server keeps serving.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeTarGz, writeZip, type TarEntrySpec, type ZipEntrySpec } from '../archive/archive-fixtures.js';
import { expectError, expectStatus, lanternPerTest, marBytes, request, type Lantern } from './harness.js';
import { expectUnchanged, FREE_PORTS, observe } from './hostile-support.js';

const LIMITS = [...FREE_PORTS, 'archive_max_entries=50', 'archive_max_uncompressed_bytes=1048576'];
const MANIFEST = JSON.stringify({ runtime: 'python', model: { modelName: 'evil', handler: 'echo_handler.py', modelVersion: '1.0' } });
const refused = (entry: string, reason: string): string => `Refused archive: entry ${JSON.stringify(entry)}: ${reason}`;

/** A name no other test uses, for files an attack would try to create outside the server's directories. */
const unique = (): string => `lantern-hostile-${randomBytes(6).toString('hex')}.txt`;

async function register(lantern: Lantern, url: string) {
  return request('POST', `${lantern.management}/models?url=${encodeURIComponent(url)}`);
}

describe('hostile archives', () => {
  const lanterns = lanternPerTest({ afterEach });

  async function refusesZip(entries: ZipEntrySpec[], message: string, escapes: string[] = []): Promise<void> {
    const lantern = await lanterns.start({ properties: LIMITS });
    await writeZip(path.join(lantern.store, 'evil.mar'), [{ name: 'MAR-INF/MANIFEST.json', data: MANIFEST }, ...entries]);
    const before = await observe(lantern);
    expectError(await register(lantern, 'evil.mar'), 400, 'InvalidModelException', message);
    await expectUnchanged(lantern, before);
    for (const file of escapes) assert.equal(existsSync(file), false, `${file} was not created`);
  }

  async function refusesTar(entries: TarEntrySpec[], message: string, escapes: string[] = []): Promise<void> {
    const lantern = await lanterns.start({ properties: LIMITS });
    await writeTarGz(path.join(lantern.store, 'evil.tar.gz'), [
      { name: 'evil/', type: 'Directory' },
      { name: 'evil/MAR-INF/MANIFEST.json', data: MANIFEST },
      ...entries,
    ]);
    const before = await observe(lantern);
    expectError(await register(lantern, 'evil.tar.gz'), 400, 'InvalidModelException', message);
    await expectUnchanged(lantern, before);
    for (const file of escapes) assert.equal(existsSync(file), false, `${file} was not created`);
  }

  it('refuses a zip entry that climbs out with ../ (zip-slip, CVE-2023-48299)', async () => {
    const name = unique();
    // From <tmp>/work/models/<id>/ four levels up is the system temp dir.
    const entry = `../../../../${name}`;
    await refusesZip([{ name: entry, data: 'owned' }], refused(entry, 'path contains ".."'), [path.join(tmpdir(), name)]);
  });

  it('refuses a zip entry that hides .. in the middle of its path', async () => {
    await refusesZip([{ name: 'a/b/../../../x.txt', data: 'x' }], refused('a/b/../../../x.txt', 'path contains ".."'));
  });

  it('refuses a zip entry with Windows separators', async () => {
    // The zip reader turns backslashes into slashes before the name is checked.
    await refusesZip([{ name: '..\\..\\x.txt', data: 'x' }], refused('../../x.txt', 'path contains ".."'));
  });

  it('refuses a zip entry with an absolute path', async () => {
    const target = path.join(tmpdir(), unique());
    await refusesZip([{ name: target, data: 'x' }], refused(target, 'absolute path'), [target]);
  });

  it('refuses a zip entry that is a symbolic link', async () => {
    await refusesZip([{ name: 'passwd', data: '/etc/passwd', mode: 0o120777 }], refused('passwd', 'symbolic links are not allowed'));
  });

  it('refuses a zip bomb by its uncompressed size', async () => {
    await refusesZip(
      [{ name: 'zeros.bin', data: Buffer.alloc(2 * 1024 * 1024) }],
      refused('zeros.bin', 'archive expands to more than 1048576 bytes'),
    );
  });

  it('refuses a zip with more entries than archive_max_entries', async () => {
    const entries = Array.from({ length: 50 }, (_, i) => ({ name: `f${i}.txt`, data: '' }));
    await refusesZip(entries, refused('*', 'archive has 51 entries, more than 50'));
  });

  it('refuses a tar.gz entry that climbs out with ../', async () => {
    const name = unique();
    const entry = `evil/../../../../../${name}`;
    await refusesTar([{ name: entry, data: 'owned' }], refused(entry, 'path contains ".."'), [path.join(tmpdir(), name)]);
  });

  it('refuses a tar.gz entry whose first component is .. (it would survive the stripping of the top directory)', async () => {
    await refusesTar([{ name: '../x.txt', data: 'x' }], refused('../x.txt', 'path contains ".."'));
  });

  it('refuses tar.gz symbolic links', async () => {
    await refusesTar([{ name: 'evil/passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }], refused('evil/passwd', 'links are not allowed'));
  });

  it('refuses tar.gz hard links', async () => {
    await refusesTar([{ name: 'evil/shadow', type: 'Link', linkpath: '/etc/shadow' }], refused('evil/shadow', 'links are not allowed'));
  });

  it('refuses tar.gz special files', async () => {
    await refusesTar([{ name: 'evil/pipe', type: 'FIFO' }], refused('evil/pipe', 'entry type FIFO is not allowed'));
  });

  it('refuses a tar.gz bomb by its uncompressed size', async () => {
    await refusesTar(
      [{ name: 'evil/zeros.bin', data: Buffer.alloc(2 * 1024 * 1024) }],
      refused('evil/zeros.bin', 'archive expands to more than 1048576 bytes'),
    );
  });

  it('still registers a well-formed archive after refusing hostile ones', async () => {
    const lantern = await lanterns.start({ properties: LIMITS });
    await writeZip(path.join(lantern.store, 'evil.mar'), [{ name: 'MAR-INF/MANIFEST.json', data: MANIFEST }, { name: '../x', data: 'x' }]);
    expectError(await register(lantern, 'evil.mar'), 400, 'InvalidModelException', refused('../x', 'path contains ".."'));
    await lantern.addArchive({ file: 'noop.mar', handler: 'echo_handler.py', modelName: 'noop' });
    expectStatus(
      await register(lantern, 'noop.mar'),
      200,
      'Model "noop" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.',
    );
  });
});

describe('registration urls that try to leave the model store', () => {
  const lanterns = lanternPerTest({ afterEach });
  let outside = '';

  afterEach(async () => {
    if (outside !== '') await rm(outside, { recursive: true, force: true });
    outside = '';
  });

  /** A directory outside the store with a valid archive and model directory in it. */
  async function outsideStore(): Promise<string> {
    outside = await mkdtemp(path.join(tmpdir(), 'lantern-outside-'));
    await writeFile(path.join(outside, 'noop.mar'), await marBytes({ handler: 'echo_handler.py', modelName: 'outside' }));
    await mkdir(path.join(outside, 'modeldir', 'MAR-INF'), { recursive: true });
    await writeFile(path.join(outside, 'modeldir', 'MAR-INF', 'MANIFEST.json'), MANIFEST);
    return outside;
  }

  async function refuses(lantern: Lantern, url: string, status: number, type: string, message: string): Promise<void> {
    const before = await observe(lantern);
    expectError(await register(lantern, url), status, type, message);
    await expectUnchanged(lantern, before);
  }

  it('refuses .. in any spelling with 404 Relative path', async () => {
    const lantern = await lanterns.start({ properties: FREE_PORTS });
    const dir = await outsideStore();
    const relative = path.relative(lantern.store, path.join(dir, 'noop.mar'));
    for (const url of [relative, `../${path.basename(dir)}/noop.mar`, '%2e%2e/noop.mar', '%252e%252e/noop.mar', '.%2E/noop.mar', 'x/..\\noop.mar']) {
      await refuses(lantern, url, 404, 'ModelNotFoundException', `Relative path is not allowed in url: ${url}`);
    }
  });

  it('refuses absolute paths to archives and directories outside the store with 404', async () => {
    const lantern = await lanterns.start({ properties: FREE_PORTS });
    const dir = await outsideStore();
    for (const url of [path.join(dir, 'noop.mar'), path.join(dir, 'modeldir'), '/etc/passwd', '/']) {
      await refuses(lantern, url, 404, 'ModelNotFoundException', `Model not found at: ${url}`);
    }
  });

  it('refuses symbolic links in the store that lead outside it', async () => {
    const lantern = await lanterns.start({ properties: FREE_PORTS });
    const dir = await outsideStore();
    await symlink(path.join(dir, 'noop.mar'), path.join(lantern.store, 'link.mar'));
    await symlink(path.join(dir, 'modeldir'), path.join(lantern.store, 'linkdir'));
    await symlink(dir, path.join(lantern.store, 'nest'));
    for (const url of ['link.mar', 'linkdir', 'nest']) {
      await refuses(lantern, url, 404, 'ModelNotFoundException', `Model not found at: ${url}`);
    }
  });

  it('keeps file:// urls inside the allowed prefix, whatever their spelling', async () => {
    const dir = await outsideStore();
    await mkdir(path.join(dir, 'allowed'));
    await writeFile(path.join(dir, 'allowed', 'good.mar'), await marBytes({ handler: 'echo_handler.py', modelName: 'good' }));
    const lantern = await lanterns.start({ properties: [...FREE_PORTS, `allowed_urls=file://${dir}/allowed/.*`] });
    for (const url of [`file://${dir}/allowed/../noop.mar`, `file://${dir}/allowed/%2e%2e/noop.mar`, `file://${dir}/allowed/.%2e/noop.mar`]) {
      await refuses(lantern, url, 404, 'ModelNotFoundException', `Relative path is not allowed in url: ${url}`);
    }
    for (const url of [`file://${dir}/noop.mar`, `FILE://${dir}/noop.mar`, `file://${dir}/allowed2/x.mar`, `http://127.0.0.1:9/allowed/x.mar`]) {
      await refuses(lantern, url, 404, 'ModelNotFoundException', `Given URL ${url} does not match any allowed URL(s)`);
    }
    expectStatus(
      await register(lantern, `FILE://${dir}/allowed/good.mar`),
      200,
      'Model "good" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.',
    );
  });
});
