// Opening a model for registration (spec §1.3, §9.3): locate or download it, unpack it into a
// private temp directory (or use a directory in place), read its manifest and model-config.yaml.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { claimFolder, releaseFolder } from './debris.js';
import { invalidModel } from '../errors.js';
import { locateArchive, type ArchiveLocation } from './archive-location.js';
import { readSmallFile } from './small-file.js';
import { archiveFormatOf, extractArchive } from './extract.js';
import { defaultManifest, parseManifest, type Manifest } from './manifest.js';
import { parseModelConfig, type ModelYamlConfig } from './model-config.js';
import type { ModelSourceSettings } from './aws-environment.js';

export { compileAllowedUrls } from './allowed-urls.js';

export interface ArchiveLimits {
  readonly maxEntries: number;
  readonly maxUncompressedBytes: number;
  readonly downloadMaxBytes: number;
  readonly downloadTimeoutMs: number;
}

export interface OpenArchiveOptions {
  readonly modelStore: string | null;
  /** From compileAllowedUrls: anchored, case-insensitive. */
  readonly allowedUrls: readonly RegExp[];
  /** Archives are unpacked into `<tmpRoot>/models/<32 hex>/`. */
  readonly tmpRoot: string;
  /** True for operator-named startup models: absolute paths and directories anywhere are accepted. */
  readonly trusted: boolean;
  readonly limits: ArchiveLimits;
  /** Sign the http(s) download with AWS SigV4 for service s3 (register parameter s3_sse_kms). */
  readonly s3SseKms?: boolean;
  /** AWS settings for s3_sse_kms and s3:// URLs; download progress and failure reasons. */
  readonly sources?: ModelSourceSettings;
}

export interface ModelArchive {
  readonly url: string;
  /** The url's last path component. */
  readonly marName: string;
  /** Absolute path of the model's files (extracted copy, or the user's directory used in place). */
  readonly dir: string;
  readonly manifest: Manifest;
  readonly config: ModelYamlConfig | null;
  readonly warnings: readonly string[];
  /** The copy a URL registration downloaded into the model store, if any. */
  readonly downloadedFile: string | null;
  /** Removes the extracted temp directory (never a directory used in place). Idempotent. */
  close(): Promise<void>;
  /** Deletes the downloaded copy in the model store (on unregister). Idempotent. */
  removeDownloaded(): Promise<void>;
}

const MANIFEST_PATH = path.join('MAR-INF', 'MANIFEST.json');
const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export async function openArchive(url: string, opts: OpenArchiveOptions): Promise<ModelArchive> {
  const location = await locateArchive(url, {
    modelStore: opts.modelStore,
    allowedUrls: opts.allowedUrls,
    trusted: opts.trusted,
    downloadMaxBytes: opts.limits.downloadMaxBytes,
    downloadTimeoutMs: opts.limits.downloadTimeoutMs,
    ...(opts.s3SseKms === undefined ? {} : { s3SseKms: opts.s3SseKms }),
    ...(opts.sources === undefined ? {} : { sources: opts.sources }),
  });
  if (location.kind === 'directory') return describe(url, location.fileName, location.dir, false, null);
  return unpackAndDescribe(url, location, opts);
}

async function unpackAndDescribe(
  url: string,
  location: Extract<ArchiveLocation, { kind: 'file' }>,
  opts: OpenArchiveOptions,
): Promise<ModelArchive> {
  const dir = path.resolve(opts.tmpRoot, 'models', randomUUID().replaceAll('-', ''));
  // Claimed before it exists: a crash at any point leaves a folder that the next start can clean.
  await claimFolder(dir);
  try {
    await extractArchive(location.file, dir, opts.limits, archiveFormatOf(location.fileName));
    return await describe(url, location.fileName, dir, true, location.downloaded);
  } catch (err) {
    await releaseFolder(dir);
    if (location.downloaded !== null) await rm(location.downloaded, { force: true });
    throw err;
  }
}

async function describe(
  url: string,
  marName: string,
  dir: string,
  ownsDir: boolean,
  downloadedFile: string | null,
): Promise<ModelArchive> {
  const warnings: string[] = [];
  const manifest = await readManifest(dir, warnings);
  const config = await readConfig(dir, manifest.model.configFile, warnings);
  return new OpenedArchive(url, marName, dir, manifest, config, Object.freeze(warnings), downloadedFile, ownsDir);
}

async function readManifest(dir: string, warnings: string[]): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_PATH);
  const text = await readBounded(file, MAX_MANIFEST_BYTES).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw invalidModel('Failed to parse signature.json.', err);
  });
  if (text === null) {
    warnings.push(`${MANIFEST_PATH} not found; using the default manifest`);
    return defaultManifest();
  }
  const manifest = parseManifest(text);
  if (manifest.archiverVersion === undefined) {
    warnings.push(`${MANIFEST_PATH} has no archiverVersion; the archive may predate torch-model-archiver 0.2`);
  }
  return manifest;
}

async function readConfig(dir: string, configFile: string | undefined, warnings: string[]): Promise<ModelYamlConfig | null> {
  if (configFile === undefined || configFile === '') return null;
  const file = path.resolve(dir, configFile);
  if (path.isAbsolute(configFile) || configFile.split(/[\\/]/).includes('..') || !file.startsWith(dir + path.sep)) {
    warnings.push(`configFile ${JSON.stringify(configFile)} is outside the model directory; ignoring it`);
    return null;
  }
  let text: string;
  try {
    text = await readBounded(file, MAX_CONFIG_BYTES);
  } catch (err) {
    warnings.push(`configFile ${JSON.stringify(configFile)} could not be read (${(err as Error).message}); ignoring it`);
    return null;
  }
  const parsed = parseModelConfig(text, configFile);
  warnings.push(...parsed.warnings);
  return parsed.config;
}

async function readBounded(file: string, maxBytes: number): Promise<string> {
  const bytes = readSmallFile(file, maxBytes);
  if (bytes === 'not-a-file') throw Object.assign(new Error(`${file} is not a regular file`), { code: 'EISDIR' });
  if (bytes === 'too-large') throw new Error(`${file} is larger than ${maxBytes} bytes`);
  return bytes.toString('utf8');
}

class OpenedArchive implements ModelArchive {
  #closing: Promise<void> | null = null;
  #removing: Promise<void> | null = null;

  constructor(
    readonly url: string,
    readonly marName: string,
    readonly dir: string,
    readonly manifest: Manifest,
    readonly config: ModelYamlConfig | null,
    readonly warnings: readonly string[],
    readonly downloadedFile: string | null,
    private readonly ownsDir: boolean,
  ) {}

  close(): Promise<void> {
    this.#closing ??= this.ownsDir ? releaseFolder(this.dir) : Promise.resolve();
    return this.#closing;
  }

  removeDownloaded(): Promise<void> {
    const file = this.downloadedFile;
    this.#removing ??= file === null ? Promise.resolve() : rm(file, { force: true });
    return this.#removing;
  }
}
