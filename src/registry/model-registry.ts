// Models by name, their versions and which version is the default (spec §1.8). Pure
// bookkeeping over immutable entries; it emits an event after every change.
import { EventEmitter } from 'node:events';
import {
  cannotRemoveDefault,
  modelNotFound,
  versionConflict,
  versionNotFound,
  versionNotFoundForDefault,
} from '../errors.js';

export type RegistryEvent =
  | { readonly kind: 'added'; readonly name: string; readonly version: string }
  | { readonly kind: 'removed'; readonly name: string; readonly version: string }
  | { readonly kind: 'default-changed'; readonly name: string; readonly version: string }
  | { readonly kind: 'scaled'; readonly name: string; readonly version: string };

interface ModelVersions<T> {
  readonly versions: Map<string, T>;
  defaultVersion: string;
}

export class ModelRegistry<T> extends EventEmitter<{ change: [RegistryEvent] }> {
  private readonly models = new Map<string, ModelVersions<T>>();

  /** Adds a version; the first version of a name becomes its default. */
  add(name: string, version: string, entry: T): void {
    const model = this.models.get(name);
    if (model === undefined) {
      this.models.set(name, { versions: new Map([[version, entry]]), defaultVersion: version });
    } else {
      if (model.versions.has(version)) throw versionConflict(name, version);
      model.versions.set(version, entry);
    }
    this.emit('change', { kind: 'added', name, version });
  }

  has(name: string, version: string): boolean {
    return this.models.get(name)?.versions.has(version) ?? false;
  }

  /** The given version, or the default one when version is undefined. */
  get(name: string, version?: string): T {
    const model = this.models.get(name);
    if (model === undefined) throw modelNotFound(name);
    const v = version ?? model.defaultVersion;
    const entry = model.versions.get(v);
    if (entry === undefined) throw versionNotFound(name, v);
    return entry;
  }

  defaultVersionOf(name: string): string {
    const model = this.models.get(name);
    if (model === undefined) throw modelNotFound(name);
    return model.defaultVersion;
  }

  isDefault(name: string, version: string): boolean {
    return this.models.get(name)?.defaultVersion === version;
  }

  allVersions(name: string): Array<[string, T]> {
    const model = this.models.get(name);
    if (model === undefined) throw modelNotFound(name);
    return [...model.versions.entries()];
  }

  /** Checks that `version` (default when undefined) may be removed; returns the version. */
  checkRemovable(name: string, version?: string): string {
    const model = this.models.get(name);
    if (model === undefined) throw modelNotFound(name);
    const v = version ?? model.defaultVersion;
    if (!model.versions.has(v)) throw versionNotFound(name, v);
    if (v === model.defaultVersion && model.versions.size > 1) throw cannotRemoveDefault(name);
    return v;
  }

  remove(name: string, version: string): T {
    const v = this.checkRemovable(name, version);
    const model = this.models.get(name) as ModelVersions<T>;
    const entry = model.versions.get(v) as T;
    model.versions.delete(v);
    if (model.versions.size === 0) this.models.delete(name);
    this.emit('change', { kind: 'removed', name, version: v });
    return entry;
  }

  setDefault(name: string, version: string): void {
    const model = this.models.get(name);
    if (model === undefined) throw modelNotFound(name);
    if (!model.versions.has(version)) throw versionNotFoundForDefault(name, version);
    model.defaultVersion = version;
    this.emit('change', { kind: 'default-changed', name, version });
  }

  /** Announces a change of a version's worker targets (snapshots listen). */
  notifyScaled(name: string, version: string): void {
    this.emit('change', { kind: 'scaled', name, version });
  }

  /** Model names in Java string order (UTF-16 code units, case-sensitive), as TorchServe sorts. */
  names(): string[] {
    return [...this.models.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Every (name, version, entry). */
  entries(): Array<{ name: string; version: string; entry: T; isDefault: boolean }> {
    const out: Array<{ name: string; version: string; entry: T; isDefault: boolean }> = [];
    for (const name of this.names()) {
      const model = this.models.get(name) as ModelVersions<T>;
      for (const [version, entry] of model.versions) {
        out.push({ name, version, entry, isDefault: version === model.defaultVersion });
      }
    }
    return out;
  }
}
