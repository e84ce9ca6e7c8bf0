import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemClock } from '../clock.js';
import { parseProperties } from '../config/properties.js';
import type { RegistryEvent } from '../registry/model-registry.js';
import { SnapshotStore } from './snapshot-store.js';
import { SnapshotWriter } from './snapshot-writer.js';

describe('SnapshotWriter', () => {
  it('writes after changes, coalesces a burst, and records the state at write time', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lantern-snapw-'));
    try {
      const store = new SnapshotStore(dir, 100);
      let counter = 0;
      const writer = new SnapshotWriter({
        store,
        state: () => ({ properties: new Map([['counter', String(counter)]]), models: [] }),
        clock: systemClock,
        log: (m) => assert.fail(m),
      });
      const source = new EventEmitter<{ change: [RegistryEvent] }>();
      await writer.write('startup');
      writer.follow(source);
      for (counter = 1; counter <= 5; counter++) source.emit('change', { kind: 'scaled', name: 'a', version: '1' });
      counter = 5;
      await writer.close();
      source.emit('change', { kind: 'scaled', name: 'a', version: '1' });
      await writer.write('shutdown');
      const files = await store.list();
      assert.deepEqual(files.map((f) => f.kind), ['startup', 'snapshot', 'shutdown']);
      assert.match(writer.status().lastName ?? '', /-shutdown\.cfg$/, 'the status names the newest snapshot');
      assert.equal(writer.status().lastError, null);
      const newest = await store.newest();
      assert.equal(parseProperties(newest?.text ?? '').get('counter'), '5');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
