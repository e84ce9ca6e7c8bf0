// The scale-out proof (issue 24 item 7): three replicas of the image with the same keys and one model
// store behind Debian's haproxy, configured as docs/deploy.md recommends. Under a steady, bounded load
// the replicas restart one by one (SIGTERM, wait until gone, start, wait until ready) with zero failed
// requests; then one is killed with SIGKILL and only requests in flight on it may fail.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { marBytes, REPO_ROOT, request, waitFor } from './harness.js';
import { freePort } from './lantern-process.js';
import { prepareReplicas, startReplica, waitReady, type Replica, type ReplicaMode, type ReplicaSpec } from './container-replicas.js';

const KEYS = { inference: 'rolling-inference-key-0123456789', management: 'rolling-management-key-0123456789' };
const CLIENTS = 4;
/** Every client stops after this many requests, whatever happens: the load is bounded. */
const MAX_REQUESTS_PER_CLIENT = 20_000;

/** The HAProxy configuration from docs/deploy.md, with this test's frontend port and replicas. */
async function haproxyConfig(bindPort: number, replicas: readonly ReplicaSpec[]): Promise<string> {
  const doc = await readFile(path.join(REPO_ROOT, 'docs', 'deploy.md'), 'utf8');
  const block = /```haproxy\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block !== undefined, 'docs/deploy.md has a haproxy block');
  const servers = replicas.map((r) => `    server ${r.name} 127.0.0.1:${r.inferencePort}`).join('\n');
  const config = block
    .replace(/^(\s*)bind \S+$/m, `$1bind 127.0.0.1:${bindPort}`)
    .replace(/(^\s*server \S+ \S+\n?)+/m, `${servers}\n`);
  assert.equal((config.match(/^\s*server /gm) ?? []).length, replicas.length);
  return config;
}

interface Tally {
  ok: number;
  failed: number;
  failures: string[];
}

/** CLIENTS loops of predictions through the balancer until stopped; counts answers. */
function steadyLoad(url: string): { tally: Tally; setPhase(t: Tally): void; stop(): Promise<void> } {
  let tally: Tally = { ok: 0, failed: 0, failures: [] };
  let stopping = false;
  const clients = Array.from({ length: CLIENTS }, async () => {
    for (let i = 0; i < MAX_REQUESTS_PER_CLIENT && !stopping; i++) {
      const counted = tally;
      try {
        const reply = await request('POST', `${url}/predictions/slow`, { body: '0.05', headers: { authorization: `Bearer ${KEYS.inference}` } });
        if (reply.status === 200) counted.ok++;
        else {
          counted.failed++;
          counted.failures.push(`${reply.status} ${reply.text.slice(0, 200)}`);
        }
      } catch (err) {
        counted.failed++;
        counted.failures.push((err as Error).message);
      }
    }
  });
  return {
    get tally() {
      return tally;
    },
    setPhase: (t) => {
      tally = t;
    },
    stop: async () => {
      stopping = true;
      await Promise.all(clients);
    },
  };
}

describe('a rolling restart behind HAProxy', { timeout: 1_800_000 }, () => {
  let mode: ReplicaMode = 'process';
  let dir = '';
  const replicas: Replica[] = [];
  let haproxy: ChildProcess | null = null;
  before(async () => {
    mode = await prepareReplicas((line) => console.log(line));
    dir = await mkdtemp(path.join(tmpdir(), 'lantern-rolling-e2e-'));
    await mkdir(path.join(dir, 'store'));
    await writeFile(path.join(dir, 'store', 'slow.mar'), await marBytes({ handler: 'slow_handler.py', modelName: 'slow' }));
    await writeFile(path.join(dir, 'keys.json'), JSON.stringify(KEYS), { mode: 0o644 });
  });
  after(async () => {
    if (haproxy !== null && haproxy.exitCode === null) {
      const gone = new Promise((resolve) => haproxy?.once('exit', resolve));
      haproxy.kill('SIGKILL');
      await gone;
    }
    for (const r of replicas) await r.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no request while replicas restart one by one, and only in-flight ones when one is killed', async () => {
    const specs: ReplicaSpec[] = [];
    for (const name of ['lantern1', 'lantern2', 'lantern3']) {
      const replicaDir = path.join(dir, name);
      await mkdir(replicaDir);
      specs.push({
        name,
        dir: replicaDir,
        store: path.join(dir, 'store'),
        keyFile: path.join(dir, 'keys.json'),
        inferencePort: await freePort(),
        properties: ['load_models=slow.mar', 'disable_token_authorization=false', 'shutdown_delay_sec=3', 'default_workers_per_model=1'],
      });
    }
    const started = await Promise.all(specs.map((s) => startReplica(s, mode)));
    replicas.push(...started);
    await Promise.all(replicas.map((r) => waitReady(r)));

    const bindPort = await freePort();
    const configFile = path.join(dir, 'haproxy.cfg');
    await writeFile(configFile, await haproxyConfig(bindPort, specs));
    haproxy = spawn('haproxy', ['-db', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    const balancer = `http://127.0.0.1:${bindPort}`;
    const auth = { authorization: `Bearer ${KEYS.inference}` };
    await waitFor('HAProxy to answer', async () => (await request('POST', `${balancer}/predictions/slow`, { body: '0', headers: auth }).catch(() => null))?.status === 200, 30_000, 200);

    const load = steadyLoad(balancer);
    const rolling: Tally = { ok: 0, failed: 0, failures: [] };
    load.setPhase(rolling);
    const rollStartedMs = Date.now();
    for (let i = 0; i < replicas.length; i++) {
      const old = replicas[i] as Replica;
      await old.signal('SIGTERM');
      assert.equal(await old.exited, 0, await old.logs());
      await old.remove();
      const fresh = await startReplica(old.spec, mode);
      replicas[i] = fresh;
      await waitReady(fresh);
      // HAProxy puts it back after one passing check; wait for a request to reach it (its counter moves).
      const before = rolling.ok;
      await waitFor('requests to keep flowing', () => rolling.ok > before + 10, 60_000, 100);
    }
    const rollSec = (Date.now() - rollStartedMs) / 1000;

    const killed: Tally = { ok: 0, failed: 0, failures: [] };
    load.setPhase(killed);
    const victim = replicas[0] as Replica;
    await victim.signal('SIGKILL');
    await victim.exited;
    // Enough traffic after the kill that HAProxy has taken the dead replica out.
    await waitFor('requests after the kill', () => killed.ok >= 200, 120_000, 100);
    await load.stop();

    console.log(
      `rolling restart (${mode}s): ${rolling.ok} requests answered 200, ${rolling.failed} failed, in ${rollSec.toFixed(1)} s; ` +
        `after SIGKILL of one replica: ${killed.ok} answered 200, ${killed.failed} failed (at most ${CLIENTS} in flight)`,
    );
    assert.deepEqual(rolling.failures, [], 'no request fails during the rolling restart');
    assert.ok(rolling.ok > 0);
    assert.ok(killed.failed <= CLIENTS, `only requests in flight may fail: ${killed.failures.join('; ')}`);
  });
});
