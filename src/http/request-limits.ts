// Limits node:http does not enforce the way docs/security.md promises (issue 21):
// - its maxHeaderSize counts only the URL and header names and values, so a head of many small
//   headers passes at twice the size; the whole head is counted here instead;
// - its requestTimeout closes a slow body's connection without a word; the edge answers 408 first.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { inflightBytesExceeded, invalidHttpMessage, isServeError, requestTooLarge } from '../errors.js';
import type { BodyAllowance, InflightBudget } from './inflight-budget.js';

/** The two spaces, version and CRLF of `METHOD SP URL SP HTTP/1.1 CRLF`. */
const REQUEST_LINE_OVERHEAD = '  HTTP/1.1\r\n'.length;
/** `name: value CRLF` around each header's name and value. */
const HEADER_LINE_OVERHEAD = ': \r\n'.length;
const HEAD_TERMINATOR = '\r\n'.length;

/**
 * The size of the request head as sent: request line, every header line and the blank line. The
 * optional whitespace around values is not seen by node:http's parser and is counted as one space.
 * The server must keep every header (maxHeadersCount = 0) for the count to be complete.
 */
export function wholeHeadBytes(req: IncomingMessage): number {
  let bytes = (req.method ?? '').length + (req.url ?? '').length + REQUEST_LINE_OVERHEAD + HEAD_TERMINATOR;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i++) bytes += Buffer.byteLength(raw[i] as string, 'latin1');
  return bytes + (raw.length / 2) * HEADER_LINE_OVERHEAD;
}

/** A request whose body has yet to arrive: declared, chunked, or anything node has not finished reading. */
function expectsBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const declared = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0');
}

/**
 * Calls `onTimeout` if the body has not been received within `timeoutMs` of the head, unless the
 * response is already finished. Cleared when the body ends or the response closes.
 */
export function watchBodyDeadline(req: IncomingMessage, res: ServerResponse, timeoutMs: number, onTimeout: () => void): void {
  if (!expectsBody(req)) return;
  const timer = setTimeout(() => {
    if (!req.complete && !res.writableEnded) onTimeout();
  }, timeoutMs);
  const clear = (): void => clearTimeout(timer);
  req.once('end', clear);
  res.once('close', clear);
}

/**
 * The checks made before a request is routed: the whole head within `maxHeadBytes`, a declared
 * body within `maxBodyBytes` (max_request_size) and within what `budget` has left. A refused body
 * is drained unread. Returns the request's allowance, given back when the response closes.
 */
export function admitRequest(
  req: IncomingMessage,
  res: ServerResponse,
  maxHeadBytes: number,
  maxBodyBytes: number | undefined,
  budget: InflightBudget | null,
): BodyAllowance | null {
  // node:http's own limit counts only the URL and header names and values.
  if (wholeHeadBytes(req) > maxHeadBytes) {
    req.resume();
    throw invalidHttpMessage();
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (maxBodyBytes !== undefined && declared > maxBodyBytes) {
    req.resume();
    throw requestTooLarge(maxBodyBytes);
  }
  const allowance = budget?.allowance() ?? null;
  if (allowance === null) return null;
  res.once('close', () => allowance.giveBack());
  if (!allowance.reserve(declared)) {
    req.resume();
    throw inflightBytesExceeded(allowance.limitBytes);
  }
  return allowance;
}

/**
 * An error answered while the client is still sending its body would reach it as a broken pipe
 * (node:http closes the connection after an error), so the rest of the body is read and dropped
 * first; the body deadline bounds the wait. Only a body over max_request_size is answered at once,
 * as TorchServe does: reading it would be the harm the limit exists to prevent.
 */
export function answersBeforeBody(req: IncomingMessage, err: unknown): boolean {
  return req.complete || req.destroyed || (isServeError(err) && err.code === 'REQUEST_TOO_LARGE');
}

/** Runs `answer` once the body has been read and dropped (never if the connection goes first). */
export function afterBody(req: IncomingMessage, answer: () => void): void {
  req.removeAllListeners('data');
  req.once('end', answer);
  req.resume();
}
