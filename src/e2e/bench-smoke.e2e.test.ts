// The benchmark is never a timed assertion; CI only checks that `npm run bench` still works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('the benchmark runs in smoke mode and writes a report for every scenario', async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'lantern-bench-smoke-'));
  try {
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'bench', 'run.mjs'), '--smoke', '--out', out], { timeout: 240_000 });
    const files = await readdir(out);
    const json = files.find((f) => f.endsWith('.json'));
    assert.ok(json, `no JSON report in ${files.join(', ')}`);
    assert.ok(files.some((f) => f.endsWith('.md')), 'no Markdown table');
    const report = JSON.parse(await readFile(path.join(out, json), 'utf8')) as { results: Array<Record<string, number | string>> };
    const served = report.results.filter((r) => typeof r.requestsPerSec === 'number');
    assert.ok(served.length >= 6, 'expected the no-op scenarios');
    for (const r of served) {
      assert.ok((r.requestsPerSec as number) > 0, `${String(r.scenario)} served nothing`);
      assert.equal(r.non2xx, 0, `${String(r.scenario)} had non-2xx answers`);
      assert.ok((r.ratioToHttpCeiling as number) > 0);
    }
    assert.ok(report.results.some((r) => typeof r.perRequestUs === 'number' && r.perRequestUs > 0));
    assert.ok(report.results.some((r) => typeof r.coldStartMs === 'number' && r.coldStartMs > 0));
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
