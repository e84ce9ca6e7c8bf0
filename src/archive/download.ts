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
import { AddressRefused, checkUrlHost, guardedLookup, linkLocalAddresses } from './address-guard.js';
import type { BlockList } from 'node:net';
import { matchesAllowedUrl } from './allowed-urls.js';
import type { ModelSourceSettings } from './aws-environment.js';
import { meteredStream, progressMeter } from './progress-meter.js';
import { openS3Object } from './s3-object-source.js';
import { signedGetHeaders } from './s3-signed-get.js';

export interface DownloadOptions {
  readonly maxBytes: number;
  /** For the whole download, redirects included. */
  readonly timeoutMs: number;
  readonly allowedUrls: readonly RegExp[];
  readonly maxRedirects?: number;
  /** Sign http(s) GETs with AWS SigV4 for service s3 (register parameter s3_sse_kms). */
  readonly s3SseKms?: boolean;
  /** AWS settings (for s3_sse_kms and s3:// URLs) and where progress and failure reasons go. */
  readonly sources?: ModelSourceSettings;
  /** Addresses no hop may connect to; link-local ones by default (allow_link_local_urls). */
  readonly refusedAddresses?: BlockList;
}

const DEFAULT_PROGRESS_MIN_BYTES = 16 * 1024 * 1024;

interface OpenedSource {
  readonly stream: Readable;
  readonly sizeBytes: number | null;
}

const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Downloads `url` (http, https or file) to `targetPath`. Writes to a hidden temp file beside the
 * target and links it into place only when complete, never replacing an existing file. Any failure
 * removes the temp file and throws downloadFailed(url) with the reason as its cause.
 */
/** A download Lantern refuses on purpose (a limit or a redirect policy); its message is shown to the client. */
export class DownloadRefused extends Error {}

export async function downloadToFile(url: string, targetPath: string, opts: DownloadOptions): Promise<void> {
  const tempPath = path.join(
    path.dirname(targetPath),
    `.${path.basename(targetPath)}.${randomBytes(6).toString('hex')}.part`,
  );
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    if (!matchesAllowedUrl(url, opts.allowedUrls)) throw new Error('url does not match allowed_urls');
    const source = await openSource(new URL(url), opts, signal);
    const meter = progressMeter({
      label: `Downloading ${url}`,
      totalBytes: source.sizeBytes,
      minBytes: opts.sources?.progressMinBytes ?? DEFAULT_PROGRESS_MIN_BYTES,
      report: opts.sources?.log ?? (() => undefined),
    });
    await pipeline(source.stream, sizeLimit(opts.maxBytes), meteredStream(meter), createWriteStream(tempPath, { flags: 'wx' }), { signal });
    await publish(tempPath, targetPath);
  } catch (err) {
    await rm(tempPath, { force: true });
    opts.sources?.log(`Download of ${url} failed: ${signal.aborted ? `timed out after ${opts.timeoutMs} ms` : (err as Error).message}`);
    const cause = signal.aborted
      ? new DownloadRefused(`timed out after ${opts.timeoutMs} ms`, { cause: err })
      : err instanceof AddressRefused
        ? new DownloadRefused(err.message)
        : err;
    // Lantern's own refusals (limits, redirects) are named in the answer; other failures keep TorchServe's text.
    throw downloadFailed(url, cause, cause instanceof DownloadRefused ? cause.message : undefined);
  }
}

async function openSource(url: URL, opts: DownloadOptions, signal: AbortSignal): Promise<OpenedSource> {
  switch (url.protocol) {
    case 'file:': {
      const file = fileURLToPath(url);
      const info = await stat(file);
      if (!info.isFile()) throw new Error(`${file} is not a regular file`);
      if (info.size > opts.maxBytes) throw new DownloadRefused(`file is larger than ${opts.maxBytes} bytes`);
      return { stream: createReadStream(file), sizeBytes: info.size };
    }
    case 'http:':
    case 'https:': {
      const response = await fetchFollowingRedirects(url, opts, signal);
      const declared = Number(response.headers['content-length']);
      return { stream: response, sizeBytes: Number.isFinite(declared) ? declared : null };
    }
    case 's3:': {
      if (opts.sources === undefined) throw new Error('s3:// URLs need the AWS settings of the server');
      const object = await openS3Object(url.href, opts.sources.aws, signal);
      if (object.sizeBytes !== null && object.sizeBytes > opts.maxBytes) {
        object.body.destroy();
        throw new DownloadRefused(`object is larger than ${opts.maxBytes} bytes`);
      }
      return { stream: object.body, sizeBytes: object.sizeBytes };
    }
    default:
      throw new Error(`unsupported protocol ${url.protocol}`);
  }
}

async function fetchFollowingRedirects(start: URL, opts: DownloadOptions, signal: AbortSignal): Promise<IncomingMessage> {
  const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  let current = start;
  const refused = opts.refusedAddresses ?? (opts.sources?.allowLinkLocal === true ? null : linkLocalAddresses());
  for (let hops = 0; ; hops += 1) {
    const headers = opts.s3SseKms === true ? await signedGetHeaders(current, opts.sources?.aws ?? noAws) : {};
    const response = await get(current, signal, headers, refused);
    const status = response.statusCode ?? 0;
    if (REDIRECT_STATUSES.has(status)) {
      response.resume();
      current = nextHop(current, response.headers.location, hops, maxRedirects, opts.allowedUrls);
      continue;
    }
    if (status < 200 || status > 299) {
      throw new Error(`HTTP ${status} from ${current.href}${await s3ErrorCode(response)}`);
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      response.destroy();
      throw new DownloadRefused(`response is larger than ${opts.maxBytes} bytes`);
    }
    return response;
  }
}

/** `: <Code>: <Message>` from an S3-style XML error body (first 8 KiB), or '' for other bodies. */
async function s3ErrorCode(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size > 8192) break;
    }
  } catch {
    return '';
  } finally {
    response.destroy();
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]{1,300})<\/Message>/.exec(text)?.[1];
  return code === undefined ? '' : `: ${code}${message === undefined ? '' : `: ${message}`}`;
}

function nextHop(
  current: URL,
  location: string | undefined,
  hops: number,
  maxRedirects: number,
  allowedUrls: readonly RegExp[],
): URL {
  if (location === undefined || location === '') throw new Error(`redirect without Location from ${current.href}`);
  if (hops >= maxRedirects) throw new DownloadRefused(`more than ${maxRedirects} redirects`);
  const next = new URL(location, current);
  if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new DownloadRefused(`redirect to ${next.href} refused`);
  if (!matchesAllowedUrl(next.href, allowedUrls)) {
    throw new DownloadRefused(`redirect to ${next.href} does not match allowed_urls`);
  }
  return next;
}

const noAws = { accessKeyId: null, secretAccessKey: null, sessionToken: null, region: null, endpointUrl: null };

/** One GET; with `refused`, neither the URL's address nor any address its name resolves to may be in it. */
function get(url: URL, signal: AbortSignal, headers: Record<string, string>, refused: BlockList | null): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    if (refused !== null) checkUrlHost(url, refused);
    const options = refused === null ? { signal, headers } : { signal, headers, lookup: guardedLookup(refused) };
    const request = client.get(url, options, resolve);
    request.on('error', reject);
  });
}

function sizeLimit(maxBytes: number): Transform {
  let seenBytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seenBytes += chunk.length;
      if (seenBytes > maxBytes) callback(new DownloadRefused(`download is larger than ${maxBytes} bytes`));
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
