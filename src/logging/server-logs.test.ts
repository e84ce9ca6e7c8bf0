import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ASYNC_MAX_RECORDS, openServerLogs, type ServerLogSettings } from './server-logs.js';

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{3}/;

describe('server logs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lantern-logs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const settings = (sub: string, format: 'text' | 'json', console: string[] | null = null): ServerLogSettings => ({
    logDir: path.join(dir, sub),
    metricsDir: path.join(dir, sub, 'metrics'),
    format,
    maxFileBytes: 1 << 20,
    backups: 1,
    buffered: false,
    // The console gets the lines of one turn in one write.
    console: console === null ? null : { out: (l) => console.push(...l.split('\n')), err: (l) => console.push(...l.split('\n')) },
  });
  const read = (sub: string, name: string): string[] => readFileSync(path.join(dir, sub, name), 'utf8').trim().split('\n');

  it('writes each kind of line to its TorchServe file, and everything to ts_log.log and the console', async () => {
    const console: string[] = [];
    const logs = openServerLogs(settings('text', 'text', console));
    logs.info('started');
    logs.access('/127.0.0.1:5000 "GET /ping HTTP/1.1" 200 3');
    logs.model('W-9000-m_1.0', 'hello', 'stdout');
    logs.model('W-9000-m_1.0', 'oops', 'stderr');
    logs.metric?.('ts', 'Requests2XX.Count:1.0|#Level:Host|#hostname:box,timestamp:1');
    logs.metric?.('model', 'PredictionTime.ms:1.0|#ModelName:m,Level:Model|#hostname:box,timestamp:1');
    assert.deepEqual(console, [], 'lines are held until the end of the turn');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(read('text', 'ts_log.log').length, 6, 'and written then');
    assert.equal(console.length, 6);
    await logs.close();
    logs.info('after close is dropped');  // from the files
    const access = read('text', 'access_log.log');
    assert.equal(access.length, 1);
    assert.match(access[0] ?? '', new RegExp(`${TIME.source} - /127\\.0\\.0\\.1:5000 "GET /ping HTTP/1\\.1" 200 3$`));
    const model = read('text', 'model_log.log');
    assert.match(model[0] ?? '', new RegExp(`${TIME.source} \\[INFO \\] W-9000-m_1\\.0-stdout MODEL_LOG - hello$`));
    assert.match(model[1] ?? '', /\[WARN \] W-9000-m_1\.0-stderr MODEL_LOG - oops$/);
    assert.match(read('text', 'metrics/ts_metrics.log')[0] ?? '', / - Requests2XX\.Count:1\.0\|#Level:Host\|#hostname:box,timestamp:1$/);
    assert.match(read('text', 'metrics/model_metrics.log')[0] ?? '', / - PredictionTime\.ms:1\.0/);
    const server = read('text', 'ts_log.log');
    assert.equal(server.length, 6);
    assert.match(server[0] ?? '', /\[INFO \] main lantern - started$/);
    assert.deepEqual(console.slice(0, 6), server);
    assert.match(console[6] ?? '', /after close is dropped$/, 'the console still speaks after the files are closed');
  });

  it('hands stdout the bytes written to ts_log.log when every line went to both, and joins separately otherwise', async () => {
    const chunks: string[] = [];
    const texts: string[] = [];
    const logs = openServerLogs({
      ...settings('shared', 'text'),
      console: { out: (t) => texts.push(`out:${t}`), err: (t) => texts.push(`err:${t}`), outBytes: (b) => chunks.push(Buffer.from(b).toString('utf8')) },
    });
    logs.info('one');
    logs.access('/127.0.0.1:5000 "GET /ping HTTP/1.1" 200 3');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0], readFileSync(path.join(dir, 'shared', 'ts_log.log'), 'utf8'));
    assert.deepEqual(texts, []);
    // A warning goes to stderr: that turn's lines are written to the console by stream, in order.
    // (Within a millisecond of the last write, lines wait up to a millisecond.)
    logs.info('two');
    logs.warn('careful');
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(chunks.length, 1);
    assert.equal(texts.length, 2);
    assert.match(texts[0] ?? '', /^out:.*main lantern - two$/);
    assert.match(texts[1] ?? '', /^err:.*\[WARN \] main lantern - careful$/);
    assert.equal(read('shared', 'ts_log.log').length, 4);
    await logs.close();
  });

  it('with async_logging, holds lines across turns and writes them at close', async () => {
    const logs = openServerLogs({ ...settings('async', 'text'), buffered: true });
    logs.info('held');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(readFileSync(path.join(dir, 'async', 'ts_log.log'), 'utf8'), '');
    await logs.close();
    assert.match(read('async', 'ts_log.log')[0] ?? '', /lantern - held$/);
  });

  it('with async_logging, writes at the end of the turn once ASYNC_MAX_RECORDS lines are held', async () => {
    const logs = openServerLogs({ ...settings('async-full', 'text'), buffered: true });
    const file = path.join(dir, 'async-full', 'ts_log.log');
    for (let i = 0; i < ASYNC_MAX_RECORDS - 1; i++) logs.info(`line ${i}`);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(readFileSync(file, 'utf8'), '', 'fewer are held for ASYNC_FLUSH_MS');
    logs.info('the last that fits');
    logs.info('one more in the same turn');
    await new Promise((resolve) => setImmediate(resolve));
    const lines = read('async-full', 'ts_log.log');
    assert.equal(lines.length, ASYNC_MAX_RECORDS + 1);
    assert.match(lines.at(-1) ?? '', /one more in the same turn$/);
    logs.info('held again');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(read('async-full', 'ts_log.log').length, ASYNC_MAX_RECORDS + 1, 'a new count starts after the write');
    await logs.close();
    assert.match(read('async-full', 'ts_log.log').at(-1) ?? '', /held again$/);
  });

  it('writes one JSON object per line in the json format, and creates only the files used', async () => {
    const logs = openServerLogs(settings('json', 'json'));
    logs.model('W-9001-m_1.0', 'hello', 'stdout');
    logs.error('bad', new Error('cause'));
    await logs.close();
    const model = JSON.parse(read('json', 'model_log.log')[0] ?? '{}') as Record<string, unknown>;
    assert.equal(model.message, 'hello');
    assert.equal(model.worker, 'W-9001-m_1.0');
    assert.equal(model.stream, 'stdout');
    assert.equal(model.logger, 'MODEL_LOG');
    assert.equal(model.level, 'INFO');
    const server = read('json', 'ts_log.log').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(server[1]?.level, 'ERROR');
    assert.match(String(server[1]?.message), /^bad: Error: cause/);
    assert.equal(existsSync(path.join(dir, 'json', 'access_log.log')), false);
  });
});
