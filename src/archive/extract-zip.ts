// Safe extraction of a zip (.mar): names are checked by us, links and special files are refused,
// and bytes are counted as they are inflated. A small archive is read into memory at once and its
// small entries are inflated and written in place: most .mar files are a handler and a manifest,
// and a file handle, a stream pipeline and a thread-pool round trip per entry cost milliseconds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import yauzl, { type Entry, type Options, type ZipFile } from 'yauzl';
import { invalidModel } from '../errors.js';
import {
  ExtractionBudget,
  extractIntoFreshDir,
  refuseEntry,
  resolveEntryPath,
  writeEntryFile,
  type ExtractLimits,
} from './extraction-guard.js';
import { readSmallFile } from './small-file.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** Archives up to this size are read into memory whole. */
export const IN_MEMORY_ARCHIVE_BYTES = 1024 * 1024;
/**
 * Of an archive read into memory, entries are inflated on the event loop while their declared
 * sizes add up to at most this much (inflation stops one byte past a declared size); the others
 * stream through the thread pool, so no archive can hold the event loop for long.
 */
export const INLINE_ENTRY_BYTES = 4 * 1024 * 1024;

export interface ZipExtractOptions {
  /** Overrides IN_MEMORY_ARCHIVE_BYTES (0: always stream, as for a large archive). */
  readonly inMemoryMaxBytes?: number;
}

/** An open zip, and its bytes when it was read into memory. */
interface OpenZip {
  readonly zip: ZipFile;
  readonly bytes: Buffer | null;
  /** Declared bytes that may still be inflated inline. */
  inlineBytes: number;
}

/** Extracts the zip `archiveFile` into `dest` (created; must not exist). On failure `dest` is removed. */
export async function extractZip(archiveFile: string, dest: string, limits: ExtractLimits, options: ZipExtractOptions = {}): Promise<void> {
  await extractIntoFreshDir(archiveFile, dest, async (root) => {
    const opened = await openZip(archiveFile, options.inMemoryMaxBytes ?? IN_MEMORY_ARCHIVE_BYTES);
    const { zip } = opened;
    try {
      if (zip.entryCount > limits.maxEntries) {
        throw refuseEntry('*', `archive has ${zip.entryCount} entries, more than ${limits.maxEntries}`);
      }
      const budget = new ExtractionBudget(limits);
      for (let entry = await nextEntry(zip); entry !== null; entry = await nextEntry(zip)) {
        await extractEntry(opened, entry, root, budget);
      }
    } finally {
      zip.close();
    }
  });
}

// decodeStrings off: yauzl's own name validation would reject hostile names with its own wording;
// we decode and check them ourselves so the refusal names the entry and the reason.
const YAUZL_OPTIONS: Options = { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true };

async function openZip(archiveFile: string, inMemoryMaxBytes: number): Promise<OpenZip> {
  try {
    // Anything but a regular file within the size streams as before (and fails there if it must).
    const small = inMemoryMaxBytes > 0 ? readSmallFile(archiveFile, inMemoryMaxBytes) : null;
    const bytes = Buffer.isBuffer(small) ? small : null;
    const zip = bytes === null ? await yauzl.openPromise(archiveFile, YAUZL_OPTIONS) : await yauzl.fromBufferPromise(bytes, YAUZL_OPTIONS);
    return { zip, bytes, inlineBytes: bytes === null ? 0 : INLINE_ENTRY_BYTES };
  } catch (err) {
    throw invalidModel(`Not a valid zip archive: ${(err as Error).message}`, err);
  }
}

function nextEntry(zip: ZipFile): Promise<Entry | null> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: Entry): void => { cleanup(); resolve(entry); };
    const onEnd = (): void => { cleanup(); resolve(null); };
    const onError = (err: Error): void => { cleanup(); reject(invalidModel(`Corrupt zip archive: ${err.message}`, err)); };
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

async function extractEntry(opened: OpenZip, entry: Entry, root: string, budget: ExtractionBudget): Promise<void> {
  const { zip } = opened;
  const name = entryName(entry);
  budget.countEntry(name);
  const fileType = (entry.externalFileAttributes >>> 16) & S_IFMT;
  if (fileType === S_IFLNK) throw refuseEntry(name, 'symbolic links are not allowed');
  if (fileType !== 0 && fileType !== S_IFREG && fileType !== S_IFDIR) {
    throw refuseEntry(name, 'special files are not allowed');
  }
  const target = resolveEntryPath(root, name);
  const isDirectory = /[\\/]$/.test(name) || fileType === S_IFDIR;
  if (isDirectory) {
    if (target !== null) await mkdir(target, { recursive: true });
    return;
  }
  if (target === null) throw refuseEntry(name, 'file entry without a name');
  if (entry.isEncrypted()) throw invalidModel(`Encrypted zip entries are not supported: ${name}`);
  if (!entry.canDecodeFileData()) throw invalidModel(`Unsupported zip compression method in entry: ${name}`);
  budget.checkDeclared(name, entry.uncompressedSize);
  if (opened.bytes !== null && entry.uncompressedSize <= opened.inlineBytes) {
    opened.inlineBytes -= entry.uncompressedSize;
    const data = await inflateInline(zip, opened.bytes, entry, name);
    budget.countBytes(name, data.length);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, data);
    return;
  }
  await writeEntryFile(() => openEntryStream(zip, entry, name), target, name, budget);
}

/** An entry of an archive held in memory, inflated at once; never more than one byte past its declared size. */
async function inflateInline(zip: ZipFile, bytes: Buffer, entry: Entry, name: string): Promise<Buffer> {
  let data: Buffer;
  try {
    const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
    const stored = bytes.subarray(fileDataStart, fileDataStart + entry.compressedSize);
    data = entry.compressionMethod === 0 ? stored : inflateRawSync(stored, { maxOutputLength: entry.uncompressedSize + 1 });
  } catch (err) {
    throw invalidModel(`Corrupt zip entry ${name}: ${(err as Error).message}`, err);
  }
  if (data.length !== entry.uncompressedSize) {
    const found = data.length > entry.uncompressedSize ? 'more' : `${data.length}`;
    throw invalidModel(`Corrupt zip entry ${name}: ${found} bytes where ${entry.uncompressedSize} were declared`);
  }
  return data;
}

async function openEntryStream(zip: ZipFile, entry: Entry, name: string): Promise<NodeJS.ReadableStream> {
  try {
    return await zip.openReadStreamPromise(entry);
  } catch (err) {
    throw invalidModel(`Corrupt zip entry ${name}: ${(err as Error).message}`, err);
  }
}

function entryName(entry: Entry): string {
  const raw = entry.fileNameRaw ?? (entry.fileName as unknown as Buffer);
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, entry.extraFields, false);
}
