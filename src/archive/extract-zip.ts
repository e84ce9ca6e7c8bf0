// Safe extraction of a zip (.mar): names are checked by us, links and special files are refused,
// and bytes are counted as they are inflated.
import { mkdir } from 'node:fs/promises';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { invalidModel } from '../errors.js';
import {
  ExtractionBudget,
  extractIntoFreshDir,
  refuseEntry,
  resolveEntryPath,
  writeEntryFile,
  type ExtractLimits,
} from './extraction-guard.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** Extracts the zip `archiveFile` into `dest` (created; must not exist). On failure `dest` is removed. */
export async function extractZip(archiveFile: string, dest: string, limits: ExtractLimits): Promise<void> {
  await extractIntoFreshDir(archiveFile, dest, async (root) => {
    const zip = await openZip(archiveFile);
    try {
      if (zip.entryCount > limits.maxEntries) {
        throw refuseEntry('*', `archive has ${zip.entryCount} entries, more than ${limits.maxEntries}`);
      }
      const budget = new ExtractionBudget(limits);
      for (let entry = await nextEntry(zip); entry !== null; entry = await nextEntry(zip)) {
        await extractEntry(zip, entry, root, budget);
      }
    } finally {
      zip.close();
    }
  });
}

async function openZip(archiveFile: string): Promise<ZipFile> {
  try {
    // decodeStrings off: yauzl's own name validation would reject hostile names with its own wording;
    // we decode and check them ourselves so the refusal names the entry and the reason.
    return await yauzl.openPromise(archiveFile, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
    });
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

async function extractEntry(zip: ZipFile, entry: Entry, root: string, budget: ExtractionBudget): Promise<void> {
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
  await writeEntryFile(() => openEntryStream(zip, entry, name), target, name, budget);
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
