// What a crashed server leaves behind, and how it is found again: half-written downloads in the
// model store and extracted archives (and per-model pip folders) under the temp folder. Each
// extraction folder gets an owner file beside it (`<folder>.owner`: host, pid, process start
// time), written before the folder; a folder whose owner is gone is debris. A download's `.part`
// file is debris once it is older than the download timeout, since no download runs longer: an
// age rule, because replicas that share one model store cannot see each other's processes.
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const OWNER_SUFFIX = '.owner';
/** A download in progress: `.<file name>.<12 hex>.part` (download.ts). */
const PART_FILE = /^\..+\.[0-9a-f]{12}\.part$/;

interface Owner {
  readonly host: string;
  readonly pid: number;
  /** The process's start time in clock ticks since boot (/proc/PID/stat field 22); '' when unknown. */
  readonly started: string;
}

function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function thisProcess(): Owner {
  return { host: os.hostname(), pid: process.pid, started: startTimeOf(process.pid) };
}

/** Records that this process owns `dir` (call before creating it). */
export async function claimFolder(dir: string): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  await writeFile(`${dir}${OWNER_SUFFIX}`, JSON.stringify(thisProcess()), { mode: 0o600 });
}

/** Removes `dir` and its owner file. */
export async function releaseFolder(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}${OWNER_SUFFIX}`, { force: true });
}

function alive(owner: Owner): boolean {
  if (owner.host !== os.hostname()) return true; // another machine's: not ours to judge
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return owner.started === '' || startTimeOf(owner.pid) === owner.started;
}

async function readOwner(file: string): Promise<Owner | null> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<Owner>;
    if (typeof value.host !== 'string' || typeof value.pid !== 'number' || typeof value.started !== 'string') return null;
    return { host: value.host, pid: value.pid, started: value.started };
  } catch {
    return null;
  }
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

export interface DebrisReport {
  readonly folders: number;
  readonly partFiles: number;
}

/**
 * Removes folders under `parents` whose owner process is gone, and `.part` files in `modelStore`
 * older than `partMaxAgeMs`. Folders without an owner file (another server's, TorchServe's) stay.
 */
export async function removeDebris(parents: readonly string[], modelStore: string | null, partMaxAgeMs: number, nowMs: number): Promise<DebrisReport> {
  let folders = 0;
  for (const parent of parents) {
    for (const name of await entries(parent)) {
      if (!name.endsWith(OWNER_SUFFIX)) continue;
      const marker = path.join(parent, name);
      const owner = await readOwner(marker);
      if (owner !== null && alive(owner)) continue;
      await releaseFolder(marker.slice(0, -OWNER_SUFFIX.length));
      folders++;
    }
  }
  let partFiles = 0;
  if (modelStore !== null) {
    for (const name of await entries(modelStore)) {
      if (!PART_FILE.test(name)) continue;
      const file = path.join(modelStore, name);
      const info = await stat(file).catch(() => null);
      if (info === null || nowMs - info.mtimeMs < partMaxAgeMs) continue;
      await rm(file, { force: true });
      partFiles++;
    }
  }
  return { folders, partFiles };
}
