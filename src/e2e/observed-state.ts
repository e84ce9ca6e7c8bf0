// What a running server shows about its own state, for tests that order events by waiting on it
// (a line in its output, a describe field, a metric) instead of sleeping for a guessed time: on a
// machine shared with other test runs a guess is either too short (flaky) or too long (slow).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import assert from 'node:assert/strict';
import { request, waitFor, type Lantern, type Reply } from './harness.js';

/** How many of `lines` contain `fragment`. */
export function countLines(lines: readonly string[], fragment: string): number {
  return lines.filter((l) => l.includes(fragment)).length;
}

/** Waits until `count` lines of `lines` (a server's or a process's output) contain `fragment`. */
export async function waitForLine(lines: readonly string[], fragment: string, count = 1, timeoutMs = 15_000): Promise<void> {
  await waitFor(`${count} output line(s) with "${fragment}"`, () => countLines(lines, fragment) >= count, timeoutMs);
}

/** The predictions waiting in a model's queue, as describe reports them (jobQueueStatus.pendingRequests). */
export async function queuedRequests(lantern: Lantern, model: string): Promise<number> {
  const reply = await request('GET', `${lantern.management}/models/${model}`);
  if (reply.status !== 200) throw new Error(`describe ${model}: ${reply.status} ${reply.text}`);
  const pending = reply.json<Array<{ jobQueueStatus?: { pendingRequests?: unknown } }>>()[0]?.jobQueueStatus?.pendingRequests;
  if (typeof pending !== 'number') throw new Error(`describe ${model} has no jobQueueStatus.pendingRequests: ${reply.text}`);
  return pending;
}

export async function waitForQueued(lantern: Lantern, model: string, count: number): Promise<void> {
  let last = -1;
  try {
    await waitFor(`${count} queued request(s) for ${model}`, async () => (last = await queuedRequests(lantern, model)) === count);
  } catch (err) {
    throw new Error(`${(err as Error).message} (last seen: ${last})`);
  }
}

/**
 * The sum of a metric's samples on the metrics API (the server runs with metrics_mode=prometheus);
 * 0 while it has none.
 */
export async function metricTotal(lantern: Lantern, name: string): Promise<number> {
  const listener = lantern.server.listeners.find((l) => l.api === 'metrics');
  if (listener === undefined) throw new Error('no metrics listener');
  const reply = await request('GET', `${listener.url}/metrics`);
  let total = 0;
  for (const line of reply.text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/**
 * Waits until the server has received `count` predictions (ts_inference_requests_total, which
 * counts each one as it is queued): from then on they are in its queue or in a worker.
 */
export async function waitForReceived(lantern: Lantern, count: number): Promise<void> {
  await waitFor(`${count} prediction(s) received`, async () => (await metricTotal(lantern, 'ts_inference_requests_total')) >= count);
}

/**
 * A file for slow_handler's "until:PATH" body: the request holds its worker until `release()`
 * creates the file. It lives in the server's temporary folder, removed with it.
 */
export function holdFile(lantern: Lantern, name: string): { body: string; release(): Promise<void> } {
  const file = path.join(path.dirname(lantern.store), `release-${name}`);
  return { body: `until:${file}`, release: () => writeFile(file, '') };
}

/**
 * With the slow model's one worker held by a first request, two more queue up; once it is released
 * the second runs (sleeping `runningSec`) and the third, sleeping `behindSec`, is sent into the busy
 * worker's socket behind it (pipelining). Resolves once the queue shows it empty, with the two
 * requests still to be answered.
 */
export async function pipelineBehindRunning(
  lantern: Lantern,
  runningSec: number,
  behindSec: number,
): Promise<{ running: Promise<Reply>; behind: Promise<Reply> }> {
  const hold = holdFile(lantern, 'first');
  const first = request('POST', `${lantern.inference}/predictions/slow`, { body: hold.body });
  await waitForLine(lantern.logs, 'slow_handler: holding until');
  const running = request('POST', `${lantern.inference}/predictions/slow`, { body: String(runningSec) });
  await waitForQueued(lantern, 'slow', 1);
  const behind = request('POST', `${lantern.inference}/predictions/slow`, { body: String(behindSec) });
  await waitForQueued(lantern, 'slow', 2);
  await hold.release();
  assert.equal((await first).status, 200);
  await waitForLine(lantern.logs, `slow_handler: sleeping ${runningSec}`);
  assert.equal(await queuedRequests(lantern, 'slow'), 0, 'the third request left the queue with the second, into the busy worker');
  return { running, behind };
}
