// Where a registration url points (spec §1.3 steps 1–4 and 6–8): a file to unpack (perhaps just
// downloaded into the model store) or a directory to use in place.
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import {
  emptyUrl,
  modelArchiveNotFound,
  modelFileExists,
  modelStoreMissing,
  relativePathInUrl,
  urlNotAllowed,
  downloadFailed,
} from '../errors.js';
import { fileNameOf, looksLikeUrl, matchesAllowedUrl, percentDecoded } from './allowed-urls.js';
import { downloadToFile } from './download.js';
import type { ModelSourceSettings } from './aws-environment.js';
import { isS3Url } from './s3-object-source.js';

export interface LocateOptions {
  readonly modelStore: string | null;
  readonly allowedUrls: readonly RegExp[];
  /** Operator-named startup models: absolute paths and directories anywhere are accepted, as TorchServe does. */
  readonly trusted: boolean;
  readonly downloadMaxBytes: number;
  readonly downloadTimeoutMs: number;
  /** Sign http(s) downloads with AWS SigV4 (register parameter s3_sse_kms). */
  readonly s3SseKms?: boolean;
  readonly sources?: ModelSourceSettings;
}

export type ArchiveLocation =
  | { readonly kind: 'file'; readonly fileName: string; readonly file: string; readonly downloaded: string | null }
  | { readonly kind: 'directory'; readonly fileName: string; readonly dir: string };

export async function locateArchive(url: string, opts: LocateOptions): Promise<ArchiveLocation> {
  if (opts.modelStore === null || opts.modelStore === '') throw modelStoreMissing();
  if (url.trim() === '') throw emptyUrl();
  if (url.includes('..') || percentDecoded(url).includes('..')) throw relativePathInUrl(url);

  const store = path.resolve(opts.modelStore);
  const fileName = fileNameOf(url);
  // s3://bucket/key is Lantern's addition; like http(s) URLs it must match allowed_urls.
  if (looksLikeUrl(url) || isS3Url(url)) {
    if (!matchesAllowedUrl(url, opts.allowedUrls)) throw urlNotAllowed(url);
    return download(url, store, fileName, opts);
  }
  return opts.trusted ? locateTrusted(url, store, fileName) : locateInStore(url, store, fileName);
}

async function download(url: string, store: string, fileName: string, opts: LocateOptions): Promise<ArchiveLocation> {
  if (fileName === '' || fileName.includes('\\')) {
    throw downloadFailed(url, new Error('the url does not end in a usable file name'));
  }
  const target = path.join(store, fileName);
  if ((await statOrNull(target, lstat)) !== null) throw modelFileExists(fileName);
  await downloadToFile(url, target, {
    maxBytes: opts.downloadMaxBytes,
    timeoutMs: opts.downloadTimeoutMs,
    allowedUrls: opts.allowedUrls,
    ...(opts.s3SseKms === undefined ? {} : { s3SseKms: opts.s3SseKms }),
    ...(opts.sources === undefined ? {} : { sources: opts.sources }),
  });
  return { kind: 'file', fileName, file: target, downloaded: target };
}

/** Operator-named: a file must sit directly in the store (as in TorchServe); a directory may be anywhere. */
async function locateTrusted(url: string, store: string, fileName: string): Promise<ArchiveLocation> {
  const target = fileName === '' ? null : path.join(store, fileName);
  if (target !== null && (await statOrNull(target))?.isFile()) {
    return { kind: 'file', fileName, file: target, downloaded: null };
  }
  const asGiven = path.resolve(url);
  if ((await statOrNull(asGiven))?.isDirectory()) {
    return { kind: 'directory', fileName, dir: await innerModelDir(asGiven, null) };
  }
  if (target !== null && (await statOrNull(target))?.isDirectory()) {
    return { kind: 'directory', fileName, dir: await innerModelDir(target, null) };
  }
  throw modelArchiveNotFound(url);
}

/** API callers: only names in the model store, and nothing that leads out of it through a symlink. */
async function locateInStore(url: string, store: string, fileName: string): Promise<ArchiveLocation> {
  if (path.isAbsolute(url) || fileName === '') throw modelArchiveNotFound(url);
  const realStore = await realpathOrNull(store);
  const real = await realpathOrNull(path.join(store, fileName));
  if (realStore === null || real === null || !isInside(real, realStore)) throw modelArchiveNotFound(url);
  const info = await statOrNull(real);
  if (info?.isFile()) return { kind: 'file', fileName, file: real, downloaded: null };
  if (info?.isDirectory()) return { kind: 'directory', fileName, dir: await innerModelDir(real, realStore, url) };
  throw modelArchiveNotFound(url);
}

/**
 * A directory holding exactly one entry that is itself a directory stands for that inner directory
 * (the layout `--archive-format no-archive` produces) — unless that entry is MAR-INF, which marks
 * the model directory itself. With `confineTo`, the inner one must not lead out of it either.
 */
async function innerModelDir(dir: string, confineTo: string | null, url = dir): Promise<string> {
  const entries = await readdir(dir);
  if (entries.length !== 1 || entries[0] === undefined || entries[0] === 'MAR-INF') return dir;
  const inner = path.join(dir, entries[0]);
  if (!(await statOrNull(inner))?.isDirectory()) return dir;
  if (confineTo === null) return inner;
  const realInner = await realpathOrNull(inner);
  if (realInner === null || !isInside(realInner, confineTo)) throw modelArchiveNotFound(url);
  return realInner;
}

function isInside(candidate: string, root: string): boolean {
  return candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

async function statOrNull(file: string, how: (p: string) => Promise<Stats> = stat): Promise<Stats | null> {
  try {
    return await how(file);
  } catch {
    return null;
  }
}

async function realpathOrNull(file: string): Promise<string | null> {
  try {
    return await realpath(file);
  } catch {
    return null;
  }
}
