import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { VERSION } from './version.js';

describe('the version', () => {
  it("is package.json's, and the Python worker's __version__ is the same", async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(VERSION, pkg.version);
    const init = await readFile(new URL('../workers/python/lantern_worker/__init__.py', import.meta.url), 'utf8');
    assert.equal(/^__version__ = "([^"]+)"$/m.exec(init)?.[1], VERSION);
  });
});
