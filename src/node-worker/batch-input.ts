// What a Node handler receives for one batch: one row per request, shaped and decoded like the
// Python worker's `data` rows (workers/python/lantern_worker/service.py, prepare_batch).
import type { InferenceRequest, RequestParameter } from '../protocol/messages.js';

/** A decoded parameter value: parsed JSON, a string (text/*), or the raw bytes. */
export type InputValue = unknown;

/** One request: `{ body: … }` for a plain body, or one key per form field. */
export type BatchRow = Record<string, InputValue>;

/** Request headers plus, per parameter name, `{ 'content-type': … }` (as the Python worker does). */
export type RequestHeaders = Record<string, string | { 'content-type': string }>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** TS_DECODE_INPUT_REQUEST: anything but `false` (case-insensitive, trimmed) decodes. */
export function decodeInputEnabled(value: string | undefined): boolean {
  return (value ?? 'true').trim().toLowerCase() !== 'false';
}

/** One parameter value as the handler sees it; bytes that do not decode stay bytes. */
export function decodeValue(contentType: string, value: Buffer, decode: boolean): InputValue {
  if (decode && contentType === 'application/json') {
    try {
      return JSON.parse(utf8.decode(value)) as unknown;
    } catch {
      return value;
    }
  }
  if (decode && contentType.startsWith('text')) {
    try {
      return utf8.decode(value);
    } catch {
      return value;
    }
  }
  return value;
}

export interface PreparedBatch {
  readonly rows: BatchRow[];
  readonly requestIds: string[];
  readonly headers: RequestHeaders[];
}

function rowOf(parameters: readonly RequestParameter[], decode: boolean): BatchRow {
  const row: BatchRow = {};
  for (const p of parameters) row[p.name] = decodeValue(p.contentType, p.value, decode);
  return row;
}

export function prepareBatch(requests: readonly InferenceRequest[], decode: boolean): PreparedBatch {
  return {
    rows: requests.map((r) => rowOf(r.parameters, decode)),
    requestIds: requests.map((r) => r.requestId),
    headers: requests.map((r) => {
      const headers: RequestHeaders = Object.fromEntries(r.headers);
      for (const p of r.parameters) headers[p.name] = { 'content-type': p.contentType };
      return headers;
    }),
  };
}
