// The log files under LOG_LOCATION after a run with a crashing worker: the access, model, server
// and (log mode) metrics logs as TorchServe writes them, worker output kept up to the crash, and
// neither tokens nor request bodies anywhere.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/load-config.js';
import { openServerLogs, serverLogSettings } from '../logging/server-logs.js';
import { startServer } from '../main.js';
import { marBytes, request, waitAllDead, waitFor } from './harness.js';

const SECRET_BODY = 'secret-body-5f1c';

async function runServer(tmp: string, properties: readonly string[], exercise: (urls: { inference: string; keys: Record<string, { key: string }> }) => Promise<void>): Promise<string> {
  const store = path.join(tmp, 'store');
  await mkdir(store, { recursive: true });
  await writeFile(path.join(store, 'm.mar'), await marBytes({ handler: 'metrics_handler.py', modelName: 'm' }));
  const fileText = [
    'inference_address=http://127.0.0.1:0',
    'management_address=http://127.0.0.1:0',
    'metrics_address=http://127.0.0.1:0',
    'grpc_inference_port=0',
    'grpc_management_port=0',
    `model_store=${store}`,
    'load_models=m.mar',
    'default_workers_per_model=1',
    ...properties,
  ].join('\n');
  const { config } = loadConfig({ fileText, cli: {}, env: {} });
  const env = { ...process.env, LOG_LOCATION: path.join(tmp, 'logs'), METRICS_LOCATION: path.join(tmp, 'logs') };
  const logs = openServerLogs(serverLogSettings(config, env, tmp, null));
  const server = await startServer(config, { env, cwd: tmp, tmpDir: path.join(tmp, 'work'), cpuCount: 1, logger: logs });
  const pids: number[] = [];
  try {
    const model = server.registry.get('m');
    await waitFor('the worker', () => model.pool.readyCount() === 1, 60_000);
    pids.push(...model.pool.pids());
    const inference = server.listeners.find((l) => l.api === 'inference')?.url ?? '';
    const keys = server.keyFile === null ? {} : (JSON.parse(await readFile(server.keyFile, 'utf8')) as Record<string, { key: string }>);
    await exercise({ inference, keys });
    pids.push(...model.pool.pids());
  } finally {
    await server.close();
    await logs.close();
    await waitAllDead(pids);
  }
  return path.join(tmp, 'logs');
}

const lines = async (dir: string, name: string): Promise<string[]> => (await readFile(path.join(dir, name), 'utf8')).split('\n').filter((l) => l !== '');

describe('log files', () => {
  const tmps: string[] = [];
  after(async () => Promise.all(tmps.map((t) => rm(t, { recursive: true, force: true }))));
  const tempDir = async (): Promise<string> => {
    const t = await realpath(await mkdtemp(path.join(tmpdir(), 'lantern-logs-e2e-')));
    tmps.push(t);
    return t;
  };

  it('keeps access, model, server and metrics logs through a worker crash, without tokens or bodies', async () => {
    let token = '';
    const tmp = await tempDir();
    const dir = await runServer(tmp, ['metric_time_interval=1'], async ({ inference, keys }) => {
      token = keys.inference?.key ?? '';
      const auth = { authorization: `Bearer ${token}` };
      for (let i = 0; i < 3; i++) {
        assert.equal((await request('POST', `${inference}/predictions/m`, { body: SECRET_BODY, headers: auth })).status, 200);
      }
      assert.equal((await request('POST', `${inference}/predictions/m`, { body: SECRET_BODY })).status, 400, 'no token');
      const crash = await request('POST', `${inference}/predictions/m`, { body: 'crash', headers: auth });
      assert.ok(crash.status >= 500, `the crash is answered with an error (${crash.status})`);
      await waitFor('the restarted worker', async () => (await request('POST', `${inference}/predictions/m`, { body: 'x', headers: auth })).status === 200, 30_000, 300);
      // At least one periodic host reading after the first one at start.
      const tsMetrics = path.join(tmp, 'logs', 'ts_metrics.log');
      await waitFor('a second host reading in ts_metrics.log', async () => (await readFile(tsMetrics, 'utf8')).split('\n').filter((l) => l.includes(' - CPUUtilization.Percent:')).length >= 2);
    });
    assert.ok(token.length > 0);

    const access = await lines(dir, 'access_log.log');
    const predictions = access.filter((l) => l.includes('"POST /predictions/m HTTP/1.1" 200 '));
    assert.ok(predictions.length >= 4, 'one line per request');
    assert.match(predictions[0] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{3} - \/127\.0\.0\.1:\d+ "POST \/predictions\/m HTTP\/1\.1" 200 \d+$/);
    assert.ok(access.some((l) => / "POST \/predictions\/m HTTP\/1\.1" 400 \d+$/.test(l)));
    assert.ok(access.some((l) => / "POST \/predictions\/m HTTP\/1\.1" 5\d\d \d+$/.test(l)));

    const model = await lines(dir, 'model_log.log');
    assert.ok(model.some((l) => / \[INFO \] W-9000-m_1\.0-stdout MODEL_LOG - metrics_handler: stdout for [0-9a-f-]{36}$/.test(l)));
    assert.ok(model.some((l) => / \[WARN \] W-9000-m_1\.0-stderr MODEL_LOG - metrics_handler: stderr for /.test(l)));
    assert.ok(model.some((l) => l.endsWith('W-9000-m_1.0-stdout MODEL_LOG - metrics_handler: last words before the crash')));
    assert.ok(model.some((l) => l.endsWith('W-9000-m_1.0-stderr MODEL_LOG - metrics_handler: last stderr words')), 'a last line without newline is kept');
    assert.ok(!model.some((l) => l.includes('[METRICS]')), 'metric lines are not model log');

    const server = await lines(dir, 'ts_log.log');
    assert.ok(server.some((l) => / \[INFO \] main lantern - Loaded model m /.test(l)));
    assert.ok(server.some((l) => l.includes(' ACCESS_LOG - ')) && server.some((l) => l.includes(' MODEL_LOG - ')), 'the server log has every line');

    const tsMetrics = await lines(dir, 'ts_metrics.log');
    assert.ok(tsMetrics.some((l) => /^\S+ - Requests2XX\.Count:1\.0\|#Level:Host\|#hostname:[^,]+,timestamp:\d+$/.test(l)));
    assert.ok(tsMetrics.filter((l) => / - CPUUtilization\.Percent:[\d.]+\|#Level:Host\|#hostname:/.test(l)).length >= 2, 'host readings repeat');
    assert.ok(tsMetrics.some((l) => / - ts_inference_requests_total\.Count:1\.0\|#model_name:m,model_version:default\|#hostname:/.test(l)));
    const modelMetrics = await lines(dir, 'model_metrics.log');
    assert.ok(modelMetrics.some((l) => / - PredictionTime\.ms:[\d.E-]+\|#ModelName:m,Level:Model\|#hostname:[^,]+,requestID:[0-9a-f-]{36},timestamp:\d+$/.test(l)));

    for (const name of await readdir(dir)) {
      if (!name.endsWith('.log')) continue;
      const text = await readFile(path.join(dir, name), 'utf8');
      assert.ok(!text.includes(token), `${name} has no token`);
      assert.ok(!text.includes(SECRET_BODY), `${name} has no request body`);
    }
  });

  it('writes JSON lines with log_format=json and rolls files over by size', async () => {
    const dir = await runServer(await tempDir(), ['log_format=json', 'log_max_file_bytes=2000', 'log_backup_count=2', 'disable_token_authorization=true', 'disable_system_metrics=true'], async ({ inference }) => {
      for (let i = 0; i < 30; i++) assert.equal((await request('POST', `${inference}/predictions/m`, { body: 'x' })).status, 200);
    });
    const files = await readdir(dir);
    assert.ok(files.includes('model_log.log.1') && files.includes('model_log.log.2') && !files.includes('model_log.log.3'), files.join(' '));
    const access = (await lines(dir, 'access_log.log')).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(access[0]?.logger, 'ACCESS_LOG');
    assert.match(String(access[0]?.message), /^\/127\.0\.0\.1:\d+ "POST \/predictions\/m HTTP\/1\.1" 200 \d+$/);
    const model = (await lines(dir, 'model_log.log')).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(model.every((r) => r.worker === 'W-9000-m_1.0'));
    for (const name of files.filter((f) => f.includes('.log'))) {
      assert.ok((await readFile(path.join(dir, name))).length <= 2000 + 1000, `${name} stays near its size limit`);
    }
  });
});
