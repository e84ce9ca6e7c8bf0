// Custom metrics (issue 22 item 2): a handler of our own (test/fixtures/user-handlers/image_metrics,
// on TorchServe's ImageClassifier) that uses context.metrics as TorchServe documents it, archived
// by torch-model-archiver 0.12.0 over a small image model of ours, served with our metrics.yaml,
// metrics_mode=prometheus and model_metrics_auto_detect=true. Every prediction answers 200, and
// every metric the handler reports is on /metrics with TorchServe's names and labels: the YAML's
// model_metrics (seeded into the worker's context.metrics, so get_metric finds ImagesReceived and
// ImagesPerBatch), and those it does not declare; of the front-end metrics, only the YAML's ts_metrics.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, closeAndCheck, dumpLogsOnFailure, request, startLantern, type Lantern } from './harness.js';

const run = promisify(execFile);
const HANDLER = path.join(REPO_ROOT, 'test', 'fixtures', 'user-handlers', 'image_metrics');
const PYTORCH = path.join(REPO_ROOT, 'test', 'fixtures', 'pytorch');
const TORCH_PYTHON = '/usr/bin/python3';
const PREDICTIONS = 3;

describe('Custom metrics from a handler (context.metrics)', () => {
  let work: string;
  let lantern: Lantern;
  let metrics: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'lantern-custom-metrics-'));
    await run(TORCH_PYTHON, [path.join(PYTORCH, 'make_models.py'), work], { timeout: 120_000 });
    await copyFile(path.join(PYTORCH, 'color_net.py'), path.join(work, 'color_net.py'));
    await run('python3', [
      '-m', 'model_archiver.model_packaging',
      '--model-name', 'colors', '--version', '1.0',
      '--serialized-file', 'color_net.pth', '--model-file', 'color_net.py',
      '--handler', path.join(HANDLER, 'handler.py'), '--export-path', work,
    ], { cwd: work });
    lantern = await startLantern({
      properties: [
        `python=${TORCH_PYTHON}`,
        'metrics_mode=prometheus',
        `metrics_config=${path.join(HANDLER, 'metrics.yaml')}`,
        'model_metrics_auto_detect=true',
      ],
    });
    metrics = lantern.server.listeners.find((l) => l.api === 'metrics')?.url as string;
    await lantern.writeStoreFile('colors.mar', await readFile(path.join(work, 'colors.mar')));
    const reg = await request('POST', `${lantern.management}/models?url=colors.mar&initial_workers=1&synchronous=true`);
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
      const reply = await request('POST', `${lantern.inference}/predictions/colors`, { body: image });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.text, '0', 'the red image is class 0');
    }
    const text = (await request('GET', `${metrics}/metrics`)).text;
    const host = hostname();
    const sample = (line: string): void => assert.ok(text.split('\n').includes(line), `/metrics has ${line}\n${text}`);
    // model_metrics of our metrics.yaml, with their dimensions and the host name.
    sample('# TYPE ImagesReceived counter');
    sample('# TYPE ImagesPerBatch gauge');
    sample(`ImagesReceived{Hostname="${host}",} ${PREDICTIONS}.0`);
    sample(`LoadCount{ModelName="colors",Level="Model",Hostname="${host}",} 1.0`);
    sample(`DecodeCalls{ModelName="colors",Hostname="${host}",} ${PREDICTIONS}.0`);
    sample(`ReplyCount{ModelName="colors",Level="Model",Hostname="${host}",} ${PREDICTIONS}.0`);
    sample(`ImagesPerBatch{ModelName="colors",Hostname="${host}",} 1.0`);
    const kilobytes = (image.length / 1024).toString();
    assert.match(text, new RegExp(`^UploadSize\\{ModelName="colors",Level="Model",Hostname="${host}",\\} ([0-9.E-]+)$`, 'm'));
    const upload = Number(/^UploadSize\{[^}]*\} (\S+)$/m.exec(text)?.[1]);
    assert.ok(Math.abs(upload - Number(kilobytes)) < 1e-3, `UploadSize ${upload} is the upload's ${kilobytes} kB`);
    assert.match(text, new RegExp(`^PredictionTime\\{ModelName="colors",Level="Model",Hostname="${host}",\\} \\d`, 'm'));
    assert.match(text, new RegExp(`^HandlerTime\\{ModelName="colors",Level="Model",Hostname="${host}",\\} \\d`, 'm'));
    // Not declared: found by model_metrics_auto_detect, with the line's type (a histogram here).
    assert.match(text, new RegExp(`^StageTime\\{Stage="decode",ModelName="colors",Level="Model",Hostname="${host}",\\} \\d`, 'm'));
    sample('# TYPE TopClassPercent histogram');
    sample(`TopClassPercent_count{ModelName="colors",Level="Model",Hostname="${host}",} ${PREDICTIONS}.0`);
    // Our ts_metrics: the front-end metrics it lists, and not those it leaves out.
    assert.match(text, /^ts_inference_requests_total\{model_name="colors",model_version="default",hostname="[^"]+",\} 3\.0$/m);
    assert.doesNotMatch(text, /^ts_inference_latency_microseconds/m);
  });
});
