// The metrics listener end to end: Prometheus text scraped while predictions flow, checked for
// consistency on every scrape and by promtool, exact counts afterwards; log mode; no token.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lanternPerTest, request, waitFor, type Lantern } from './harness.js';

const MODEL = { file: 'm.mar', handler: 'metrics_handler.py', modelName: 'm' } as const;
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function metricsUrl(lantern: Lantern): string {
  const listener = lantern.server.listeners.find((l) => l.api === 'metrics');
  assert.ok(listener !== undefined, 'the metrics listener runs');
  return listener.url;
}

/** Sample name + label text → value, e.g. `x_count{model_name="m",}` → 3. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const value = (all: Map<string, number>, key: string): number => {
  const v = all.get(key);
  assert.ok(v !== undefined, `sample ${key} is present`);
  return v;
};

/** Every histogram's buckets never decrease and its +Inf bucket equals its count. */
function checkHistograms(text: string): void {
  const all = samples(text);
  const series = new Map<string, number[]>();
  for (const [key, v] of all) {
    const m = /^(\w+)_bucket\{(.*)le="([^"]+)",\}$/.exec(key);
    if (m === null) continue;
    const id = `${m[1] ?? ''}{${m[2] ?? ''}}`;
    series.set(id, [...(series.get(id) ?? []), v]);
    if (m[3] === '+Inf') assert.equal(v, value(all, `${m[1] ?? ''}_count{${m[2] ?? ''}}`), `${id}: +Inf bucket = count`);
  }
  for (const [id, buckets] of series) {
    buckets.forEach((b, i) => assert.ok(i === 0 || b >= (buckets[i - 1] ?? 0), `${id}: buckets never decrease`));
  }
}

function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

describe('metrics API', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('stays consistent while requests flow, passes promtool and counts every request exactly', async () => {
    const lantern = await lanterns.start({
      archives: [MODEL],
      properties: ['metrics_mode=prometheus', 'metrics_address=http://127.0.0.1:0', 'model_metrics_auto_detect=true', 'load_models=m.mar', 'default_workers_per_model=2'],
    });
    const model = lantern.server.registry.get('m');
    await waitFor('two workers', () => model.pool.readyCount() === 2, 60_000);
    const url = `${metricsUrl(lantern)}/metrics`;
    const total = 40;
    let scrapes = 0;
    let sent = 0;
    let running = true;
    const client = async (): Promise<void> => {
      while (sent < total) {
        sent++;
        const reply = await request('POST', `${lantern.inference}/predictions/m`, { body: 'hello' });
        assert.equal(reply.status, 200);
      }
    };
    const scraper = async (): Promise<void> => {
      while (running) {
        const reply = await request('GET', url);
        scrapes++;
        assert.equal(reply.status, 200);
        checkHistograms(reply.text);
      }
    };
    const scraping = scraper();
    await Promise.all([client(), client(), client(), client()]);
    running = false;
    await scraping;

    const host = (await waitFor('the handler metric of every request', async () => {
      const text = (await request('GET', url)).text;
      scrapes++;
      return /HandledRequests\{ModelName="m",Level="Model",Hostname="([^"]+)",\} 40\.0/.exec(text)?.[1];
    }, 15_000));
    const reply = await request('GET', url);
    assert.equal(reply.headers.get('content-type'), CONTENT_TYPE);
    const all = samples(reply.text);
    checkHistograms(reply.text);
    const perModel = `{model_name="m",model_version="default",hostname="${host}",}`;
    const lanternModel = '{model_name="m",model_version="1.0",}';
    assert.equal(value(all, `ts_inference_requests_total${perModel}`), total);
    assert.ok(value(all, `ts_inference_latency_microseconds${perModel}`) > 0);
    assert.ok(value(all, `ts_queue_latency_microseconds${perModel}`) >= 0);
    assert.equal(value(all, `Requests2XX{Level="Host",Hostname="${host}",}`), total + scrapes);
    assert.equal(value(all, `lantern_inference_request_duration_seconds_count${lanternModel}`), total);
    assert.equal(value(all, `lantern_queue_wait_seconds_count${lanternModel}`), total);
    assert.equal(value(all, `lantern_batch_size_sum${lanternModel}`), total, 'every request was in exactly one batch');
    assert.equal(value(all, `lantern_queue_depth${lanternModel}`), 0);
    assert.equal(value(all, `lantern_queue_capacity${lanternModel}`), 100);
    assert.equal(value(all, `lantern_workers_ready${lanternModel}`), 2);
    assert.ok(all.has(`WorkerLoadTime{WorkerName="W-9000-m_1.0",Level="Host",Hostname="${host}",}`));
    assert.ok(all.has(`WorkerLoadTime{WorkerName="W-9001-m_1.0",Level="Host",Hostname="${host}",}`));
    assert.ok(all.has(`PredictionTime{ModelName="m",Level="Model",Hostname="${host}",}`));
    assert.ok(all.has(`QueueTime{Level="Host",Hostname="${host}",}`));
    assert.ok(all.has(`MemoryUsed{Level="Host",Hostname="${host}",}`));
    assert.match(reply.text, /^# HELP ts_inference_requests_total Torchserve prometheus counter metric with unit: Count$/m);
    assert.match(reply.text, /^# TYPE GPUUtilization gauge$/m, 'families without samples are listed');

    const check = await promtool(reply.text);
    assert.doesNotMatch(check.output, /error while linting/, 'promtool parses the exposition');
    const flagged = check.output.split('\n').filter((l) => l.trim() !== '');
    const lanternProblems = flagged.filter((l) => l.startsWith('lantern_'));
    assert.deepEqual(lanternProblems, [], "Lantern's own metrics follow Prometheus' naming rules");
    assert.ok([0, 3].includes(check.code), `promtool exit code ${check.code}: only lint findings on TorchServe's names`);

    await request('GET', `${lantern.inference}/predictions/nope`);
    const filtered = await request('GET', `${url}?name[]=Requests4XX&name[]=lantern_batch_size_count`);
    assert.equal(
      filtered.text,
      [
        '# HELP Requests4XX Torchserve prometheus counter metric with unit: Count',
        '# TYPE Requests4XX counter',
        `Requests4XX{Level="Host",Hostname="${host}",} 1.0`,
        '# HELP lantern_batch_size Number of requests in each batch sent to a worker.',
        '# TYPE lantern_batch_size histogram',
        `lantern_batch_size_count${lanternModel} ${String(total)}.0`,
        '',
      ].join('\n'),
    );
  });

  it('answers an empty 200 in the default log mode, on any path under /metrics, without a token', async () => {
    const lantern = await lanterns.start({ properties: ['metrics_address=http://127.0.0.1:0', 'disable_token_authorization=false'] });
    const base = metricsUrl(lantern);
    for (const path of ['/metrics', '/metrics/anything']) {
      const reply = await request('POST', `${base}${path}`);
      assert.equal(reply.status, 200);
      assert.equal(reply.text, '');
      assert.equal(reply.headers.get('content-type'), CONTENT_TYPE);
    }
    assert.equal((await request('GET', `${base}/models`)).status, 404, 'unknown paths are 404, not a token error');
    const description = (await request('OPTIONS', `${base}/`)).json<{ paths: Record<string, unknown> }>();
    assert.ok('/metrics' in description.paths);
    assert.equal((await request('GET', `${lantern.management}/models`)).status, 400, 'the other listeners still want their key');
  });

  it('starts no metrics listener when enable_metrics_api is false', async () => {
    const lantern = await lanterns.start({ properties: ['metrics_address=http://127.0.0.1:0', 'enable_metrics_api=false'] });
    assert.equal(lantern.server.listeners.find((l) => l.api === 'metrics'), undefined);
  });
});
