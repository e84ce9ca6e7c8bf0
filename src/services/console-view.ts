// What the browser console reads (docs/console.md): every model version with its settings, queue,
// workers and recent activity; the server's version, uptime, listeners, configuration (secrets
// masked) and snapshot status; the names in the model store. Read-only and transport-neutral.
import { readdir } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ActivitySeries, ModelActivity } from '../metrics/model-activity.js';
import type { SnapshotStatus } from '../snapshot/snapshot-writer.js';
import type { WorkerReport } from '../workers/worker-pool.js';
import type { ServedModel } from './served-model.js';

export interface ConsoleModel {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly isDefault: boolean;
  readonly runtime: string;
  readonly handler: string;
  readonly modelUrl: string;
  readonly batchSize: number;
  readonly maxBatchDelayMs: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly queue: { readonly depth: number; readonly capacity: number };
  /** Why no worker can serve (every load failed); null otherwise. */
  readonly loadFailure: string | null;
  readonly workers: ReadonlyArray<Omit<WorkerReport, 'lastError'> & { readonly lastError: { readonly reason: string; readonly at: string } | null }>;
  readonly activity: ActivitySeries;
}

export interface ConsoleListener {
  readonly api: string;
  readonly url: string;
}

export interface ConsoleViewDeps {
  readonly registry: ModelRegistry<ServedModel>;
  readonly activity: ModelActivity;
  readonly clock: Clock;
  readonly version: string;
  readonly startedAtMs: number;
  readonly modelApiEnabled: boolean;
  readonly tokenAuthorization: boolean;
  readonly modelStore: string | null;
  readonly listeners: () => readonly ConsoleListener[];
  /** Every configuration key and its value in effect. */
  readonly config: () => ReadonlyArray<readonly [string, unknown]>;
  /** Null when snapshots are off (--no-config-snapshots). */
  readonly snapshots: (() => SnapshotStatus) | null;
}

/** Store entries listed at most (a store with more shows the first ones, sorted). */
const STORE_ENTRIES_SHOWN = 500;
/** Configuration values longer than this are cut (a model_snapshot can be long). */
const CONFIG_VALUE_CHARS = 500;

/** Keys whose values are secrets whatever they hold. */
const SECRET_KEY = /(pass(word)?|secret|credential|api_?key)$/i;

/** A configuration value as the console shows it: secrets masked, passwords in URLs masked, long values cut. */
export function maskedValue(key: string, value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (SECRET_KEY.test(key)) return '********';
  const text = typeof value === 'string' ? value : (addressText(value) ?? JSON.stringify(value, readableJson));
  const masked = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@"]*:)[^@\s/"]*@/gi, '$1********@');
  return masked.length > CONFIG_VALUE_CHARS ? `${masked.slice(0, CONFIG_VALUE_CHARS)}…` : masked;
}

/** A listen address as it is written in config.properties. */
function addressText(value: unknown): string | null {
  if (value === null || typeof value !== 'object') return null;
  const a = value as { scheme?: unknown; host?: unknown; port?: unknown; path?: unknown };
  if (a.scheme === 'unix' && typeof a.path === 'string') return `unix:${a.path}`;
  if (typeof a.scheme === 'string' && typeof a.host === 'string' && typeof a.port === 'number') return `${a.scheme}://${a.host}:${a.port}`;
  return null;
}

/** Patterns as their source text, maps as objects, addresses as URLs. */
function readableJson(_key: string, v: unknown): unknown {
  if (v instanceof RegExp) return v.source;
  if (v instanceof Map) return Object.fromEntries(v);
  return addressText(v) ?? v;
}

export class ConsoleView {
  constructor(private readonly deps: ConsoleViewDeps) {}

  async models(): Promise<{ modelApiEnabled: boolean; models: ConsoleModel[] }> {
    const { registry, activity } = this.deps;
    const entries = registry.entries();
    activity.retainOnly(entries);
    const models = await Promise.all(entries.map(({ entry, isDefault }) => this.model(entry, isDefault)));
    return { modelApiEnabled: this.deps.modelApiEnabled, models };
  }

  private async model(m: ServedModel, isDefault: boolean): Promise<ConsoleModel> {
    const workers = await m.pool.report();
    return {
      modelName: m.name,
      modelVersion: m.version,
      isDefault,
      runtime: m.runtime,
      handler: m.handler,
      modelUrl: m.archive.url,
      batchSize: m.settings.batchSize,
      maxBatchDelayMs: m.settings.maxBatchDelayMs,
      minWorkers: m.workers.min,
      maxWorkers: m.workers.max,
      queue: { depth: m.queue.pending, capacity: m.queue.capacity },
      loadFailure: m.pool.loadFailure()?.message ?? null,
      workers: workers.map((w) => ({ ...w, lastError: w.lastError === null ? null : { reason: w.lastError.reason, at: this.isoTime(w.lastError.atMs) } })),
      activity: this.deps.activity.series(m.name, m.version),
    };
  }

  server(): Record<string, unknown> {
    const { deps } = this;
    const now = deps.clock.now();
    const snapshot = deps.snapshots?.() ?? null;
    return {
      version: deps.version,
      startedAt: this.isoTime(deps.startedAtMs),
      uptimeSec: Math.max(0, Math.round((now - deps.startedAtMs) / 1000)),
      modelApiEnabled: deps.modelApiEnabled,
      tokenAuthorization: deps.tokenAuthorization,
      listeners: deps.listeners().map((l) => ({ api: l.api, url: l.url })),
      snapshots:
        snapshot === null
          ? { enabled: false }
          : { enabled: true, last: snapshot.lastName, lastAt: snapshot.lastAtMs === null ? null : this.isoTime(snapshot.lastAtMs), lastError: snapshot.lastError },
      config: Object.fromEntries(deps.config().map(([key, value]) => [key, maskedValue(key, value)])),
    };
  }

  /** Archive names in the model store that a registration can name (`url=`); bounded. */
  async storeEntries(): Promise<{ modelStore: boolean; entries: string[]; truncated: boolean }> {
    if (this.deps.modelStore === null) return { modelStore: false, entries: [], truncated: false };
    const dirents = await readdir(this.deps.modelStore, { withFileTypes: true }).catch(() => []);
    const names = dirents
      .filter((d) => !d.name.startsWith('.') && (d.isDirectory() || /\.(mar|zip|tar\.gz|tgz)$/i.test(d.name)))
      .map((d) => d.name)
      .sort();
    return { modelStore: true, entries: names.slice(0, STORE_ENTRIES_SHOWN), truncated: names.length > STORE_ENTRIES_SHOWN };
  }

  private isoTime(clockMs: number): string {
    return new Date(clockMs).toISOString();
  }
}
