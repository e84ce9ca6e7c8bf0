// An answered management change is durable (issue #21): the snapshot that records it is on disk
// before the 2xx is sent, so a kill -9 right after the answer cannot lose it.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseProperties } from '../config/properties.js';
import { SnapshotStore } from '../snapshot/snapshot-store.js';
import { lanternPerTest, request, type Lantern, type MarSpec } from './harness.js';

const NOOP: MarSpec = { file: 'noop.mar', handler: 'echo_handler.py', modelName: 'noop' };
const NOOP_2: MarSpec = { file: 'noop_2.mar', handler: 'echo_handler.py', modelName: 'noop', version: '2.0' };

/** The models of the newest snapshot on disk, read the moment the answer arrived. */
async function snapshotModels(lantern: Lantern): Promise<Record<string, Record<string, { defaultVersion?: boolean; minWorkers?: number }>>> {
  const store = new SnapshotStore(path.join(path.dirname(lantern.store), 'logs', 'config'), Number.POSITIVE_INFINITY);
  const newest = await store.newest();
  assert.ok(newest !== null, 'a snapshot exists');
  const value = parseProperties(newest.text).get('model_snapshot');
  assert.ok(value !== undefined, newest.text);
  return JSON.parse(value).models;
}

describe('durable management changes', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('are in the snapshot on disk when their 2xx arrives: register, scale, set-default, unregister', async () => {
    const lantern = await lanterns.start({ archives: [NOOP, NOOP_2] });
    assert.equal((await request('POST', `${lantern.management}/models?url=noop.mar&initial_workers=0`)).status, 200);
    assert.ok((await snapshotModels(lantern)).noop?.['1.0'], 'registration recorded');

    assert.equal((await request('PUT', `${lantern.management}/models/noop?min_worker=0&max_worker=3&synchronous=false`)).status, 202);
    assert.equal((await snapshotModels(lantern)).noop?.['1.0']?.minWorkers, 0);

    assert.equal((await request('POST', `${lantern.management}/models?url=noop_2.mar&initial_workers=0`)).status, 200);
    assert.equal((await request('PUT', `${lantern.management}/models/noop/2.0/set-default`)).status, 200);
    assert.equal((await snapshotModels(lantern)).noop?.['2.0']?.defaultVersion, true);

    assert.equal((await request('DELETE', `${lantern.management}/models/noop/1.0`)).status, 200);
    assert.equal((await snapshotModels(lantern)).noop?.['1.0'], undefined, 'unregistration recorded');
  });
});
