// Reading request bodies within max_request_size, and turning them into handler parameters
// (spec §2.3): form fields and files one parameter each, anything else one `body` parameter.
import type { IncomingMessage } from 'node:http';
import type busboy from 'busboy';
import { badRequest, clientGoneMidBody, inflightBytesExceeded, requestTooLarge } from '../errors.js';
import type { RequestParameter } from '../protocol/messages.js';
import type { BodyAllowance } from './inflight-budget.js';

/** A request body as it arrived: its chunks and their total size. */
export interface ReceivedBody {
  readonly chunks: readonly Buffer[];
  readonly size: number;
}

export async function readBody(req: IncomingMessage, maxBytes: number, allowance: BodyAllowance | null = null): Promise<Buffer> {
  const { chunks, size } = await receiveBody(req, maxBytes, allowance);
  return Buffer.concat(chunks, size);
}

/**
 * The body's chunks, not joined: a large body is then never copied on its way to a worker. Each
 * chunk is counted against `allowance` (max_inflight_request_bytes) before it is kept.
 */
export function receiveBody(req: IncomingMessage, maxBytes: number, allowance: BodyAllowance | null = null): Promise<ReceivedBody> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      req.resume();
      reject(requestTooLarge(maxBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      const refusal = size > maxBytes ? requestTooLarge(maxBytes) : allowance?.received(chunk.length) === false ? inflightBytesExceeded(allowance.limitBytes) : null;
      if (refusal !== null) {
        chunks.length = 0;
        req.removeAllListeners('data');
        req.resume();
        reject(refusal);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve({ chunks, size }));
    // A client that goes away mid-body is not a failure of the server: a 400 (which nobody will
    // read) rather than a 500 logged with a stack trace for every impatient client.
    req.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ECONNRESET' ? clientGoneMidBody(err) : err));
  });
}

/** The mime type without parameters, lower-cased; '' when absent. */
export function mimeType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

export async function bodyParameters(contentType: string | undefined, body: ReceivedBody): Promise<RequestParameter[]> {
  const mime = mimeType(contentType);
  if (mime === 'multipart/form-data' || mime === 'application/x-www-form-urlencoded') {
    // busboy is loaded with the first form.
    const { default: createParser } = await import('busboy');
    return parseForm(createParser, contentType as string, Buffer.concat(body.chunks, body.size));
  }
  return [new ChunkedParameter('body', mime, body)];
}

/**
 * A parameter that keeps the body's chunks and joins them only when `value` is read. A class, so
 * that the getter lives on the prototype: an object literal with a getter is built on V8's slow
 * path, once per request.
 */
class ChunkedParameter implements RequestParameter {
  #joined: Buffer | null;

  constructor(
    readonly name: string,
    readonly contentType: string,
    private readonly body: ReceivedBody,
  ) {
    this.#joined = body.chunks.length === 1 ? (body.chunks[0] as Buffer) : null;
  }

  get chunks(): readonly Buffer[] {
    return this.body.chunks;
  }

  get value(): Buffer {
    this.#joined ??= Buffer.concat(this.body.chunks, this.body.size);
    return this.#joined;
  }
}

function parseForm(createParser: typeof busboy, contentType: string, body: Buffer): Promise<RequestParameter[]> {
  return new Promise((resolve, reject) => {
    const params: RequestParameter[] = [];
    let parser: busboy.Busboy;
    try {
      parser = createParser({ headers: { 'content-type': contentType }, defParamCharset: 'utf8', limits: { fieldSize: body.length + 1 } });
    } catch (err) {
      reject(badRequest(`Invalid form data: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    parser.on('field', (name, value) => params.push({ name, contentType: '', value: Buffer.from(value, 'utf8') }));
    parser.on('file', (name, stream, info) => {
      // Keep the part's place in the form: files finish after fields that follow them.
      const index = params.length;
      params.push({ name, contentType: info.mimeType, value: Buffer.alloc(0) });
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        params[index] = { name, contentType: info.mimeType, value: Buffer.concat(chunks) };
      });
    });
    parser.on('close', () => resolve(params));
    parser.on('error', (err: Error) => reject(badRequest(`Invalid form data: ${err.message}`)));
    parser.end(body);
  });
}
