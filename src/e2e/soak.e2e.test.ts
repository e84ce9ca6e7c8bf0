// Fault-injection soak: concurrent clients against a real server process while workers are
// killed with kill -9, the model is scaled up and down and another version is registered and
// unregistered. Every request must get exactly one response, the response must be its own, every
// error must be an explicit TorchServe error, the server's memory must stay bounded, and no
// process may be left behind. Lasts about a minute; LANTERN_SOAK_SECONDS makes it longer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { marBytes, pidAlive, request, waitAllDead, waitFor, type Reply } from './harness.js';
import { listenerUrl, startLanternProcess, writePortConfig } from './lantern-process.js';
import { processesUnder, rssBytes } from './soak-probes.js';

const LOAD_SECONDS = Number(process.env.LANTERN_SOAK_SECONDS ?? '40');
const CLIENTS = 6;

interface Tally {
  /** Set when the server was told to stop: from then on refusals are expected. */
  stopping: boolean;
  refused: number;
  sent: number;
  ok: number;
  errors: Map<string, number>;
  problems: string[];
}

const ALLOWED_ERRORS: Record<string, RegExp> = {
  '500 InternalServerException': /^Worker died\.$/,
  // A worker killed with SIGKILL by someone else exits with 137, which TorchServe reports as 507.
  '507 InternalServerException': /^Worker died\.$/,
  '503 ServiceUnavailableException': /^(Model "echo".* has no worker|Model "echo" was unregistered before the request was served|Server is shutting down)/,
  '404 ModelVersionNotFoundException': /^Model version: 2\.0 does not exist for model: echo$/,
};

/** Checks one reply: either the echo of this very request, or an explicit, expected error. */
function check(tally: Tally, reply: Reply, token: string, version: string): void {
  if (reply.status === 200) {
    const body = reply.json<{ request_id: string; values: unknown }>();
    if (body.request_id !== reply.headers.get('x-request-id')) tally.problems.push(`reply for request ${body.request_id} came back on ${reply.headers.get('x-request-id')}`);
    if (!JSON.stringify(body.values).includes(token)) tally.problems.push(`reply to ${token} does not carry it: ${reply.text}`);
    tally.ok++;
    return;
  }
  let error: { code?: unknown; type?: unknown; message?: unknown };
  try {
    error = reply.json();
  } catch {
    tally.problems.push(`non-JSON error ${reply.status}: ${reply.text}`);
    return;
  }
  const key = `${reply.status} ${String(error.type)}`;
  const allowed = ALLOWED_ERRORS[key];
  if (error.code !== reply.status || allowed === undefined || typeof error.message !== 'string' || !allowed.test(error.message)) {
    tally.problems.push(`unexpected error for version ${version}: ${reply.status} ${reply.text}`);
    return;
  }
  if (error.message === 'Server is shutting down') {
    if (!tally.stopping) tally.problems.push(`refused before the stop: ${reply.text}`);
    tally.refused++;
    return;
  }
  if (version === '1.0' && reply.status !== 500 && reply.status !== 507) tally.problems.push(`version 1.0 answered ${reply.status}: ${reply.text}`);
  tally.errors.set(key, (tally.errors.get(key) ?? 0) + 1);
}

describe('soak under injected faults', () => {
  it('answers every request exactly once, explicitly, with bounded memory and no process left', { timeout: (LOAD_SECONDS + 120) * 1000 }, async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'lantern-soak-'));
    const store = path.join(root, 'store');
    await mkdir(store);
    await writeFile(path.join(store, 'echo.mar'), await marBytes({ handler: 'echo_handler.py', modelName: 'echo', version: '1.0' }));
    await writeFile(path.join(store, 'echo_v2.mar'), await marBytes({ handler: 'echo_handler.py', modelName: 'echo', version: '2.0' }));
    await writePortConfig(root, ['graceful_shutdown_timeout_sec=20']);
    const server = startLanternProcess(root, ['--model-store', store, '--enable-model-api', '--dt', '--ncs'], { TEMP: path.join(root, 'tmp') });
    await mkdir(path.join(root, 'tmp'));
    const seenPids = new Set<number>();
    try {
      await server.ready();
      const inference = listenerUrl(server, 'Inference');
      const management = listenerUrl(server, 'Management');
      const registered = await request('POST', `${management}/models?url=echo.mar&initial_workers=2&batch_size=4&max_batch_delay=20&synchronous=true`);
      assert.equal(registered.status, 200, registered.text);

      const workerPids = async (version: string): Promise<number[]> => {
        const reply = await request('GET', `${management}/models/echo/${version}`);
        if (reply.status !== 200) return [];
        const pids = reply.json<Array<{ workers: Array<{ pid: number }> }>>()[0]?.workers.map((w) => w.pid).filter((p) => p > 0) ?? [];
        for (const p of pids) seenPids.add(p);
        return pids;
      };

      const tally: Tally = { stopping: false, refused: 0, sent: 0, ok: 0, errors: new Map(), problems: [] };
      const endMs = Date.now() + LOAD_SECONDS * 1000;
      const client = async (c: number): Promise<void> => {
        for (let i = 0; ; i++) {
          const refusedBefore = tally.refused;
          const version = i % 10 === 9 ? '2.0' : '1.0';
          const token = `c${c}-r${i}`;
          tally.sent++;
          try {
            const reply = await request('POST', `${inference}/predictions/echo/${version}`, {
              body: JSON.stringify({ token }),
              headers: { 'content-type': 'application/json' },
            });
            check(tally, reply, token, version);
            if (tally.refused > refusedBefore) return;
          } catch (err) {
            // After the stop began a new connection finds no listener: refused, not lost.
            if (tally.stopping) {
              tally.refused++;
              return;
            }
            tally.problems.push(`request ${token} got no response: ${String(err)}`);
          }
        }
      };

      const rss: number[] = [];
      const faults = async (): Promise<string[]> => {
        const log: string[] = [];
        for (let step = 0; Date.now() < endMs; step++) {
          rss.push(await rssBytes(server.pid));
          switch (step % 5) {
            case 0:
            case 3: {
              const pids = await workerPids('1.0');
              const victim = pids[step % Math.max(1, pids.length)];
              if (victim !== undefined) {
                process.kill(victim, 'SIGKILL');
                log.push(`killed ${victim}`);
              }
              break;
            }
            case 1: {
              const n = 1 + (step % 3);
              const scaled = await request('PUT', `${management}/models/echo/1.0?min_worker=${n}&max_worker=${n + 1}`);
              log.push(`scale to ${n}: ${scaled.status}`);
              break;
            }
            case 2: {
              const reg = await request('POST', `${management}/models?url=echo_v2.mar&initial_workers=1`);
              log.push(`register 2.0: ${reg.status}`);
              await workerPids('2.0');
              break;
            }
            case 4: {
              await workerPids('2.0');
              const unreg = await request('DELETE', `${management}/models/echo/2.0`);
              log.push(`unregister 2.0: ${unreg.status}`);
              break;
            }
          }
          await new Promise((r) => setTimeout(r, 1500));
        }
        return log;
      };

      const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
      const faultLog = await faults();
      // A graceful stop under load: requests in flight are answered, new ones refused.
      await workerPids('1.0');
      await workerPids('2.0');
      tally.stopping = true;
      server.signal('SIGTERM');
      await Promise.all(clients);
      assert.equal(await server.exited, 0);

      process.stdout.write(
        `# soak: ${tally.sent} requests, ${tally.ok} ok, errors ${JSON.stringify([...tally.errors])}, refused after stop ${tally.refused}, ` +
          `rss MB ${rss.map((b) => Math.round(b / 1e6)).join(',')}\n# faults: ${faultLog.join('; ')}\n`,
      );
      assert.deepEqual(tally.problems, []);
      assert.ok(tally.refused <= CLIENTS, `${tally.refused} requests refused`);
      assert.ok(tally.ok > tally.sent / 2, 'most requests succeed');
      // Memory: the second half of the run stays near the first half (no growth per request).
      const half = Math.floor(rss.length / 2);
      const firstPeak = Math.max(...rss.slice(0, half));
      const secondPeak = Math.max(...rss.slice(half));
      assert.ok(secondPeak < firstPeak * 1.5 + 64e6, `server memory grew from ${firstPeak} to ${secondPeak} bytes`);
      await waitAllDead([...seenPids], 20_000);
      assert.deepEqual(await waitFor('no process left in the test folder', async () => ((await processesUnder(root)).length === 0 ? [] : null), 20_000), []);
    } catch (err) {
      process.stderr.write(`---- server output ----\n${server.output.slice(-200).join('\n')}\n`);
      throw err;
    } finally {
      server.signal('SIGKILL');
      await server.exited;
      for (const p of seenPids) if (pidAlive(p)) process.kill(p, 'SIGKILL');
      await rm(root, { recursive: true, force: true });
    }
  });
});
