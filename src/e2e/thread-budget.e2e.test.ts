// The host's thread budget reaches the worker processes (issue #25): OMP_NUM_THREADS,
// MKL_NUM_THREADS and LANTERN_WORKER_THREADS in each worker's environment, from worker_threads or
// the model's workerThreads, as read from /proc.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { lanternPerTest, request, type MarSpec } from './harness.js';

const ECHO: MarSpec = { file: 'echo.mar', handler: 'echo_handler.py', modelName: 'echo' };

async function environmentOf(pid: number): Promise<Map<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8');
  return new Map(raw.split('\0').filter((e) => e.includes('=')).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

describe('the thread budget', () => {
  const lanterns = lanternPerTest({ afterEach });

  it("is in each worker's environment", async () => {
    const lantern = await lanterns.start({ archives: [ECHO], properties: ['worker_threads=3'] });
    assert.equal((await request('POST', `${lantern.management}/models?url=echo.mar&initial_workers=2&synchronous=true`)).status, 200);
    const pids = lantern.pids('echo');
    assert.equal(pids.length, 2);
    for (const pid of pids) {
      const env = await environmentOf(pid);
      assert.equal(env.get('LANTERN_WORKER_THREADS'), '3');
      if (process.env.OMP_NUM_THREADS === undefined) assert.equal(env.get('OMP_NUM_THREADS'), '3');
      else assert.equal(env.get('OMP_NUM_THREADS'), process.env.OMP_NUM_THREADS, "the user's value is kept");
      if (process.env.MKL_NUM_THREADS === undefined) assert.equal(env.get('MKL_NUM_THREADS'), '3');
    }
  });
});
