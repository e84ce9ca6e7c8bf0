// Which configuration file a start reads (spec §5.1): TS_CONFIG_FILE, else --ts-config, else the
// newest snapshot (unless --ncs), else ./config.properties.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LanternArgs } from '../cli/lantern-args.js';
import { UsageError } from '../cli/lantern-args.js';
import { SnapshotStore, snapshotDir } from '../snapshot/snapshot-store.js';

export interface ConfigFile {
  readonly text: string | null;
  /** Named by TS_CONFIG_FILE or --ts-config. */
  readonly named: boolean;
  /** The file read, or null. */
  readonly path: string | null;
  /** The file is the newest snapshot, picked because no config file was named. */
  readonly snapshot: boolean;
}

export async function chooseConfigFile(args: LanternArgs, env: Readonly<Record<string, string | undefined>>, cwd: string): Promise<ConfigFile> {
  const named = env.TS_CONFIG_FILE ?? args.tsConfig;
  if (named !== null && named !== undefined) {
    const file = path.resolve(cwd, named);
    if (!existsSync(file)) throw new UsageError(`--ts-config file not found: ${named}`);
    return { text: readFileSync(file, 'utf8'), named: true, path: file, snapshot: false };
  }
  if (!args.noSnapshots) {
    const store = new SnapshotStore(snapshotDir(env, cwd), Number.POSITIVE_INFINITY);
    const newest = await store.newest();
    if (newest !== null) return { text: newest.text, named: false, path: path.join(store.dir, newest.name), snapshot: true };
  }
  const local = path.join(cwd, 'config.properties');
  const text = existsSync(local) ? readFileSync(local, 'utf8') : null;
  return { text, named: false, path: text === null ? null : local, snapshot: false };
}

/**
 * TorchServe's precedence lets a restored snapshot silently replace what this start asked for
 * (--models, ./config.properties); say so, and how to start clean. Null when nothing is hidden.
 */
export function snapshotNotice(file: ConfigFile, args: LanternArgs, cwd: string): string | null {
  if (!file.snapshot) return null;
  const ignored = [
    ...(args.cli.load_models !== undefined ? ['--models'] : []),
    ...(existsSync(path.join(cwd, 'config.properties')) ? ['config.properties'] : []),
  ];
  if (ignored.length === 0) return null;
  return `Restored snapshot ${file.path ?? ''}; ${ignored.join(' and ')} ignored; use --ncs to start clean`;
}
