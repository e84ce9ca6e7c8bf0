import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InflightBudget } from './inflight-budget.js';

describe('the in-flight request bytes budget', () => {
  it('reserves declared bytes, counts chunks past them, and gives everything back once', () => {
    const budget = new InflightBudget(100);
    const a = budget.allowance();
    assert.equal(a.reserve(60), true);
    assert.equal(a.received(60), true, 'chunks within the reservation take nothing more');
    assert.equal(budget.held, 60);
    const b = budget.allowance();
    assert.equal(b.reserve(50), false, 'a declared body that does not fit is refused whole');
    assert.equal(b.received(30), true);
    assert.equal(b.received(20), false, 'a chunked body is refused at the chunk that does not fit');
    assert.equal(budget.held, 90);
    a.giveBack();
    a.giveBack();
    b.giveBack();
    assert.equal(budget.held, 0);
  });

  it('ignores sizes that are not positive numbers', () => {
    const budget = new InflightBudget(10);
    assert.equal(budget.tryTake(Number.NaN), true);
    assert.equal(budget.tryTake(0), true);
    assert.equal(budget.held, 0);
  });
});

describe('the in-flight budget events', () => {
  it('tells when bodies start being held and when they are all answered, with the peak between', () => {
    const seen: string[] = [];
    const budget = new InflightBudget(100, { busy: () => seen.push('busy'), drained: (peak) => seen.push(`drained ${peak}`) });
    const a = budget.allowance();
    const b = budget.allowance();
    assert.equal(a.reserve(30), true);
    assert.equal(b.reserve(50), true);
    a.giveBack();
    b.giveBack();
    assert.equal(budget.allowance().reserve(10), true);
    assert.deepEqual(seen, ['busy', 'drained 80', 'busy']);
  });
});
