// Writing responses the way TorchServe does (spec §0.3): pretty JSON with a trailing newline,
// no-cache headers, a fresh x-request-id, CORS headers when configured, and the connection
// closed after an error.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { asServeError, describeFailure, type ServeError } from '../errors.js';

export interface CorsSettings {
  readonly allowedOrigin: string | null;
  readonly allowedMethods: string | null;
  readonly allowedHeaders: string | null;
}

export interface ResponseContext {
  readonly requestId: string;
  readonly cors: CorsSettings;
  readonly logError: (message: string, cause: unknown) => void;
  /** Receives each error answered, with its stable code, for the server log. */
  readonly logFailure?: (line: string, error: ServeError) => void;
}

/** Gson-like pretty JSON: 2-space indent, then a newline. */
export function prettyJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function setCommonHeaders(res: ServerResponse, ctx: ResponseContext, status: number): void {
  res.setHeader('x-request-id', ctx.requestId);
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Cache-Control', 'no-cache; no-store, must-revalidate, private');
  res.setHeader('Expires', 'Thu, 01 Jan 1970 00:00:00 UTC');
  const { allowedOrigin, allowedMethods, allowedHeaders } = ctx.cors;
  if (allowedOrigin && !res.hasHeader('Access-Control-Allow-Origin')) res.setHeader('Access-Control-Allow-Origin', allowedOrigin);
  if (allowedMethods && !res.hasHeader('Access-Control-Allow-Methods')) res.setHeader('Access-Control-Allow-Methods', allowedMethods);
  if (allowedHeaders && !res.hasHeader('Access-Control-Allow-Headers')) res.setHeader('Access-Control-Allow-Headers', allowedHeaders);
  res.setHeader('connection', status < 400 ? 'keep-alive' : 'close');
  if (status >= 400) res.shouldKeepAlive = false;
}

export function sendBytes(
  res: ServerResponse,
  ctx: ResponseContext,
  status: number,
  body: Buffer | string,
  contentType: string | null,
  reason?: string,
): void {
  if (res.headersSent || res.destroyed) return;
  setCommonHeaders(res, ctx, status);
  if (contentType !== null) res.setHeader('content-type', contentType);
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.setHeader('content-length', bytes.length);
  if (reason) res.statusMessage = reason;
  res.statusCode = status;
  res.end(bytes);
}

export function sendJson(res: ServerResponse, ctx: ResponseContext, status: number, value: unknown): void {
  sendBytes(res, ctx, status, prettyJson(value), 'application/json');
}

export function sendStatus(res: ServerResponse, ctx: ResponseContext, status: number, message: string): void {
  sendJson(res, ctx, status, { status: message });
}

export function errorBody(error: ServeError): { code: number; type: string; message: string } {
  return { code: error.status, type: error.type, message: error.message };
}

/** The one place where thrown values become HTTP errors; anything unexpected is a logged 500. */
export function toServeError(err: unknown, ctx: ResponseContext): ServeError {
  return asServeError(err, ctx.logError);
}

/** An error in the Open Inference Protocol's shape, `{"error": <message>}`, logged as sendError logs. */
export function sendOipError(res: ServerResponse, ctx: ResponseContext, err: unknown): void {
  const error = toServeError(err, ctx);
  logFailure(res, ctx, error);
  sendJson(res, ctx, error.status, { error: error.message });
}

function logFailure(res: ServerResponse, ctx: ResponseContext, error: ServeError): void {
  if (ctx.logFailure !== undefined) {
    // The path without its query: a query may carry a signed URL.
    const path = (res.req?.url ?? '').split('?')[0] ?? '';
    ctx.logFailure(`${res.req?.method ?? '-'} ${path}: ${describeFailure(error)}`, error);
  }
}

export function sendError(res: ServerResponse, ctx: ResponseContext, err: unknown): void {
  const error = toServeError(err, ctx);
  logFailure(res, ctx, error);
  sendJson(res, ctx, error.status, errorBody(error));
}

/** An error written straight to a socket that node:http has no response object for (a head it could not parse). */
export function writeRawError(socket: Socket, error: ServeError): void {
  const body = Buffer.from(prettyJson(errorBody(error)), 'utf8');
  const head = [
    `HTTP/1.1 ${error.status} ${error.status === 408 ? 'Request Timeout' : 'Bad Request'}`,
    `x-request-id: ${randomUUID()}`,
    'content-type: application/json',
    `content-length: ${body.length}`,
    'connection: close',
  ].join('\r\n');
  socket.end(Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body]));
}
