// The host's thread budget reaches the worker processes (issue #25): OMP_NUM_THREADS,
// MKL_NUM_THREADS and LANTERN_WORKER_THREADS in each worker's environment, from worker_threads or
// the model's workerThreads, as read from /proc.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lanternPerTest, marBytes, request, type MarSpec } from './harness.js';
import { listenerUrl, startLanternProcess, writePortConfig } from './lantern-process.js';

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

  // bin/lantern's MALLOC_MMAP_THRESHOLD_ is for the front end: in a torch worker it halved resnet18's speed.
  for (const [label, given] of [['set by bin/lantern', ''], ['set by the user', '131072']] as const) {
    it(`leaves the front end's malloc setting out of the workers when it is ${label}`, async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'lantern-malloc-'));
      await mkdir(path.join(dir, 'store'));
      await writeFile(path.join(dir, 'store', 'echo.mar'), await marBytes(ECHO));
      await writePortConfig(dir);
      // Empty counts as unset for bin/lantern, whatever the environment of this test holds.
      const server = startLanternProcess(dir, ['--model-store', 'store', '--dt', '--ncs', '--models', 'echo=echo.mar'], { MALLOC_MMAP_THRESHOLD_: given }, true);
      try {
        await server.ready();
        const described = await request('GET', `${listenerUrl(server, 'Management')}/models/echo`);
        const pids = described.json<Array<{ workers: Array<{ pid: number }> }>>()[0]?.workers.map((w) => w.pid) ?? [];
        assert.ok(pids.length > 0, described.text);
        assert.equal((await environmentOf(server.pid)).get('MALLOC_MMAP_THRESHOLD_'), given === '' ? '65536' : given, 'the front end has it');
        for (const pid of pids) {
          const env = await environmentOf(pid);
          assert.equal(env.get('MALLOC_MMAP_THRESHOLD_'), given === '' ? undefined : given, given === '' ? 'not in the worker' : "the user's own is kept");
          assert.equal(env.get('LANTERN_MALLOC_MMAP_THRESHOLD_SET'), undefined);
        }
      } finally {
        server.signal('SIGTERM');
        await server.exited;
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
