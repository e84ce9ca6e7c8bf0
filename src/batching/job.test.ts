import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServeError, internal } from '../errors.js';
import type { ResponseEntry } from '../protocol/messages.js';
import { Job, type JobSink } from './job.js';

interface Recorded {
  readonly replies: Array<{ body: string; last: boolean }>;
  readonly failures: ServeError[];
}

function recordingJob(id = 'req-1'): { job: Job; rec: Recorded } {
  const rec: Recorded = { replies: [], failures: [] };
  const sink: JobSink = {
    reply: (entry, last) => rec.replies.push({ body: entry.body.toString(), last }),
    fail: (error) => rec.failures.push(error),
  };
  return { job: new Job({ requestId: id, headers: [], parameters: [] }, 'predict', 0, sink), rec };
}

const entry = (body: string): ResponseEntry => ({
  requestId: 'req-1',
  contentType: 'text/plain',
  status: 200,
  reason: '',
  headers: [],
  body: Buffer.from(body),
});

describe('Job', () => {
  it('takes its id from the request', () => {
    assert.equal(recordingJob('abc').job.id, 'abc');
  });

  it('passes intermediate replies through and stays unfinished', () => {
    const { job, rec } = recordingJob();
    job.reply(entry('a'), false);
    job.reply(entry('b'), false);
    assert.deepEqual(rec.replies, [{ body: 'a', last: false }, { body: 'b', last: false }]);
    assert.equal(job.finished, false);
  });

  it('is finished by its last reply and ignores every answer after it', () => {
    const { job, rec } = recordingJob();
    job.reply(entry('a'), false);
    job.reply(entry('final'), true);
    assert.equal(job.finished, true);
    job.reply(entry('late'), true);
    job.reply(entry('late'), false);
    job.fail(internal('too late'));
    assert.deepEqual(rec.replies, [{ body: 'a', last: false }, { body: 'final', last: true }]);
    assert.deepEqual(rec.failures, []);
  });

  it('fails once and ignores replies and failures after the failure', () => {
    const { job, rec } = recordingJob();
    const error = internal('boom');
    job.fail(error);
    assert.equal(job.finished, true);
    job.fail(internal('again'));
    job.reply(entry('late'), true);
    assert.deepEqual(rec.replies, []);
    assert.equal(rec.failures.length, 1);
    assert.equal(rec.failures[0], error);
  });

  it('can fail after intermediate replies', () => {
    const { job, rec } = recordingJob();
    job.reply(entry('a'), false);
    job.fail(internal('boom'));
    assert.equal(rec.replies.length, 1);
    assert.equal(rec.failures.length, 1);
  });
});
