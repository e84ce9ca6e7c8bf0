// One row of the report for a model under load: autocannon's figures with the server's and its
// workers' peak memory and CPU time per request, for Lantern and TorchServe alike (both describe
// their workers' pids on the management API).
import { readFile } from 'node:fs/promises';
import { cpuMeter, load, percentile, sampleRss } from './measure.mjs';
import { mgmt, workerPids } from './processes.mjs';

/** Loads `model` on `server` ({ pid, inference, management }) at `connections` for `durationS`. */
export async function served(server, model, connections, durationS, loadOptions = {}) {
  const workers = await workerPids(server.management, model);
  const rss = sampleRss({ server: [server.pid], workers });
  const cpu = await cpuMeter({ server: [server.pid], workers });
  const measured = await load(`${server.inference}/predictions/${model}`, { connections, durationS, ...loadOptions });
  const perRequest = await cpu.stop(measured.requests);
  const peak = await rss.stop();
  return { ...measured, serverRssBytes: peak.server, workerRssBytes: peak.workers, serverCpuUs: perRequest.server, workerCpuUs: perRequest.workers };
}

/** The lines of the server's log that a smoke row which failed carries, for the test to show. */
const LOG_TAIL_LINES = 40;
/** How long a drain waits for its request: a server that does not answer it has a problem of its own. */
const DRAIN_TIMEOUT_MS = 120_000;

/**
 * `served` in a smoke run (a window of a second, on a machine other jobs may share): a row with no
 * 2xx answer at all is measured once more over twice the window, since a slow model's first
 * batches can take the whole window; a row still without a 2xx, or with an error, carries the tail
 * of the server's log (`server.logFile`).
 */
export async function servedInSmoke(server, model, connections, durationS, loadOptions = {}, log = () => {}) {
  let row = await served(server, model, connections, durationS, loadOptions);
  if (row.responses2xx === 0) {
    log(`${model} c=${connections} served nothing in ${durationS} s; measuring it again over ${2 * durationS} s`);
    // The first window's requests are still being served; the retry's window starts after them.
    // Whether the server answers at all is what the retry's row then shows.
    await drain(server, model, loadOptions).catch((err) => log(`${model}: ${err.message}`));
    row = { ...(await served(server, model, connections, 2 * durationS, loadOptions)), retriedOverS: 2 * durationS };
  }
  if (row.responses2xx > 0 && row.non2xx === 0 && row.errors === 0) return row;
  const text = server.logFile === undefined ? '' : await readFile(server.logFile, 'utf8').catch((err) => `(no log: ${err.message})`);
  return { ...row, serverLogTail: text.split('\n').slice(-LOG_TAIL_LINES).join('\n') };
}

/**
 * Returns once `server` has finished what a load left behind. autocannon stops with requests in
 * flight, and a server still serves them after their clients have gone (a batch already sent to
 * a worker cannot be recalled): up to two resnet18 batches of 8, a quarter of a second of both
 * cores, which would land on the first requests of the next load, of either server. One more
 * request answers after them: with one worker it is queued behind them.
 */
export async function drain(server, model, { body = '{}', contentType = 'application/json' } = {}) {
  const res = await fetch(`${server.inference}/predictions/${model}`, {
    method: 'POST',
    body,
    headers: { 'content-type': contentType },
    signal: AbortSignal.timeout(DRAIN_TIMEOUT_MS),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${server.inference}/predictions/${model} answered ${res.status} after the load`);
}

/** `row` beside the figure it is compared with, measured right before it. */
export function withCeiling(row, name, ceiling) {
  return { ...row, ceiling: { name, requestsPerSec: ceiling.requestsPerSec }, ratioToCeiling: row.requestsPerSec / ceiling.requestsPerSec };
}

/** Registers a model on `server` (`query`: the POST /models parameters) and waits for its workers. */
export async function register(server, query) {
  await mgmt(server.management, 'POST', `/models?${query}&synchronous=true`);
}

/**
 * Registers `archive` as `model` with no worker `registrations` times (unregistering in between),
 * then scales the last one to 4 workers: the median registration and the scaling, in milliseconds.
 * One registration is a single sample of a few milliseconds, at the mercy of a collection or of the
 * previous model's workers still exiting.
 */
export async function registerAndScale(server, model, archive = model, registrations = 5) {
  const registerMs = [];
  for (let i = 0; i < registrations; i++) {
    if (i > 0) await mgmt(server.management, 'DELETE', `/models/${model}`);
    const t0 = performance.now();
    await mgmt(server.management, 'POST', `/models?url=${archive}&model_name=${model}&initial_workers=0`);
    registerMs.push(performance.now() - t0);
  }
  const t1 = performance.now();
  await mgmt(server.management, 'PUT', `/models/${model}?min_worker=4&synchronous=true`);
  const scaleMs = performance.now() - t1;
  await mgmt(server.management, 'DELETE', `/models/${model}`);
  return { registerMs: percentile(registerMs, 50), registerSamples: registerMs.length, scaleMs };
}

/** Posts to `url` until the first 2xx (a server still loading answers with errors, or not at all). */
export async function firstPrediction(url) {
  for (let i = 0; i < 6000; i++) {
    try {
      const res = await fetch(url, { method: 'POST', body: '{}' });
      await res.text();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${url} never answered 2xx`);
}
