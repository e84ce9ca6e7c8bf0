import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LogTail, tailedLogger } from './log-tail.js';

describe('LogTail', () => {
  it('keeps the newest lines, cuts long ones, and hands out only lines after a number', () => {
    const tail = new LogTail(() => 5, 3, 10);
    for (const m of ['one', 'two', 'three', 'four', 'a line far longer than ten']) tail.add('INFO', 'lantern', m);
    const all = tail.read({ after: 0, filter: '', limit: 100 });
    assert.deepEqual(all.lines.map((l) => l.message), ['three', 'four', 'a line far…']);
    assert.equal(all.last, 5);
    assert.deepEqual(tail.read({ after: 4, filter: '', limit: 100 }).lines.map((l) => l.seq), [5]);
    assert.deepEqual(tail.read({ after: 0, filter: 'FOUR', limit: 100 }).lines.map((l) => l.message), ['four']);
    assert.deepEqual(tail.read({ after: 0, filter: '', limit: 1 }).lines.map((l) => l.seq), [5]);
  });

  it('receives server and worker lines through the tailed logger, and not access lines', () => {
    const tail = new LogTail(() => 0);
    const seen: string[] = [];
    const logger = tailedLogger(
      { info: (m) => seen.push(m), warn: (m) => seen.push(m), error: (m) => seen.push(m), access: (l) => seen.push(l), model: (_w, l) => seen.push(l) },
      tail,
    );
    logger.info('started');
    logger.error('failed', new Error('boom'));
    logger.access('GET /ping 200');
    logger.model('W-9000-m_1', 'hello', 'stderr');
    assert.deepEqual(seen, ['started', 'failed', 'GET /ping 200', 'hello']);
    assert.deepEqual(
      tail.read({ after: 0, filter: '', limit: 10 }).lines.map((l) => [l.level, l.source, l.message]),
      [
        ['INFO', 'lantern', 'started'],
        ['ERROR', 'lantern', 'failed: boom'],
        ['WARN', 'W-9000-m_1', 'hello'],
      ],
    );
  });
});
