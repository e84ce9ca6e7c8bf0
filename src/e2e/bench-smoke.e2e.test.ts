// The benchmark is never a timed assertion; CI only checks that `npm run bench` still works: every
// scenario has its row, and each served row answered at least one request, without an error, with
// ordered percentiles. How fast is not checked: other jobs share the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TORCHSERVE = process.env.LANTERN_BENCH_TORCHSERVE ?? path.join(ROOT, 'bench', '.cache', 'torchserve', 'bin', 'torchserve');

const installed = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    () => false,
  );

type Row = Record<string, unknown> & { scenario: string };

/** A failure names the row and shows the end of its server's log (which the smoke run attaches). */
function checkServedRow(r: Row): void {
  const problems: string[] = [];
  if (!((r.responses2xx as number) > 0)) problems.push(r.retriedOverS === undefined ? 'served nothing' : `served nothing, also over ${String(r.retriedOverS)} s`);
  if (r.non2xx !== 0) problems.push(`${String(r.non2xx)} non-2xx answers`);
  if (r.errors !== 0) problems.push(`${String(r.errors)} errors or timeouts`);
  const [p50, p90, p99] = [r.p50Ms as number, r.p90Ms as number, r.p99Ms as number];
  if (!(p50 > 0 && p50 <= p90 && p90 <= p99)) problems.push(`latency percentiles ${String(p50)} / ${String(p90)} / ${String(p99)} ms`);
  if (problems.length > 0) {
    assert.fail(`${r.scenario}: ${problems.join('; ')}\n---- end of the server's log ----\n${typeof r.serverLogTail === 'string' ? r.serverLogTail : '(not attached)'}\n----`);
  }
}

test('the benchmark runs in smoke mode and writes a report for every scenario', async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'lantern-bench-smoke-'));
  try {
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'bench', 'run.mjs'), '--smoke', '--out', out], { timeout: 600_000 });
    const files = await readdir(out);
    const json = files.find((f) => f.endsWith('.json'));
    assert.ok(json, `no JSON report in ${files.join(', ')}`);
    assert.ok(files.some((f) => f.endsWith('.md')), 'no Markdown table');
    const report = JSON.parse(await readFile(path.join(out, json), 'utf8')) as { results: Row[]; skipped: string[] };
    const served = report.results.filter((r) => r.ceiling !== undefined && r.perRequestUs === undefined);
    const names = served.map((r) => r.scenario).join('\n');
    for (const expected of ['noop python, 1 worker', 'noop python, 2 worker', 'noop node, 1 worker', 'noop node, 2 worker', 'mlp served, JSON, batch 1', 'mlp served, JSON, batch 8']) {
      assert.ok(names.includes(expected), `no "${expected}" scenario in:\n${names}`);
    }
    // resnet18 needs torch to be exported; without it the report says why it was skipped.
    const resnet = served.filter((r) => r.scenario.startsWith('resnet18'));
    assert.ok(resnet.length === 4 || report.skipped.some((s) => s.startsWith('resnet18')), 'resnet18 neither measured nor skipped with a reason');
    // TorchServe side by side: measured whenever bench/setup-torchserve.sh installed it (CI does).
    const versus = report.results.filter((r) => r.group === 'torchserve');
    if (await installed(TORCHSERVE)) {
      const pairs = versus.filter((r) => r.ceiling !== undefined).map((r) => r.scenario);
      assert.ok(pairs.length === (resnet.length > 0 ? 6 : 4), `Lantern rows beside TorchServe's:\n${pairs.join('\n')}`);
      assert.equal(versus.filter((r) => typeof r.coldStartMs === 'number').length, 2, 'a cold start for each server');
      assert.equal(versus.filter((r) => typeof r.scaleMs === 'number').length, 2, 'register + scale for each server');
      for (const r of versus.filter((row) => row.responses2xx !== undefined)) checkServedRow(r);
      // resnet18 in PyTorch through image_classifier: the in-process ceiling and one row per server.
      const cnn = report.results.filter((r) => r.group === 'cnn');
      const ceiling = cnn.filter((r) => r.kind === 'ceiling');
      assert.equal(ceiling.length, 1, `one in-process ceiling in:\n${cnn.map((r) => r.scenario).join('\n')}`);
      assert.ok((ceiling[0]?.requestsPerSec as number) > 0, 'the in-process ceiling answered requests');
      const cnnServed = cnn.filter((r) => r.responses2xx !== undefined);
      assert.deepEqual(cnnServed.map((r) => r.scenario.split(':')[0]), ['TorchServe 0.12.0', 'Lantern']);
      for (const r of cnnServed) checkServedRow(r);
      assert.equal(typeof cnnServed[1]?.ratioToInProcess, 'number', "Lantern's row is compared with the ceiling");
    } else {
      assert.ok(report.skipped.some((s) => s.startsWith('torchserve')), 'TorchServe neither measured nor skipped with a reason');
    }
    for (const r of served) checkServedRow(r);
    const roundTrips = report.results.filter((r) => typeof r.perRequestUs === 'number' && (r.perRequestUs as number) > 0 && r.ceiling !== undefined);
    assert.equal(roundTrips.length, 2, 'a round trip for the python and the node worker, each beside its socket ping-pong floor');
    for (const r of report.results.filter((row) => row.group === 'roundtrip')) {
      assert.ok((r.serverCpuUs as number) > 0 && typeof r.workerCpuUs === 'number', `${r.scenario}: no CPU per round trip`);
    }
    assert.equal(report.results.filter((r) => r.group === 'lifecycle' && typeof r.coldStartMs === 'number').length, 2);
    assert.ok(report.results.some((r) => typeof r.scaleMs === 'number'));
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
