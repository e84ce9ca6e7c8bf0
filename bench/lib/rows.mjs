// One row of the report for a model under load: autocannon's figures with the server's and its
// workers' peak memory and CPU time per request, for Lantern and TorchServe alike (both describe
// their workers' pids on the management API).
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
