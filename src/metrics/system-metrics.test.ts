import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SystemMetricsReader } from './system-metrics.js';

const stat = (busy: number, idle: number): string => `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 1 2 3 4\n`;

describe('system metrics', () => {
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('computes CPU use between readings and memory use from /proc files', async () => {
    const proc = await mkdtemp(path.join(tmpdir(), 'lantern-proc-'));
    dirs.push(proc);
    await writeFile(path.join(proc, 'meminfo'), 'MemTotal:       4194304 kB\nMemFree:         100 kB\nMemAvailable:    1048576 kB\n');
    await writeFile(path.join(proc, 'stat'), stat(100, 300));
    const reader = new SystemMetricsReader(proc, proc);
    const first = new Map((await reader.read()).map((s) => [s.name, s.value]));
    assert.equal(first.get('CPUUtilization'), 25);
    assert.equal(first.get('MemoryUsed'), 3072);
    assert.equal(first.get('MemoryAvailable'), 1024);
    assert.equal(first.get('MemoryUtilization'), 75);
    await writeFile(path.join(proc, 'stat'), stat(190, 310));
    const second = new Map((await reader.read()).map((s) => [s.name, s.value]));
    assert.equal(second.get('CPUUtilization'), 90);
    assert.ok((second.get('DiskUtilization') ?? -1) >= 0);
  });

  it('reads this machine', async () => {
    const names = (await new SystemMetricsReader().read()).map((s) => s.name);
    assert.deepEqual(names, ['CPUUtilization', 'MemoryUsed', 'MemoryAvailable', 'MemoryUtilization', 'DiskUsage', 'DiskUtilization', 'DiskAvailable']);
  });
});
