// What the soaks read from /proc about a running server: its resident memory, its open file
// descriptors, and the processes left in a test folder. Usage is sampled several times and the
// median kept, so that one sample taken during a garbage collection or a connection's close does
// not decide a test.
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from './harness.js';

export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

export async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`).catch(() => [])).length;
}

/** Pids of live (not zombie) processes whose working folder is inside `root` (workers run in their model folder). */
export async function processesUnder(root: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => '');
    if (cwd !== root && !cwd.startsWith(root + path.sep)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (/^\d+ \(.*\) Z /.test(stat)) continue;
    out.push(Number(entry));
  }
  return out;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface Usage {
  readonly rssBytes: number;
  readonly fds: number;
  readonly rssSamples: readonly number[];
  readonly fdSamples: readonly number[];
}

/**
 * The server's usage at rest: first waits until its fd count has stopped moving (connections the
 * clients closed are still being closed on the server's side), then takes `samples` readings
 * `everyMs` apart and keeps the medians.
 */
export async function usageAtRest(pid: number, samples = 7, everyMs = 300): Promise<Usage> {
  const recent: number[] = [];
  await waitFor('the server\'s fd count to settle', async () => {
    recent.push(await openFds(pid));
    const last = recent.slice(-4);
    return last.length === 4 && last.every((n) => n === last[0]);
  }, 30_000, 250);
  const rssSamples: number[] = [];
  const fdSamples: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, everyMs));
    rssSamples.push(await rssBytes(pid));
    fdSamples.push(await openFds(pid));
  }
  return { rssBytes: median(rssSamples), fds: median(fdSamples), rssSamples, fdSamples };
}

/** The RSS of `pid` every `everyMs` until stop(), which returns the samples. */
export function traceRss(pid: number, everyMs = 1_000): { stop(): number[] } {
  const samples: number[] = [];
  const timer = setInterval(() => void rssBytes(pid).then((b) => b > 0 && samples.push(b)), everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return samples;
    },
  };
}
