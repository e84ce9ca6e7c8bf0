import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RollingFile } from './rolling-file.js';

describe('rolling log file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lantern-roll-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('rolls over by size and keeps the configured number of old files', () => {
    const file = new RollingFile(path.join(dir, 'a.log'), { maxBytes: 20, backups: 2, buffered: false, onError: assert.fail });
    for (let i = 0; i < 8; i++) file.write(`line-${i}-xxxx`); // 12 bytes each: one line per file
    file.close();
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('a.log')).sort(), ['a.log', 'a.log.1', 'a.log.2']);
    assert.equal(readFileSync(path.join(dir, 'a.log'), 'utf8'), 'line-7-xxxx\n');
    assert.equal(readFileSync(path.join(dir, 'a.log.1'), 'utf8'), 'line-6-xxxx\n');
    assert.equal(readFileSync(path.join(dir, 'a.log.2'), 'utf8'), 'line-5-xxxx\n');
  });

  it('writes buffered lines by close at the latest, and appends to an existing file', () => {
    const target = path.join(dir, 'sub', 'b.log');
    const first = new RollingFile(target, { maxBytes: 1000, backups: 1, buffered: false, onError: assert.fail });
    first.write('one');
    first.close();
    const second = new RollingFile(target, { maxBytes: 1000, backups: 1, buffered: true, onError: assert.fail });
    second.write('two');
    second.write('three');
    second.close();
    second.close();
    assert.equal(readFileSync(target, 'utf8'), 'one\ntwo\nthree\n');
  });
});
