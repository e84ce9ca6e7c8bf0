// MAR-INF/MANIFEST.json as torch-model-archiver writes it (spec §9.1): the same keys in the same
// order, optional keys left out when empty, two-space indentation, no trailing newline.
import type { ArchiverOptions } from './archiver-args.js';

/** The torch-model-archiver version whose manifest format this writes. */
export const ARCHIVER_FORMAT_VERSION = '0.12.0';

/** `dd/mm/YYYY HH:MM:SS` in local time. */
export function createdOn(now: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${two(now.getDate())}/${two(now.getMonth() + 1)}/${now.getFullYear()} ` +
    `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`
  );
}

const baseName = (file: string): string => file.slice(file.lastIndexOf('/') + 1);

export function manifestText(options: ArchiverOptions, now: Date): string {
  const model: Record<string, string> = { modelName: options.modelName };
  if (options.serializedFile) model.serializedFile = baseName(options.serializedFile);
  // The handler keeps any `:function` suffix; a path is reduced to its last component.
  model.handler = baseName(options.handler);
  if (options.modelFile) model.modelFile = baseName(options.modelFile);
  if (options.version) model.modelVersion = options.version;
  if (options.requirementsFile) model.requirementsFile = baseName(options.requirementsFile);
  if (options.configFile) model.configFile = baseName(options.configFile);
  const manifest = {
    createdOn: createdOn(now),
    runtime: options.runtime,
    model,
    archiverVersion: ARCHIVER_FORMAT_VERSION,
  };
  // Python's json.dumps escapes every non-ASCII character; so do we, for byte-identical manifests.
  return JSON.stringify(manifest, null, 2).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
