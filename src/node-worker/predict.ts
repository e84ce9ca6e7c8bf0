// The predict path of the Node worker: decode a batch, call the handler, build the reply, and
// map failures to the codes and messages the Python worker uses (lantern_worker/service.py).
import { STREAM_NEXT_HEADER, type InferReply, type InferenceRequest, type ResponseEntry } from '../protocol/messages.js';
import { prepareBatch, type BatchRow } from './batch-input.js';
import type { HandlerContext } from './handler-context.js';

export const SUCCESS_MESSAGE = 'Prediction success';

type MaybePromise<T> = T | Promise<T>;

/** A handler module resolved to its entry points. */
export interface LoadedHandler {
  readonly handle: (batch: BatchRow[], context: HandlerContext) => MaybePromise<unknown>;
  /** Called instead of handle for a describe request, when the module has one. */
  readonly describe?: (context: HandlerContext) => MaybePromise<unknown>;
  /** Called instead of handle for an explanation request, when the module has one. */
  readonly explain?: (batch: BatchRow[], context: HandlerContext) => MaybePromise<unknown>;
  /** Reads and answers Open Inference (KServe v2) bodies itself: no service envelope is applied. */
  readonly speaksOpenInference?: boolean;
}

/** Fails the whole batch with `code` and `message`. */
export class BatchError extends Error {
  constructor(
    readonly code: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'BatchError';
  }
}

export function errorReply(code: number, message: string, requestIds: readonly string[]): InferReply {
  return {
    code,
    message,
    responses: requestIds.map((requestId) => ({
      requestId,
      contentType: '',
      status: code,
      reason: '',
      headers: [],
      body: Buffer.from('error'),
    })),
  };
}

function isOutOfMemory(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ERR_MEMORY_ALLOCATION_FAILED' || /out of memory|allocation failed/i.test(err.message);
}

/** A handler error → (code, message): `errorCode` on the error chooses the code, as PredictionException does. */
export function mapHandlerError(err: unknown): [number, string] {
  if (err instanceof Error) {
    const code = (err as { errorCode?: unknown }).errorCode;
    if (typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599) return [code, err.message];
  }
  if (isOutOfMemory(err)) return [507, 'Out of resources'];
  return [503, 'Prediction failed'];
}

/** A handler's return value for one request → body bytes: bytes and strings as they are, anything else as JSON. */
export function encodeBody(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value === undefined) return Buffer.from('null');
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<unknown>) : v), 2);
  } catch (err) {
    throw new BatchError(503, 'Unsupported model output data type.', { cause: err });
  }
  if (text === undefined) throw new BatchError(503, 'Unsupported model output data type.');
  return Buffer.from(text, 'utf8');
}

async function callHandler(handler: LoadedHandler, rows: BatchRow[], context: HandlerContext): Promise<unknown> {
  if (context.isDescribe() && handler.describe !== undefined) return [await handler.describe(context)];
  if (context.isExplain() && handler.explain !== undefined) return handler.explain(rows, context);
  return handler.handle(rows, context);
}

function entryOf(context: HandlerContext, idx: number, requestId: string, body: Buffer): ResponseEntry {
  const response = context.responseOf(idx);
  return {
    requestId,
    contentType: response.contentType(),
    status: response.status,
    reason: response.reason,
    headers: [...response.headers],
    body,
  };
}

/**
 * An intermediate (streamed) reply for the current batch: each entry says `ts_stream_next: true`, and
 * the final reply for those requests will say `false` (docs/protocol.md, Streaming).
 */
export function intermediateReply(context: HandlerContext, outputs: readonly unknown[]): InferReply {
  const responses = outputs.map((value, idx) => {
    const entry = entryOf(context, idx, context.getRequestId(idx) as string, encodeBody(value));
    context.responseOf(idx).headers.set(STREAM_NEXT_HEADER, 'false');
    return { ...entry, headers: [...entry.headers.filter(([k]) => k !== STREAM_NEXT_HEADER), [STREAM_NEXT_HEADER, 'true'] as const] };
  });
  return { code: 200, message: SUCCESS_MESSAGE, responses };
}

export interface PredictOptions {
  readonly decodeInput: boolean;
  readonly logError: (line: string) => void;
  readonly nowMs: () => number;
}

/** Runs one batch through the handler; never throws (every failure is a reply). */
export async function predict(handler: LoadedHandler, context: HandlerContext, requests: readonly InferenceRequest[], options: PredictOptions): Promise<InferReply> {
  const batch = prepareBatch(requests, options.decodeInput);
  context.beginBatch(batch.requestIds, batch.headers);
  try {
    const started = options.nowMs();
    let ret: unknown;
    try {
      ret = await callHandler(handler, batch.rows, context);
    } catch (err) {
      options.logError(err instanceof Error ? (err.stack ?? err.message) : String(err));
      const [code, message] = mapHandlerError(err);
      throw new BatchError(code, message);
    }
    const elapsedMs = options.nowMs() - started;
    if (!Array.isArray(ret)) {
      options.logError(`Invalid model predict output: expected an array, got ${ret === null ? 'null' : typeof ret}`);
      throw new BatchError(503, 'Invalid model predict output');
    }
    if (ret.length !== requests.length) {
      options.logError(`number of batch response mismatched: expected ${requests.length}, got ${ret.length}`);
      throw new BatchError(503, 'number of batch response mismatched');
    }
    const entries = ret.map((value: unknown, idx) => entryOf(context, idx, batch.requestIds[idx] as string, encodeBody(value)));
    try {
      context.metrics.addTime('PredictionTime', Math.round(elapsedMs * 100) / 100);
    } catch (err) {
      options.logError(`PredictionTime metric failed: ${String(err)}`);
    }
    return { code: 200, message: SUCCESS_MESSAGE, responses: entries };
  } catch (err) {
    if (!(err instanceof BatchError)) {
      options.logError(err instanceof Error ? (err.stack ?? err.message) : String(err));
      return errorReply(503, 'Prediction failed', batch.requestIds);
    }
    if (err.cause !== undefined) options.logError(`${err.message}: ${String(err.cause)}`);
    return errorReply(err.code, err.message, batch.requestIds);
  }
}
