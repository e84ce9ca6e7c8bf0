import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fallbackModelName, listStoreModels } from './store-scan.js';

let store: string;
before(async () => {
  store = await mkdtemp(path.join(os.tmpdir(), 'lantern-store-'));
  for (const file of ['resnet-18.mar', 'bert.model', 'gpt.tar.gz', 'notes.txt', '.hidden.mar', 'x.zip']) {
    await writeFile(path.join(store, file), 'x');
  }
  await mkdir(path.join(store, 'my model'));
  await mkdir(path.join(store, '.git'));
  await mkdir(path.join(store, 'fake.mar'));
  await symlink(path.join(store, 'my model'), path.join(store, 'linked'));
  await symlink(path.join(store, 'missing'), path.join(store, 'dangling.mar'));
});
after(async () => { await rm(store, { recursive: true, force: true }); });

describe('listStoreModels', () => {
  it('lists non-hidden directories and .mar/.model/.tar.gz files with fallback names', async () => {
    assert.deepEqual(await listStoreModels(store), [
      { url: 'bert.model', fallbackName: 'bert' },
      { url: 'fake.mar', fallbackName: 'fake' },
      { url: 'gpt.tar.gz', fallbackName: 'gpt_tar_gz' },
      { url: 'linked', fallbackName: 'linked' },
      { url: 'my model', fallbackName: 'my_model' },
      { url: 'resnet-18.mar', fallbackName: 'resnet_18' },
    ]);
  });
});

describe('fallbackModelName', () => {
  it('follows the load_models=all naming rule', () => {
    assert.equal(fallbackModelName('squeezenet1_1.mar'), 'squeezenet1_1');
    assert.equal(fallbackModelName('a.b.mar'), 'a_b');
    assert.equal(fallbackModelName('model.tar.gz'), 'model_tar_gz');
    assert.equal(fallbackModelName('v1.model.bak'), 'v1_model');
    assert.equal(fallbackModelName('dir-name'), 'dir_name');
    assert.equal(fallbackModelName('_x'), '_x');
  });
});
