// Honest readiness for load balancers (issue 24 item 3): on SIGTERM /readyz answers 503 at once while
// new requests are still served for shutdown_delay_sec; then the listeners close, open work drains and
// the process exits 0; the probes answer until it exits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expectStatus, marBytes, request, waitFor } from './harness.js';
import { listenerUrl, startLanternProcess, writePortConfig } from './lantern-process.js';
import { waitForLine } from './observed-state.js';

/** Long enough for the checks below on a loaded machine; the test waits for the exit after it. */
const DELAY_SEC = 8;

describe('stopping behind a load balancer', () => {
  it('answers /readyz 503 at once on SIGTERM, serves new requests for shutdown_delay_sec, then drains with /livez still 200 and exits 0', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'lantern-delay-e2e-'));
    try {
      await mkdir(path.join(cwd, 'store'));
      await writeFile(path.join(cwd, 'store', 'slow.mar'), await marBytes({ handler: 'slow_handler.py', modelName: 'slow' }));
      await writePortConfig(cwd, [`shutdown_delay_sec=${DELAY_SEC}`, 'default_workers_per_model=2']);
      const p = startLanternProcess(cwd, ['--model-store', 'store', '--models', 'slow=slow.mar', '--dt', '--ncs']);
      try {
        await p.ready();
        const inference = listenerUrl(p, 'Inference');
        // Ready once the startup model has a ready worker (the ready line may come before that).
        await waitFor('/readyz to answer 200', async () => (await request('GET', `${inference}/readyz`)).status === 200, 30_000);
        // A request the worker holds until the test releases it: the drain waits for it.
        const release = path.join(cwd, 'release');
        const held = request('POST', `${inference}/predictions/slow`, { body: `until:${release}` });
        await waitForLine(p.output, 'slow_handler: holding until');
        const signalledMs = Date.now();
        p.signal('SIGTERM');
        await waitFor('/readyz to answer 503', async () => (await request('GET', `${inference}/readyz`)).status === 503);
        expectStatus(await request('GET', `${inference}/readyz`), 503, 'Not Ready');
        expectStatus(await request('GET', `${inference}/livez`), 200, 'Alive');
        // A new request on a new connection is still served while the balancer takes the server out.
        const late = await request('POST', `${inference}/predictions/slow`, { body: '0' });
        assert.equal(late.status, 200, late.text);
        // After shutdown_delay_sec the drain: new requests are refused, the probes still answer.
        await waitFor('requests to be refused', async () => (await request('POST', `${inference}/predictions/slow`, { body: '0' })).status === 503, 30_000);
        assert.ok(Date.now() - signalledMs >= DELAY_SEC * 1000, 'requests were served for shutdown_delay_sec');
        expectStatus(await request('GET', `${inference}/livez`), 200, 'Alive');
        expectStatus(await request('GET', `${inference}/readyz`), 503, 'Not Ready');
        await writeFile(release, '');
        assert.equal((await held).status, 200);
        assert.equal(await p.exited, 0);
        assert.ok(p.output.some((l) => l.includes(`still serving for shutdown_delay_sec=${DELAY_SEC}`)), p.output.join('\n'));
      } finally {
        p.signal('SIGKILL');
        await p.exited;
      }
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
