// Which files go into an archive and under which names (spec §9.1): everything is flattened to the
// archive root by base name, a folder in --extra-files contributes its contents, later artifacts
// replace earlier ones of the same name, and __MACOSX, __pycache__ and dot-folders are skipped.
import { readdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { ArchiverOptions } from './archiver-args.js';
import { expandGlob, hasWildcard } from './archiver-glob.js';

export interface PlannedFile {
  /** Path inside the archive, `/`-separated, relative to the model root. */
  readonly name: string;
  readonly source: string;
  readonly sizeBytes: number;
}

export interface ArchivePlan {
  readonly files: readonly PlannedFile[];
  readonly warnings: readonly string[];
}

/** Something about the inputs that stops the archive from being made; the message says what. */
export class ArchiverError extends Error {}

/** Handlers resolved by name at serving time; torch-model-archiver does not copy them. */
export const BUILTIN_PYTHON_HANDLERS: readonly string[] = [
  'base_handler',
  'text_classifier',
  'image_classifier',
  'object_detector',
  'image_segmenter',
  'dali_image_classifier',
  'vllm_handler',
  'trt_llm_handler',
];
const BUILTIN_LSP_HANDLERS: readonly string[] = ['BaseHandler', 'TorchScriptHandler'];
/** Lantern's Node worker built-ins (docs/handlers.md). */
const BUILTIN_NODE_HANDLERS: readonly string[] = ['onnx', 'echo'];
/** Handler files the Node worker runs whatever runtime the manifest names (src/workers/launch.ts). */
const NODE_HANDLER_FILE = /\.(?:[cm]?js|m?ts)$/;
const SKIPPED_DIRS = new Set(['__MACOSX', '__pycache__']);

export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_\-.]*$/;

export function checkModelName(name: string): void {
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw new ArchiverError(
      `Model name ${JSON.stringify(name)} contains special characters.\n` +
        'The allowed regular expression filter for model name is: ^[A-Za-z0-9][A-Za-z0-9_\\-.]*$',
    );
  }
}

export async function planArchive(options: ArchiverOptions, cwd: string): Promise<ArchivePlan> {
  const files = new Map<string, PlannedFile>();
  const warnings: string[] = [];
  const put = (file: PlannedFile): void => {
    files.delete(file.name);
    files.set(file.name, file);
  };
  const single = async (flag: string, given: string | null): Promise<void> => {
    if (given !== null && given !== '') put(await singleFile(flag, given, cwd));
  };
  await single('--model-file', options.modelFile);
  await single('--serialized-file', options.serializedFile);
  const handlerFile = handlerFileOf(options);
  if (handlerFile !== null) {
    const builtins =
      options.runtime === 'LSP' ? BUILTIN_LSP_HANDLERS : options.runtime === 'node' ? BUILTIN_NODE_HANDLERS : BUILTIN_PYTHON_HANDLERS;
    const hint = `; it is neither a file nor a built-in handler (${builtins.join(', ')})`;
    put(await singleFile('--handler', handlerFile, cwd, hint));
  }
  if (options.extraFiles !== null && options.extraFiles !== '') {
    for (const file of await extraFiles(options.extraFiles, cwd, warnings)) put(file);
  }
  await single('--requirements-file', options.requirementsFile);
  await single('--config-file', options.configFile);
  return { files: [...files.values()].sort((a, b) => walkOrder(a.name, b.name)), warnings };
}

/** The file --handler names, or null for a built-in handler (spec §9.1). */
export function handlerFileOf(options: Pick<ArchiverOptions, 'handler' | 'runtime'>): string | null {
  const { handler, runtime } = options;
  const colon = handler.lastIndexOf(':');
  const file = colon > handler.lastIndexOf('/') ? handler.slice(0, colon) : handler;
  if (runtime === 'LSP') {
    if (BUILTIN_LSP_HANDLERS.includes(handler)) return null;
    return file.endsWith('.so') || file.endsWith('.dylib') ? file : `${file}${process.platform === 'darwin' ? '.dylib' : '.so'}`;
  }
  if (BUILTIN_NODE_HANDLERS.includes(handler)) return null;
  if (NODE_HANDLER_FILE.test(file)) return file;
  if (runtime === 'node') throw new ArchiverError(`--handler: a node handler is a .js, .cjs, .mjs, .ts or .mts file, or one of ${BUILTIN_NODE_HANDLERS.join(', ')}`);
  if (BUILTIN_PYTHON_HANDLERS.includes(handler)) return null;
  return file.endsWith('.py') ? file : `${file}.py`;
}

async function singleFile(flag: string, given: string, cwd: string, hint = ''): Promise<PlannedFile> {
  const source = path.resolve(cwd, given);
  const info = await statOrNull(source);
  if (info === null) throw new ArchiverError(`${flag}: file not found: ${given}${hint}`);
  if (!info.isFile()) throw new ArchiverError(`${flag}: not a regular file: ${given}`);
  return { name: path.basename(source), source, sizeBytes: info.size };
}

async function extraFiles(list: string, cwd: string, warnings: string[]): Promise<PlannedFile[]> {
  const out: PlannedFile[] = [];
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const wildcard = hasWildcard(item);
    const matches = wildcard ? await expandGlob(item, cwd) : [item];
    if (wildcard && matches.length === 0) warnings.push(`--extra-files: pattern matched no file: ${item}`);
    for (const match of matches) {
      const source = path.resolve(cwd, match);
      const info = await statOrNull(source);
      if (info === null) throw new ArchiverError(`--extra-files: file not found: ${match}`);
      if (info.isFile()) out.push({ name: path.basename(source), source, sizeBytes: info.size });
      else if (info.isDirectory()) out.push(...(await folderContents(source, '')));
      else throw new ArchiverError(`--extra-files: not a file or folder: ${match}`);
    }
  }
  return out;
}

async function folderContents(dir: string, prefix: string): Promise<PlannedFile[]> {
  const out: PlannedFile[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const source = path.join(dir, name);
    const info = await statOrNull(source);
    if (info === null) continue; // a dangling symlink
    if (info.isFile()) out.push({ name: `${prefix}${name}`, source, sizeBytes: info.size });
    else if (info.isDirectory() && !SKIPPED_DIRS.has(name) && !name.startsWith('.')) {
      out.push(...(await folderContents(source, `${prefix}${name}/`)));
    }
  }
  return out;
}

/** Files of a folder before its sub-folders, each level by name (as a directory walk visits them). */
function walkOrder(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const lastA = i === pa.length - 1;
    const lastB = i === pb.length - 1;
    if (lastA !== lastB) return lastA ? -1 : 1;
    const x = pa[i] as string;
    const y = pb[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

async function statOrNull(file: string): Promise<Stats | null> {
  try {
    return await stat(file);
  } catch {
    return null;
  }
}
