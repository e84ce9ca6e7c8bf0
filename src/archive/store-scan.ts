// load_models=all (spec §5.4): which model store entries are models, and the name each gets when its
// manifest has none.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface StoreModel {
  /** What to pass to openArchive (the entry's name in the store). */
  readonly url: string;
  /** Used only when the manifest names no model. */
  readonly fallbackName: string;
}

const ARCHIVE_SUFFIXES = ['.mar', '.model', '.tar.gz'];

/** Non-hidden directories and `.mar`/`.model`/`.tar.gz` files of the store, sorted by name. */
export async function listStoreModels(modelStore: string): Promise<StoreModel[]> {
  const names = (await readdir(modelStore)).filter((name) => !name.startsWith('.')).sort();
  const models: StoreModel[] = [];
  for (const name of names) {
    const info = await stat(path.join(modelStore, name)).catch(() => null);
    if (info === null) continue;
    const isArchive = info.isFile() && ARCHIVE_SUFFIXES.some((suffix) => name.endsWith(suffix));
    if (info.isDirectory() || isArchive) models.push(Object.freeze({ url: name, fallbackName: fallbackModelName(name) }));
  }
  return models;
}

/**
 * TorchServe's rule: names containing `.mar` or `.model` lose their last extension, others keep the
 * whole name; then every non-word character (and a leading `_`) becomes `_`.
 */
export function fallbackModelName(fileName: string): string {
  const base = fileName.includes('.mar') || fileName.includes('.model')
    ? fileName.slice(0, fileName.lastIndexOf('.'))
    : fileName;
  return base.replace(/\W|^_/g, '_');
}
