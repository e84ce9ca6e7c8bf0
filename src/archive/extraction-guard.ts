// What zip and tar extraction share: entry-name checks, the size/entry budget, writing one file, and
// the all-or-nothing destination directory.
import { mkdir, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { internal, invalidModel, isServeError, unsafeArchive, type ServeError } from '../errors.js';

export interface ExtractLimits {
  readonly maxEntries: number;
  readonly maxUncompressedBytes: number;
}

export function refuseEntry(entryName: string, reason: string): ServeError {
  return unsafeArchive(`entry ${JSON.stringify(entryName)}: ${reason}`);
}

/** Counts entries and the bytes actually written; the sizes an archive declares are not trusted. */
export class ExtractionBudget {
  readonly #limits: ExtractLimits;
  #entries = 0;
  #bytes = 0;

  constructor(limits: ExtractLimits) {
    this.#limits = limits;
  }

  countEntry(entryName: string): void {
    this.#entries += 1;
    if (this.#entries > this.#limits.maxEntries) {
      throw refuseEntry(entryName, `archive has more than ${this.#limits.maxEntries} entries`);
    }
  }

  /** An early refusal from a declared size; declared sizes can lie low, so countBytes stays the real guard. */
  checkDeclared(entryName: string, declaredBytes: number): void {
    if (this.#bytes + declaredBytes > this.#limits.maxUncompressedBytes) {
      throw refuseEntry(entryName, `archive expands to more than ${this.#limits.maxUncompressedBytes} bytes`);
    }
  }

  countBytes(entryName: string, sizeBytes: number): void {
    this.#bytes += sizeBytes;
    if (this.#bytes > this.#limits.maxUncompressedBytes) {
      throw refuseEntry(entryName, `archive expands to more than ${this.#limits.maxUncompressedBytes} bytes`);
    }
  }
}

/**
 * Maps an entry name to a path inside `dest`. Refuses absolute names, `..` components and anything
 * that would land outside `dest`; backslashes count as separators so Windows-made archives cannot
 * smuggle `..\`. Returns null for names that denote `dest` itself (`./`, empty).
 */
export function resolveEntryPath(dest: string, entryName: string): string | null {
  if (entryName.includes('\0')) throw refuseEntry(entryName, 'name contains a NUL character');
  if (/^([\\/]|[A-Za-z]:)/.test(entryName)) throw refuseEntry(entryName, 'absolute path');
  const parts = entryName.split(/[\\/]+/);
  if (parts.includes('..')) throw refuseEntry(entryName, 'path contains ".."');
  const kept = parts.filter((part) => part !== '' && part !== '.');
  if (kept.length === 0) return null;
  const target = path.resolve(dest, ...kept);
  if (!target.startsWith(dest + path.sep)) throw refuseEntry(entryName, 'resolves outside the destination');
  return target;
}

/**
 * Streams one entry's bytes into `target`, charging every byte against the budget as it passes.
 * The source is opened only once the directory exists: a source that starts flowing (and failing)
 * before the pipeline listens would raise an uncaught error.
 */
export async function writeEntryFile(
  openSource: () => Promise<NodeJS.ReadableStream | AsyncIterable<Buffer>>,
  target: string,
  entryName: string,
  budget: ExtractionBudget,
  signal?: AbortSignal,
): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const source = await openSource();
  const meter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        budget.countBytes(entryName, chunk.length);
        callback(null, chunk);
      } catch (err) {
        callback(err as Error);
      }
    },
  });
  await pipeline(source, meter, createWriteStream(target), signal === undefined ? {} : { signal });
}

/**
 * Creates `dest` (which must not exist yet), runs `fill`, and on any failure removes `dest` again
 * before rethrowing as a ServeError: refusals stay as they are, disk trouble is internal, anything
 * else means the archive is corrupt.
 */
export async function extractIntoFreshDir(
  archiveFile: string,
  dest: string,
  fill: (dest: string) => Promise<void>,
): Promise<void> {
  const absoluteDest = path.resolve(dest);
  await mkdir(path.dirname(absoluteDest), { recursive: true });
  await mkdir(absoluteDest);
  try {
    await fill(absoluteDest);
  } catch (err) {
    await rm(absoluteDest, { recursive: true, force: true });
    throw asExtractionError(archiveFile, err);
  }
}

const HOST_FAILURES = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EMFILE', 'ENFILE', 'EIO']);

function asExtractionError(archiveFile: string, err: unknown): ServeError {
  if (isServeError(err)) return err;
  const name = path.basename(archiveFile);
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== undefined && HOST_FAILURES.has(code)) return internal(`Failed to extract ${name}`, err);
  const detail = err instanceof Error ? err.message : String(err);
  return invalidModel(`Corrupt or unreadable archive ${name}: ${detail}`, err);
}
