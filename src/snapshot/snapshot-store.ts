// The snapshot folder (`$LOG_LOCATION/config`, spec §6): file names `<yyyyMMddHHmmssSSS>-<kind>.cfg`
// in local time, atomic writes (temporary file, fsync, rename, fsync of the folder) so a server
// killed at any moment leaves either the previous snapshot or the new one, and pruning.
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export type SnapshotKind = 'startup' | 'snapshot' | 'shutdown';

const SNAPSHOT_FILE = /^(\d{17})-(startup|snapshot|shutdown)\.cfg$/;
const TEMP_PREFIX = '.writing-';

/** `$LOG_LOCATION/config`, LOG_LOCATION defaulting to `logs` relative to the server's folder. */
export function snapshotDir(env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  return path.resolve(cwd, env.LOG_LOCATION ?? 'logs', 'config');
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `yyyyMMddHHmmssSSS` in local time, as TorchServe names its snapshots. */
export function snapshotStamp(epochMs: number): string {
  const d = new Date(epochMs);
  return (
    `${pad(d.getFullYear(), 4)}${pad(d.getMonth() + 1)}${pad(d.getDate())}` +
    `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}${pad(d.getMilliseconds(), 3)}`
  );
}

export interface SnapshotFile {
  readonly name: string;
  readonly path: string;
  readonly stamp: string;
  readonly kind: SnapshotKind;
}

export class SnapshotStore {
  /** The stamp of the last file written; a later write never reuses or precedes it. */
  private lastStamp = '';

  constructor(
    readonly dir: string,
    private readonly keep: number,
  ) {}

  /** Snapshot files, oldest first (by their time stamp, then by name). */
  async list(): Promise<SnapshotFile[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const files: SnapshotFile[] = [];
    for (const name of names) {
      const m = SNAPSHOT_FILE.exec(name);
      if (m !== null) files.push({ name, path: path.join(this.dir, name), stamp: m[1] as string, kind: m[2] as SnapshotKind });
    }
    return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The newest snapshot's text and name, or null when there is none. */
  async newest(): Promise<{ name: string; text: string } | null> {
    const last = (await this.list()).at(-1);
    if (last === undefined) return null;
    return { name: last.name, text: await readFile(last.path, 'utf8') };
  }

  /** The name the next snapshot of `kind` written at `nowMs` gets (unique and later than every earlier one). */
  nextName(kind: SnapshotKind, nowMs: number): string {
    let stamp = snapshotStamp(nowMs);
    // Two snapshots in the same millisecond: the later one takes the next millisecond, so the
    // newest file always holds the newest state (TorchServe would keep the first one instead).
    for (let ms = nowMs; stamp <= this.lastStamp; ) stamp = snapshotStamp(++ms);
    this.lastStamp = stamp;
    return `${stamp}-${kind}.cfg`;
  }

  /** Writes `text` as `name` atomically, then removes all but the newest `keep` snapshots. */
  async write(name: string, text: string): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const target = path.join(this.dir, name);
    const temp = path.join(this.dir, `${TEMP_PREFIX}${name}`);
    const file = await open(temp, 'w', 0o600);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, target);
    await this.syncDir();
    await this.prune();
    return target;
  }

  private async syncDir(): Promise<void> {
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } catch {
      // Some file systems cannot fsync a directory; the rename is still atomic.
    } finally {
      await dir.close();
    }
  }

  private async prune(): Promise<void> {
    const files = await this.list();
    const old = files.slice(0, Math.max(0, files.length - this.keep));
    await Promise.all(old.map((f) => rm(f.path, { force: true })));
    // Temporary files left by a server killed mid-write (writes are serialized: ours is renamed).
    const names = await readdir(this.dir);
    await Promise.all(names.filter((n) => n.startsWith(TEMP_PREFIX)).map((n) => rm(path.join(this.dir, n), { force: true })));
  }
}
