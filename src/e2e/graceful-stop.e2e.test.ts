// Graceful stop: queued and in-flight requests finish within graceful_shutdown_timeout_sec,
// what is left gets an explicit error, new requests are refused, workers stop.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expectError, lanternPerTest, marBytes, pidAlive, request, waitAllDead, waitFor, type Reply, type MarSpec } from './harness.js';
import { listenerUrl, startLanternProcess, writePortConfig } from './lantern-process.js';
import { countLines, pipelineBehindRunning, waitForLine, waitForReceived } from './observed-state.js';

const SLOW: MarSpec = { file: 'slow.mar', handler: 'slow_handler.py', modelName: 'slow' };
/** The slow model with pipelining on (slow batches are not pipelined unless the model says so). */
const SLOW_PIPELINED: MarSpec = { ...SLOW, config: 'pipelineDepth: 2\n' };

async function settle(p: Promise<Reply>): Promise<Reply | Error> {
  return p.catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
}

describe('graceful stop', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('lets queued and in-flight requests finish and refuses new ones', async () => {
    const lantern = await lanterns.start({ archives: [SLOW], properties: ['metrics_mode=prometheus'] });
    assert.equal((await request('POST', `${lantern.management}/models?url=slow.mar&initial_workers=1&synchronous=true`)).status, 200);
    const pids = lantern.pids('slow');
    lanterns.seen(pids);
    const inFlight = [0, 1, 2].map(() => request('POST', `${lantern.inference}/predictions/slow`, { body: '0.7' }));
    // The stop begins with one request in the worker and the others received.
    await waitForReceived(lantern, 3);
    await waitForLine(lantern.logs, 'slow_handler: sleeping 0.7');
    const closing = lantern.server.close();
    const late = await settle(request('POST', `${lantern.inference}/predictions/slow`, { body: '0' }));
    // A new connection is refused; a request on a connection that was already open gets 503.
    if (!(late instanceof Error)) expectError(late, 503, 'ServiceUnavailableException', 'Server is shutting down');
    for (const reply of await Promise.all(inFlight)) assert.equal(reply.status, 200, reply.text);
    await closing;
    await waitAllDead(pids);
  });

  it('answers what is left at the deadline with explicit errors', async () => {
    const lantern = await lanterns.start({ archives: [SLOW], properties: ['graceful_shutdown_timeout_sec=1', 'metrics_mode=prometheus'] });
    assert.equal((await request('POST', `${lantern.management}/models?url=slow.mar&initial_workers=1&synchronous=true`)).status, 200);
    lanterns.seen(lantern.pids('slow'));
    const inFlight = [0, 1, 2].map(() => request('POST', `${lantern.inference}/predictions/slow`, { body: '5' }));
    await waitForReceived(lantern, 3);
    await waitForLine(lantern.logs, 'slow_handler: sleeping 5');
    const startedMs = Date.now();
    await lantern.server.close();
    assert.ok(Date.now() - startedMs < 4500, 'the stop did not wait for the slow requests');
    const replies = await Promise.all(inFlight);
    const errors = replies.map((r) => `${r.status} ${r.json<{ message: string }>().message}`).sort();
    // The running one too: it is answered, not cut off with "Worker died.".
    assert.deepEqual(errors, ['503 Server is shutting down', '503 Server is shutting down', '503 Server is shutting down']);
  });

  it('answers a batch that waited in the worker behind the running one like a queued request', async () => {
    const lantern = await lanterns.start({ archives: [SLOW_PIPELINED], properties: ['graceful_shutdown_timeout_sec=1'] });
    assert.equal((await request('POST', `${lantern.management}/models?url=slow.mar&initial_workers=1&synchronous=true`)).status, 200);
    lanterns.seen(lantern.pids('slow'));
    const { running: second, behind: third } = await pipelineBehindRunning(lantern, 5, 4);
    await lantern.server.close();
    const replies = await Promise.all([second, third]);
    assert.deepEqual(
      replies.map((r) => `${r.status} ${r.json<{ message: string }>().message}`),
      ['503 Server is shutting down', '503 Server is shutting down'],
    );
    assert.equal(countLines(lantern.logs, 'slow_handler: sleeping 4'), 0, 'the third request never started');
  });

  it('stops on SIGTERM after the request in flight is answered and exits with 0', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'lantern-stop-e2e-'));
    try {
      await mkdir(path.join(cwd, 'store'));
      await writeFile(path.join(cwd, 'store', 'slow.mar'), await marBytes({ handler: 'slow_handler.py', modelName: 'slow' }));
      await writePortConfig(cwd);
      const p = startLanternProcess(cwd, ['--model-store', 'store', '--models', 'slow=slow.mar', '--dt', '--ncs']);
      try {
        await p.ready();
        const inference = listenerUrl(p, 'Inference');
        await waitForPing(inference);
        const reply = request('POST', `${inference}/predictions/slow`, { body: '1' });
        await waitForLine(p.output, 'slow_handler: sleeping 1');
        p.signal('SIGTERM');
        const answered = await reply;
        assert.equal(answered.status, 200, answered.text);
        assert.equal(await p.exited, 0);
        const pid = answered.json<{ pid: number }>().pid;
        await waitAllDead([pid]);
      } finally {
        p.signal('SIGKILL');
        await p.exited;
      }
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  it('leaves no worker behind when the server is killed with kill -9, even a busy one', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'lantern-kill-e2e-'));
    try {
      await mkdir(path.join(cwd, 'store'));
      await writeFile(path.join(cwd, 'store', 'slow.mar'), await marBytes({ handler: 'slow_handler.py', modelName: 'slow' }));
      await writePortConfig(cwd);
      const p = startLanternProcess(cwd, ['--model-store', 'store', '--dt', '--ncs', '--enable-model-api']);
      let pids: number[] = [];
      try {
        await p.ready();
        const listening = (api: 'Inference' | 'Management'): string => listenerUrl(p, api);
        const registered = await request('POST', `${listening('Management')}/models?url=slow.mar&initial_workers=2&synchronous=true`);
        assert.equal(registered.status, 200, registered.text);
        const described = await request('GET', `${listening('Management')}/models/slow`);
        pids = described.json<Array<{ workers: Array<{ pid: number }> }>>()[0]?.workers.map((w) => w.pid) ?? [];
        assert.equal(pids.length, 2);
        // One worker sleeps in its handler for a minute, the other is idle.
        void settle(request('POST', `${listening('Inference')}/predictions/slow`, { body: '60' }));
        await waitForLine(p.output, 'slow_handler: sleeping 60');
        p.signal('SIGKILL');
        await p.exited;
        await waitAllDead(pids, 10_000);
      } finally {
        p.signal('SIGKILL');
        await p.exited;
        for (const pid of pids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      }
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});

async function waitForPing(inference: string): Promise<void> {
  await waitFor('the workers to be ready (/ping 200)', async () => (await request('GET', `${inference}/ping`)).status === 200, 30_000, 100);
}
