// What a snapshot holds (spec §6): the whole effective configuration as Java properties, plus
// `model_snapshot`, a pretty JSON description of every model version. Pure: text in, text out.
import { formatProperties } from '../config/properties.js';

/** One model version as the snapshot records it. */
export interface SnapshotVersion {
  readonly name: string;
  readonly version: string;
  readonly isDefault: boolean;
  readonly marName: string;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly batchSize: number;
  readonly maxBatchDelay: number;
  readonly responseTimeout: number;
  readonly startupTimeout: number;
  readonly runtimeType: string;
}

export interface SnapshotState {
  /** Every configuration property to record, computed values included; `model_snapshot` is replaced. */
  readonly properties: ReadonlyMap<string, string>;
  readonly models: readonly SnapshotVersion[];
}

/** Properties that only snapshots carry (TorchServe writes them too); reading them back is not an error. */
export const SNAPSHOT_ONLY_PROPERTIES: readonly string[] = ['version', 'tsConfigFile'];

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Java's `Date.toString()` shape, which `Properties.store` writes as its date comment. */
export function javaDateString(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number): string => String(n).padStart(2, '0');
  const zone =
    new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((part) => part.type === 'timeZoneName')
      ?.value ?? 'UTC';
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${zone} ${d.getFullYear()}`;
}

export function modelSnapshotJson(fileName: string, createdMs: number, models: readonly SnapshotVersion[]): string {
  const byName: Record<string, Record<string, unknown>> = {};
  for (const m of models) {
    byName[m.name] ??= {};
    (byName[m.name] as Record<string, unknown>)[m.version] = {
      defaultVersion: m.isDefault,
      marName: m.marName,
      minWorkers: m.minWorkers,
      maxWorkers: m.maxWorkers,
      batchSize: m.batchSize,
      maxBatchDelay: m.maxBatchDelay,
      responseTimeout: m.responseTimeout,
      startupTimeout: m.startupTimeout,
      runtimeType: m.runtimeType,
    };
  }
  return JSON.stringify({ name: fileName, modelCount: models.length, created: createdMs, models: byName }, null, 2);
}

/** The text of snapshot file `fileName`. */
export function snapshotText(fileName: string, createdMs: number, state: SnapshotState): string {
  const entries = new Map(state.properties);
  entries.delete('model_snapshot');
  entries.set('model_snapshot', modelSnapshotJson(fileName, createdMs, state.models));
  return formatProperties(entries, ['Saving snapshot', javaDateString(createdMs)]);
}

/** A version to restore: what the snapshot says about it. */
export type RestoreVersion = SnapshotVersion;

export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function integer(model: string, version: string, field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new SnapshotFormatError(`model_snapshot: ${field} of model ${model} version ${version} must be an integer`);
  }
  return value;
}

/**
 * Reads `model_snapshot` (already parsed as a JSON object) into versions, in file order. A
 * modelCount of zero or less means no models, as in TorchServe.
 */
export function parseModelSnapshot(value: Readonly<Record<string, unknown>>): RestoreVersion[] {
  const count = value.modelCount;
  if (typeof count === 'number' && count <= 0) return [];
  const models = value.models;
  if (!isObject(models)) throw new SnapshotFormatError('model_snapshot: "models" must be an object');
  const out: RestoreVersion[] = [];
  for (const [name, versions] of Object.entries(models)) {
    if (!isObject(versions)) throw new SnapshotFormatError(`model_snapshot: model ${name} must map versions to objects`);
    for (const [version, s] of Object.entries(versions)) {
      if (!isObject(s)) throw new SnapshotFormatError(`model_snapshot: model ${name} version ${version} must be an object`);
      if (typeof s.marName !== 'string' || s.marName === '') {
        throw new SnapshotFormatError(`model_snapshot: model ${name} version ${version} has no marName`);
      }
      const int = (field: string, fallback: number): number => integer(name, version, field, s[field], fallback);
      const minWorkers = int('minWorkers', 1);
      out.push({
        name,
        version,
        isDefault: s.defaultVersion === true,
        marName: s.marName,
        minWorkers,
        maxWorkers: int('maxWorkers', minWorkers),
        batchSize: int('batchSize', 1),
        maxBatchDelay: int('maxBatchDelay', 100),
        responseTimeout: int('responseTimeout', 120),
        startupTimeout: int('startupTimeout', 120),
        runtimeType: typeof s.runtimeType === 'string' ? s.runtimeType : 'python',
      });
    }
  }
  return out;
}
