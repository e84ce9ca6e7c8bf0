import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RollingFile } from './rolling-file.js';

describe('rolling log file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lantern-roll-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('rolls over by size, between the lines of one flush, and keeps the configured number of old files', () => {
    const file = new RollingFile(path.join(dir, 'a.log'), { maxBytes: 20, backups: 2, onError: assert.fail });
    for (let i = 0; i < 6; i++) file.write(`line-${i}-xxxx`); // 12 bytes each: one line per file
    file.flush();
    file.write('line-6-xxxx');
    file.flush();
    file.write('line-7-xxxx');
    file.close();
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('a.log')).sort(), ['a.log', 'a.log.1', 'a.log.2']);
    assert.equal(readFileSync(path.join(dir, 'a.log'), 'utf8'), 'line-7-xxxx\n');
    assert.equal(readFileSync(path.join(dir, 'a.log.1'), 'utf8'), 'line-6-xxxx\n');
    assert.equal(readFileSync(path.join(dir, 'a.log.2'), 'utf8'), 'line-5-xxxx\n');
  });

  it('holds lines until flush, writes them by close at the latest, and appends to an existing file', () => {
    const target = path.join(dir, 'sub', 'b.log');
    const first = new RollingFile(target, { maxBytes: 1000, backups: 1, onError: assert.fail });
    first.write('one');
    assert.equal(readFileSync(target, 'utf8'), '');
    first.flush();
    assert.equal(readFileSync(target, 'utf8'), 'one\n');
    first.close();
    const second = new RollingFile(target, { maxBytes: 1000, backups: 1, onError: assert.fail });
    second.write('two');
    second.write('three');
    second.close();
    second.close();
    assert.equal(readFileSync(target, 'utf8'), 'one\ntwo\nthree\n');
  });
});
