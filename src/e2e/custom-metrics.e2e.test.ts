// TorchServe's custom-metrics example (issue 22 item 2): its handler (mnist_handler.py, unchanged)
// archived by torch-model-archiver 0.12.0 over a small image model of ours, served with the
// example's own metrics.yaml, metrics_mode=prometheus and model_metrics_auto_detect=true, as its
// config.properties says. Every prediction answers 200, and every metric the handler reports is on
// /metrics with TorchServe's names and labels: the YAML's model_metrics (seeded into the worker's
// context.metrics, so get_metric finds RequestBatchSize), and those it does not declare.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, closeAndCheck, dumpLogsOnFailure, request, startLantern, type Lantern } from './harness.js';

const run = promisify(execFile);
const EXAMPLE = path.join(REPO_ROOT, 'test', 'fixtures', 'torchserve-examples', 'custom_metrics');
const PYTORCH = path.join(REPO_ROOT, 'test', 'fixtures', 'pytorch');
const TORCH_PYTHON = '/usr/bin/python3';
const PREDICTIONS = 3;

describe("TorchServe 0.12.0's custom-metrics example", () => {
  let work: string;
  let lantern: Lantern;
  let metrics: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'lantern-custom-metrics-'));
    await run(TORCH_PYTHON, [path.join(PYTORCH, 'make_models.py'), work], { timeout: 120_000 });
    await copyFile(path.join(PYTORCH, 'color_net.py'), path.join(work, 'color_net.py'));
    await run('python3', [
      '-m', 'model_archiver.model_packaging',
      '--model-name', 'mnist', '--version', '1.0',
      '--serialized-file', 'color_net.pth', '--model-file', 'color_net.py',
      '--handler', path.join(EXAMPLE, 'mnist_handler.py'), '--export-path', work,
    ], { cwd: work });
    lantern = await startLantern({
      properties: [
        `python=${TORCH_PYTHON}`,
        'metrics_mode=prometheus',
        `metrics_config=${path.join(EXAMPLE, 'metrics.yaml')}`,
        'model_metrics_auto_detect=true',
      ],
    });
    metrics = lantern.server.listeners.find((l) => l.api === 'metrics')?.url as string;
    await lantern.writeStoreFile('mnist.mar', await readFile(path.join(work, 'mnist.mar')));
    const reg = await request('POST', `${lantern.management}/models?url=mnist.mar&initial_workers=1&synchronous=true`);
    assert.equal(reg.status, 200, reg.text);
  });

  after(async (t) => {
    dumpLogsOnFailure(t as { passed?: boolean; name: string }, lantern);
    if (lantern !== undefined) await closeAndCheck(lantern);
    await rm(work, { recursive: true, force: true });
  });

  it('answers every prediction 200 and puts every metric the handler reports on /metrics', async () => {
    const image = await readFile(path.join(work, 'red.png'));
    for (let i = 0; i < PREDICTIONS; i++) {
      const reply = await request('POST', `${lantern.inference}/predictions/mnist`, { body: image });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.text, '0', 'the red image is class 0');
    }
    const text = (await request('GET', `${metrics}/metrics`)).text;
    const host = hostname();
    const sample = (line: string): void => assert.ok(text.split('\n').includes(line), `/metrics has ${line}\n${text}`);
    // model_metrics of the example's metrics.yaml, with their dimensions and the host name.
    sample('# TYPE InferenceRequestCount counter');
    sample('# TYPE RequestBatchSize gauge');
    sample(`InferenceRequestCount{Hostname="${host}",} ${PREDICTIONS}.0`);
    sample(`InitializeCallCount{ModelName="mnist",Level="Model",Hostname="${host}",} 1.0`);
    sample(`PreprocessCallCount{ModelName="mnist",Hostname="${host}",} ${PREDICTIONS}.0`);
    sample(`PostprocessCallCount{ModelName="mnist",Level="Model",Hostname="${host}",} ${PREDICTIONS}.0`);
    sample(`RequestBatchSize{ModelName="mnist",Hostname="${host}",} 1.0`);
    assert.match(text, new RegExp(`^SizeOfImage\\{ModelName="mnist",Level="Model",Hostname="${host}",\\} [0-9.E-]+$`, 'm'));
    assert.match(text, new RegExp(`^PredictionTime\\{ModelName="mnist",Level="Model",Hostname="${host}",\\} \\d`, 'm'));
    assert.match(text, new RegExp(`^HandlerTime\\{ModelName="mnist",Level="Model",Hostname="${host}",\\} \\d`, 'm'));
    // Not declared: found by model_metrics_auto_detect, with the line's type (a histogram here).
    assert.match(text, new RegExp(`^HandlerMethodTime\\{MethodName="preprocess",ModelName="mnist",Level="Model",Hostname="${host}",\\} \\d`, 'm'));
    sample('# TYPE ExamplePercentMetric histogram');
    sample(`ExamplePercentMetric_count{ModelName="mnist",Level="Model",Hostname="${host}",} ${PREDICTIONS}.0`);
    // The example's ts_metrics: front-end metrics as it lists them.
    assert.match(text, /^ts_inference_requests_total\{model_name="mnist",model_version="default",hostname="[^"]+",\} 3\.0$/m);
  });
});
