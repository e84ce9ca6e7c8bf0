// Fetching an archive into the model store: bounded in bytes and time, redirects re-checked against
// allowed_urls, and the target appears only once complete.
import { createReadStream, createWriteStream } from 'node:fs';
import { link, rename, rm, stat } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { downloadFailed } from '../errors.js';
import { matchesAllowedUrl } from './allowed-urls.js';

export interface DownloadOptions {
  readonly maxBytes: number;
  /** For the whole download, redirects included. */
  readonly timeoutMs: number;
  readonly allowedUrls: readonly RegExp[];
  readonly maxRedirects?: number;
}

const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Downloads `url` (http, https or file) to `targetPath`. Writes to a hidden temp file beside the
 * target and links it into place only when complete, never replacing an existing file. Any failure
 * removes the temp file and throws downloadFailed(url) with the reason as its cause.
 */
export async function downloadToFile(url: string, targetPath: string, opts: DownloadOptions): Promise<void> {
  const tempPath = path.join(
    path.dirname(targetPath),
    `.${path.basename(targetPath)}.${randomBytes(6).toString('hex')}.part`,
  );
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    if (!matchesAllowedUrl(url, opts.allowedUrls)) throw new Error('url does not match allowed_urls');
    const source = await openSource(new URL(url), opts, signal);
    await pipeline(source, sizeLimit(opts.maxBytes), createWriteStream(tempPath, { flags: 'wx' }), { signal });
    await publish(tempPath, targetPath);
  } catch (err) {
    await rm(tempPath, { force: true });
    throw downloadFailed(url, signal.aborted ? new Error(`timed out after ${opts.timeoutMs} ms`, { cause: err }) : err);
  }
}

async function openSource(url: URL, opts: DownloadOptions, signal: AbortSignal): Promise<Readable> {
  switch (url.protocol) {
    case 'file:': {
      const file = fileURLToPath(url);
      const info = await stat(file);
      if (!info.isFile()) throw new Error(`${file} is not a regular file`);
      if (info.size > opts.maxBytes) throw new Error(`file is larger than ${opts.maxBytes} bytes`);
      return createReadStream(file);
    }
    case 'http:':
    case 'https:':
      return fetchFollowingRedirects(url, opts, signal);
    default:
      throw new Error(`unsupported protocol ${url.protocol}`);
  }
}

async function fetchFollowingRedirects(start: URL, opts: DownloadOptions, signal: AbortSignal): Promise<Readable> {
  const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  let current = start;
  for (let hops = 0; ; hops += 1) {
    const response = await get(current, signal);
    const status = response.statusCode ?? 0;
    if (REDIRECT_STATUSES.has(status)) {
      response.resume();
      current = nextHop(current, response.headers.location, hops, maxRedirects, opts.allowedUrls);
      continue;
    }
    if (status < 200 || status > 299) {
      response.resume();
      throw new Error(`HTTP ${status} from ${current.href}`);
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      response.destroy();
      throw new Error(`response is larger than ${opts.maxBytes} bytes`);
    }
    return response;
  }
}

function nextHop(
  current: URL,
  location: string | undefined,
  hops: number,
  maxRedirects: number,
  allowedUrls: readonly RegExp[],
): URL {
  if (location === undefined || location === '') throw new Error(`redirect without Location from ${current.href}`);
  if (hops >= maxRedirects) throw new Error(`more than ${maxRedirects} redirects`);
  const next = new URL(location, current);
  if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new Error(`redirect to ${next.href} refused`);
  if (!matchesAllowedUrl(next.href, allowedUrls)) {
    throw new Error(`redirect to ${next.href} does not match allowed_urls`);
  }
  return next;
}

function get(url: URL, signal: AbortSignal): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, { signal }, resolve);
    request.on('error', reject);
  });
}

function sizeLimit(maxBytes: number): Transform {
  let seenBytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seenBytes += chunk.length;
      if (seenBytes > maxBytes) callback(new Error(`download is larger than ${maxBytes} bytes`));
      else callback(null, chunk);
    },
  });
}

/** Links the finished temp file into place so an existing target is never overwritten. */
async function publish(tempPath: string, targetPath: string): Promise<void> {
  try {
    await link(tempPath, targetPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new Error(`${targetPath} already exists`, { cause: err });
    // File systems without hard links: fall back to rename, which cannot refuse to replace.
    await rename(tempPath, targetPath);
    return;
  }
  await rm(tempPath, { force: true });
}
