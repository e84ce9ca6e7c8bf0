// Host metrics read from /proc and statfs (TorchServe runs a psutil script for these): CPU and
// memory utilization and the use of the root file system. GPUs are not probed.
import { readFile, statfs } from 'node:fs/promises';
import path from 'node:path';

export interface SystemSample {
  readonly name: 'CPUUtilization' | 'MemoryUsed' | 'MemoryAvailable' | 'MemoryUtilization' | 'DiskUsage' | 'DiskUtilization' | 'DiskAvailable';
  readonly value: number;
}

interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

export function parseCpuTimes(procStat: string): CpuTimes | null {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return null;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user/nice)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total };
}

export function parseMemInfo(meminfo: string): { totalBytes: number; availableBytes: number } | null {
  const field = (name: string): number | null => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(meminfo);
    return m ? Number(m[1]) * 1024 : null;
  };
  const totalBytes = field('MemTotal');
  if (totalBytes === null) return null;
  const availableBytes = field('MemAvailable') ?? (field('MemFree') ?? 0) + (field('Buffers') ?? 0) + (field('Cached') ?? 0);
  return { totalBytes, availableBytes };
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

export class SystemMetricsReader {
  private lastCpu: CpuTimes | null = null;

  constructor(
    private readonly procRoot = '/proc',
    private readonly diskPath = '/',
  ) {}

  /** One reading; CPU utilization covers the time since the previous reading (since boot for the first). */
  async read(): Promise<SystemSample[]> {
    const out: SystemSample[] = [];
    const cpu = parseCpuTimes(await readFile(path.join(this.procRoot, 'stat'), 'utf8').catch(() => ''));
    if (cpu !== null) {
      const previous = this.lastCpu ?? { busy: 0, total: 0 };
      const total = cpu.total - previous.total;
      out.push({ name: 'CPUUtilization', value: total > 0 ? round(((cpu.busy - previous.busy) / total) * 100, 1) : 0 });
      this.lastCpu = cpu;
    }
    const mem = parseMemInfo(await readFile(path.join(this.procRoot, 'meminfo'), 'utf8').catch(() => ''));
    if (mem !== null) {
      const used = mem.totalBytes - mem.availableBytes;
      out.push(
        { name: 'MemoryUsed', value: round(used / MIB, 3) },
        { name: 'MemoryAvailable', value: round(mem.availableBytes / MIB, 3) },
        { name: 'MemoryUtilization', value: round((used / mem.totalBytes) * 100, 1) },
      );
    }
    const disk = await statfs(this.diskPath).catch(() => null);
    if (disk !== null) {
      const used = (disk.blocks - disk.bfree) * disk.bsize;
      const available = disk.bavail * disk.bsize;
      out.push(
        { name: 'DiskUsage', value: round(used / GIB, 3) },
        { name: 'DiskUtilization', value: used + available > 0 ? round((used / (used + available)) * 100, 1) : 0 },
        { name: 'DiskAvailable', value: round(available / GIB, 3) },
      );
    }
    return out;
  }
}
