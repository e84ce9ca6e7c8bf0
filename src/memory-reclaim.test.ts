import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from './clock.js';
import { MemoryReclaimer } from './memory-reclaim.js';

describe('the memory reclaimer', () => {
  it('collects once after a burst, when bodies in flight have stayed at none for the quiet time', () => {
    const clock = new ManualClock();
    const lines: string[] = [];
    const reclaimer = new MemoryReclaimer(clock, 64, 2000, (line) => lines.push(line));
    reclaimer.drained(10);
    clock.advance(5000);
    assert.equal(lines.length, 0, 'no burst, no collection');
    reclaimer.drained(100);
    clock.advance(1000);
    reclaimer.busy();
    clock.advance(5000);
    assert.equal(lines.length, 0, 'a new burst postpones it');
    reclaimer.drained(200);
    clock.advance(2000);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^Request bodies of up to 0 MB were in flight; memory collected \(\d+ → \d+ MB resident\)$/);
    reclaimer.close();
  });
});
