import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { automaticConnectionBound, openFileLimit } from './connection-guard.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63422                63422                processes
Max open files            1024                 524288               files
`;

describe('the automatic connection bound', () => {
  it('reads the soft open-file limit from /proc/self/limits text', () => {
    assert.equal(openFileLimit(LIMITS), 1024);
    assert.equal(openFileLimit(LIMITS.replace('1024  ', 'unlimited')), Number.MAX_SAFE_INTEGER);
    assert.equal(openFileLimit('nothing here'), null);
  });

  it('leaves a reserve and splits the rest so that all listeners together stay below the limit', () => {
    for (const limit of [256, 1024, 4096, 65536]) {
      const bound = automaticConnectionBound(limit);
      assert.ok(bound >= 1);
      assert.ok(4 * bound + 64 <= limit, `4 × ${bound} + reserve fits in ${limit}`);
    }
    assert.equal(automaticConnectionBound(256), 48);
    assert.equal(automaticConnectionBound(1024), 224);
    assert.equal(automaticConnectionBound(null), automaticConnectionBound(1024), 'an unknown limit is taken as 1024');
  });
});
