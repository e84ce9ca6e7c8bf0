// The metrics that deploy/ scales and charts on are ones Lantern exports: a real Lantern process
// started with the command line, environment and config.properties the chart renders (only the
// listen addresses and the pod's paths are changed to fit a test machine) is scraped, and the HPA's metric with
// its model_name selector, the Prometheus Adapter rules, the KEDA query and every query of the
// Grafana dashboard are checked against what /metrics offers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IRIS_DIR, REPO_ROOT, request, waitFor } from './harness.js';
import { parseAllDocuments } from 'yaml';
import { at, only, renderChart, type Manifest } from './helm-render.js';
import { followServer, LANTERN_COMMAND, type LanternProcess } from './lantern-process.js';
import { Exposition, metricNamesIn } from './promql-metrics.js';

const DASHBOARD = path.join(REPO_ROOT, 'deploy', 'grafana', 'lantern-dashboard.json');
const ADAPTER_VALUES = path.join(REPO_ROOT, 'deploy', 'helm', 'prometheus-adapter-values.yaml');

/** The chart's config.properties, with what cannot be the same on a test machine replaced. */
function testableConfig(rendered: string, store: string, keyFile: string): string {
  const local: Record<string, string> = {
    inference_address: 'http://127.0.0.1:0',
    management_address: 'http://127.0.0.1:0',
    metrics_address: 'http://127.0.0.1:0',
    grpc_inference_address: '127.0.0.1',
    grpc_management_address: '127.0.0.1',
    grpc_inference_port: '0',
    grpc_management_port: '0',
    model_store: store,
    token_key_file: keyFile,
  };
  return rendered
    .split('\n')
    .map((line) => {
      const key = line.slice(0, line.indexOf('=')).trim();
      return line.includes('=') && !line.startsWith('#') && key in local ? `${key}=${local[key]}` : line;
    })
    .join('\n');
}

const listenerOf = (p: LanternProcess, label: string): string => {
  const line = p.output.find((l) => l.includes(`${label} listening on `));
  if (line === undefined) throw new Error(`no ${label} listener in the output:\n${p.output.join('\n')}`);
  return line.slice(line.indexOf(' listening on ') + ' listening on '.length).trim();
};

interface DashboardPanel {
  readonly title: string;
  readonly targets: Array<{ expr: string }>;
}

describe('metrics that deploy/ scales and charts on', () => {
  let dir: string;
  let lantern: LanternProcess;
  let chart: Manifest[];
  let page: Exposition;

  before(async () => {
    chart = await renderChart(['hpa']);
    dir = await realpath(await mkdtemp(path.join(tmpdir(), 'lantern-deploy-')));
    const store = path.join(dir, 'model-store');
    await mkdir(store);
    await cp(IRIS_DIR, path.join(store, 'iris'), { recursive: true });
    const keyFile = path.join(dir, 'keys', 'key_file.json');
    await mkdir(path.dirname(keyFile), { mode: 0o700 });
    await writeFile(keyFile, at(only(chart, 'Secret'), 'stringData', 'key_file.json') as string, { mode: 0o600 });
    const rendered = at(only(chart, 'ConfigMap'), 'data', 'config.properties') as string;
    await writeFile(path.join(dir, 'config.properties'), testableConfig(rendered, store, keyFile));
    // The Deployment's command line and environment, with the pod's paths moved into the test folder.
    const container = (at(only(chart, 'Deployment'), 'spec', 'template', 'spec', 'containers') as Array<{ args: string[]; env: Array<{ name: string; value: string }> }>)[0];
    assert.ok(container !== undefined && container.args[0] === 'lantern', 'the pod runs lantern');
    const inPod = (text: string): string =>
      text
        .replace('/home/model-server/config/config.properties', path.join(dir, 'config.properties'))
        .replace('/home/model-server/model-store', store)
        .replace('/home/model-server/scratch', path.join(dir, 'scratch'));
    const env = Object.fromEntries(container.env.map((e) => [e.name, inPod(e.value)]));
    await mkdir(path.join(dir, 'scratch', 'tmp'), { recursive: true });
    const child = spawn(LANTERN_COMMAND, [...container.args.slice(1).map(inPod), '--ncs'], {
      cwd: path.join(dir, 'scratch'),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    lantern = followServer(child, "Lantern with the chart's command line");
    await lantern.ready();

    // A prediction, so that the counters TorchServe's adapter rule reads have samples; the key is
    // the one the server uses: its own key_file.json when it wrote one, else the chart's Secret.
    const written = await readFile(path.join(dir, 'scratch', 'key_file.json'), 'utf8').catch(() => null);
    const keys = JSON.parse(written ?? (await readFile(keyFile, 'utf8'))) as { inference: { key: string } };
    const inference = listenerOf(lantern, 'Inference API');
    await waitFor('a ready iris worker', async () => (await request('GET', `${inference}/readyz`)).status === 200, 30_000);
    const reply = await request('POST', `${inference}/predictions/iris`, {
      headers: { authorization: `Bearer ${keys.inference.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }),
    });
    assert.equal(reply.status, 200, reply.text);
    const scrape = await request('GET', `${listenerOf(lantern, 'Metrics API')}/metrics`);
    assert.equal(scrape.status, 200);
    page = new Exposition(scrape.text);
  });

  after(async () => {
    if (lantern !== undefined) {
      lantern.signal('SIGTERM');
      await lantern.exited;
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("scales on a metric the chart's config exports, with the HPA's model_name label", () => {
    const hpa = only(chart, 'HorizontalPodAutoscaler');
    const metric = at(hpa, 'spec', 'metrics', 0, 'external', 'metric') as { name: string; selector: { matchLabels: Record<string, string> } };
    assert.equal(metric.name, 'lantern_queue_depth');
    assert.equal(page.families.get(metric.name), 'gauge');
    assert.deepEqual([...(page.samples.get(metric.name) ?? [])].sort(), ['model_name', 'model_version'], 'a sample per model, labelled by model');
    assert.deepEqual(metric.selector.matchLabels, { model_name: 'iris' });
    assert.match(page.text, /^lantern_queue_depth\{model_name="iris",model_version="1\.0",\} 0\.0$/m, "the selected model's sample");
  });

  it('serves both Prometheus Adapter rules, Lantern’s and TorchServe’s, from exported metrics', async () => {
    const [adapter] = await readManifestsAsValues(ADAPTER_VALUES);
    const rules = at(adapter, 'rules', 'external') as Array<{ seriesQuery: string; metricsQuery: string; name: { as: string } }>;
    assert.deepEqual(
      rules.map((r) => r.name.as),
      ['lantern_queue_depth', 'ts_queue_latency_microseconds'],
    );
    for (const rule of rules) {
      const names = [...metricNamesIn(rule.seriesQuery), ...metricNamesIn(rule.metricsQuery)];
      assert.ok(names.length > 0, `names in ${rule.seriesQuery}`);
      for (const name of names) {
        assert.ok(page.samples.has(name), `${name} (adapter rule ${rule.name.as}) has samples on /metrics`);
        assert.ok(page.samples.get(name)?.has('model_name'), `${name} carries model_name for the HPA selector`);
      }
    }
  });

  it('has KEDA query a metric that Lantern exports, by model_name', async () => {
    const keda = only(await renderChart(['keda']), 'ScaledObject');
    const query = at(keda, 'spec', 'triggers', 0, 'metadata', 'query') as string;
    assert.equal(query, 'sum(lantern_queue_depth{namespace="serving",model_name="iris"})');
    for (const name of metricNamesIn(query)) assert.ok(page.samples.get(name)?.has('model_name'), name);
  });

  it('charts in Grafana only metrics that Lantern exports', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: DashboardPanel[]; templating: { list: Array<{ definition?: string }> } };
    const queries = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: p.title, expr: t.expr }))),
      ...dashboard.templating.list.flatMap((v) => (v.definition === undefined ? [] : [{ where: 'variable', expr: v.definition }])),
    ];
    assert.ok(queries.length >= 15, `the dashboard has its queries (${queries.length})`);
    const charted = new Set<string>();
    for (const { where, expr } of queries) {
      const names = metricNamesIn(expr);
      assert.ok(names.length > 0, `${where}: ${expr} names a metric`);
      for (const name of names) {
        assert.ok(page.offers(name), `${where}: ${name} is not on /metrics`);
        charted.add(name);
      }
    }
    for (const needed of ['ts_inference_requests_total', 'lantern_inference_errors_total', 'lantern_inference_request_duration_seconds_bucket', 'lantern_queue_depth', 'lantern_workers_ready', 'lantern_worker_restarts_total']) {
      assert.ok(charted.has(needed), `the dashboard charts ${needed}`);
    }
  });
});

/** A values file for another chart is not a Kubernetes object: read it as plain YAML documents. */
async function readManifestsAsValues(file: string): Promise<unknown[]> {
  return parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as unknown);
}
