import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { claimFolder, releaseFolder, removeDebris } from './debris.js';

describe('debris of stopped servers', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'lantern-debris-'));
  after(() => rm(root, { recursive: true, force: true }));
  const models = path.join(root, 'models');
  const store = path.join(root, 'store');
  await mkdir(models);
  await mkdir(store);
  // The pid of a process that has exited.
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid as number;

  it('removes folders whose owner process is gone and keeps the live owner\'s and the unowned', async () => {
    const ours = path.join(models, 'a'.repeat(32));
    await claimFolder(ours);
    await mkdir(ours);
    const orphan = path.join(models, 'b'.repeat(32));
    await mkdir(path.join(orphan, 'MAR-INF'), { recursive: true });
    await writeFile(`${orphan}.owner`, JSON.stringify({ host: os.hostname(), pid: deadPid, started: '1' }));
    const halfClaimed = path.join(models, 'c'.repeat(32));
    await writeFile(`${halfClaimed}.owner`, JSON.stringify({ host: os.hostname(), pid: deadPid, started: '' }));
    const unowned = path.join(models, 'd'.repeat(32));
    await mkdir(unowned);
    const elsewhere = path.join(models, 'e'.repeat(32));
    await mkdir(elsewhere);
    await writeFile(`${elsewhere}.owner`, JSON.stringify({ host: 'another-host', pid: deadPid, started: '' }));

    const report = await removeDebris([models, path.join(root, 'absent')], null, 1000, Date.now());
    assert.deepEqual(report, { folders: 2, partFiles: 0 });
    assert.equal(existsSync(orphan), false);
    assert.equal(existsSync(`${orphan}.owner`), false);
    assert.equal(existsSync(`${halfClaimed}.owner`), false);
    for (const kept of [ours, unowned, elsewhere]) assert.equal(existsSync(kept), true, kept);
    await releaseFolder(ours);
    assert.equal(existsSync(`${ours}.owner`), false);
  });

  it('removes partial downloads older than the download timeout, and only those', async () => {
    const stale = path.join(store, '.resnet.mar.0123456789ab.part');
    const fresh = path.join(store, '.bert.mar.ba9876543210.part');
    const archive = path.join(store, 'resnet.mar');
    for (const file of [stale, fresh, archive]) await writeFile(file, 'x');
    const old = new Date(Date.now() - 120_000);
    await utimes(stale, old, old);
    await utimes(archive, old, old);
    assert.deepEqual(await removeDebris([], store, 60_000, Date.now()), { folders: 0, partFiles: 1 });
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(fresh), true);
    assert.equal(existsSync(archive), true);
  });
});
