// Writing a planned archive in one of torch-model-archiver's formats (spec §9.1, §9.2). Output is
// built beside its final path and moved into place only when complete, so a failed or interrupted
// run never leaves a half-written archive under the real name.
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { create as createTar } from 'tar';
import { ZipFile } from 'yazl';
import { meteredStream, progressMeter, type ProgressMeter } from '../archive/progress-meter.js';
import type { ArchiveFormat } from './archiver-args.js';
import type { PlannedFile } from './archiver-plan.js';

export const MANIFEST_NAME = 'MAR-INF/MANIFEST.json';

const EXTENSIONS: Record<ArchiveFormat, string> = { default: '.mar', 'zip-store': '.mar', tgz: '.tar.gz', 'no-archive': '' };

export function outputPathOf(exportPath: string, modelName: string, format: ArchiveFormat): string {
  return path.join(exportPath, `${modelName}${EXTENSIONS[format]}`);
}

export interface WriteOptions {
  readonly files: readonly PlannedFile[];
  readonly manifest: string;
  readonly modelName: string;
  readonly format: ArchiveFormat;
  readonly outputPath: string;
  /** Packing progress is reported when the files add up to at least this many bytes. */
  readonly progressMinBytes: number;
  readonly report: (line: string) => void;
}

export async function writeArchive(options: WriteOptions): Promise<void> {
  const { outputPath, format } = options;
  const temp = path.join(path.dirname(outputPath), `.${path.basename(outputPath)}.${randomBytes(6).toString('hex')}.part`);
  const meter = progressMeter({
    label: `Packing ${path.basename(outputPath)}`,
    totalBytes: options.files.reduce((sum, f) => sum + f.sizeBytes, 0),
    minBytes: options.progressMinBytes,
    report: options.report,
  });
  try {
    if (format === 'no-archive') await writeFolder(options, temp, meter);
    else if (format === 'tgz') await writeTgz(options, temp, meter);
    else await writeZip(options, temp, meter, format === 'default');
    meter.finish();
    await replace(temp, outputPath);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

async function writeZip(options: WriteOptions, temp: string, meter: ProgressMeter, compress: boolean): Promise<void> {
  const zip = new ZipFile();
  for (const file of options.files) {
    const info = await stat(file.source);
    zip.addReadStreamLazy(file.name, { compress, mtime: info.mtime, mode: info.mode, size: file.sizeBytes }, (callback) => {
      const input = createReadStream(file.source);
      const counted = meteredCopy(meter);
      input.on('error', (err) => counted.destroy(err));
      callback(null, input.pipe(counted));
    });
  }
  zip.addBuffer(Buffer.from(options.manifest, 'utf8'), MANIFEST_NAME, { compress, mtime: new Date(), mode: 0o100644 });
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(temp, { flags: 'wx' }));
}

/** Entries are `<model name>/<path>`; the files are staged as symlinks so nothing large is copied. */
async function writeTgz(options: WriteOptions, temp: string, meter: ProgressMeter): Promise<void> {
  const staging = await mkdtemp(`${temp}-staging-`);
  try {
    for (const file of options.files) {
      const staged = path.join(staging, ...file.name.split('/'));
      await mkdir(path.dirname(staged), { recursive: true });
      await symlink(file.source, staged);
    }
    await mkdir(path.join(staging, 'MAR-INF'));
    await writeFile(path.join(staging, 'MAR-INF', 'MANIFEST.json'), options.manifest);
    const entries = [...options.files.map((f) => f.name), MANIFEST_NAME];
    const tarStream = createTar(
      // Reads of at most 1 MiB keep progress reports smooth for large files.
      { cwd: staging, prefix: options.modelName, follow: true, portable: true, maxReadSize: 1024 * 1024 },
      entries,
    );
    await pipeline(tarStream, meteredCopy(meter), createGzip(), createWriteStream(temp, { flags: 'wx' }));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function writeFolder(options: WriteOptions, temp: string, meter: ProgressMeter): Promise<void> {
  await mkdir(temp);
  for (const file of options.files) {
    const target = path.join(temp, ...file.name.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    if (file.sizeBytes < 1024 * 1024) {
      await copyFile(file.source, target);
      meter.add(file.sizeBytes);
    } else {
      await pipeline(createReadStream(file.source), meteredCopy(meter), createWriteStream(target, { flags: 'wx' }));
    }
  }
  await mkdir(path.join(temp, 'MAR-INF'));
  await writeFile(path.join(temp, 'MAR-INF', 'MANIFEST.json'), options.manifest);
}

/** Counts bytes into a shared meter without finishing it (one meter spans many files). */
function meteredCopy(meter: ProgressMeter) {
  return meteredStream({ add: (n) => meter.add(n), finish: () => undefined, transferredBytes: 0 });
}

/** Moves `temp` to `target`, replacing an existing file or folder there (the caller checked --force). */
async function replace(temp: string, target: string): Promise<void> {
  const existing = await stat(target).catch(() => null);
  if (existing === null || !existing.isDirectory()) {
    await rename(temp, target);
    return;
  }
  const old = `${temp}.old`;
  await rename(target, old);
  await rename(temp, target);
  await rm(old, { recursive: true, force: true });
}
