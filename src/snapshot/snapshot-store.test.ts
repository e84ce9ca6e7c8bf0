import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SnapshotStore, snapshotDir, snapshotStamp } from './snapshot-store.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lantern-snap-'));
  try {
    await fn(path.join(dir, 'logs', 'config'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('SnapshotStore', () => {
  it('names the folder after LOG_LOCATION, defaulting to logs under the server folder', () => {
    assert.equal(snapshotDir({}, '/srv/a'), '/srv/a/logs/config');
    assert.equal(snapshotDir({ LOG_LOCATION: 'var/log' }, '/srv/a'), '/srv/a/var/log/config');
    assert.equal(snapshotDir({ LOG_LOCATION: '/x' }, '/srv/a'), '/x/config');
  });

  it('stamps names as yyyyMMddHHmmssSSS in local time', () => {
    const d = new Date(2026, 0, 2, 3, 4, 5, 6);
    assert.equal(snapshotStamp(d.getTime()), '20260102030405006');
  });

  it('never gives two snapshots the same or an earlier name', () => {
    const store = new SnapshotStore('/nowhere', 10);
    const t = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
    assert.equal(store.nextName('startup', t), '20260102030405006-startup.cfg');
    assert.equal(store.nextName('snapshot', t), '20260102030405007-snapshot.cfg');
    assert.equal(store.nextName('snapshot', t - 50), '20260102030405008-snapshot.cfg');
  });

  it('writes files whole, returns the newest, and keeps only the last few', async () => {
    await withDir(async (dir) => {
      const store = new SnapshotStore(dir, 3);
      assert.equal(await store.newest(), null);
      const t = Date.now();
      for (let i = 0; i < 5; i++) await store.write(store.nextName('snapshot', t), `n=${i}\n`);
      const names = await readdir(dir);
      assert.equal(names.length, 3);
      const newest = await store.newest();
      assert.equal(newest?.text, 'n=4\n');
      assert.equal(await readFile(path.join(dir, newest?.name ?? ''), 'utf8'), 'n=4\n');
    });
  });

  it('removes temporary files left by an interrupted write and ignores foreign files', async () => {
    await withDir(async (dir) => {
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, '.writing-20200101000000000-snapshot.cfg'), 'half');
      await writeFile(path.join(dir, 'notes.txt'), 'mine');
      const store = new SnapshotStore(dir, 10);
      await store.write(store.nextName('startup', Date.now()), 'a=1\n');
      const names = (await readdir(dir)).sort();
      assert.equal(names.length, 2);
      assert.ok(names.includes('notes.txt'));
      assert.match(names.find((n) => n !== 'notes.txt') ?? '', /^\d{17}-startup\.cfg$/);
    });
  });
});
