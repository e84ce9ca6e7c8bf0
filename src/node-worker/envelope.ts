// Request envelopes for Node handlers (`service_envelope`, spec §2.5): the same reshaping the Python
// worker's lantern_worker/envelope.py does, so a TS/JS handler receives the unwrapped inputs.
// kserve and kservev2 take one request per pass (the caller splits a batch); body and json a batch.
import type { BatchRow } from './batch-input.js';
import type { HandlerContext } from './handler-context.js';
import type { LoadedHandler } from './predict.js';

export type EnvelopeName = 'body' | 'json' | 'kserve' | 'kservev2';

/** True when the envelope reads one request per pass. */
export const perRequest = (name: EnvelopeName): boolean => name === 'kserve' || name === 'kservev2';

export function isEnvelopeName(name: string): name is EnvelopeName {
  return name === 'body' || name === 'json' || name === 'kserve' || name === 'kservev2';
}

const payloadOf = (row: BatchRow): unknown => row.data || row.body;

function parsedPayload(row: BatchRow): Record<string, unknown> {
  let value = payloadOf(row);
  if (Buffer.isBuffer(value)) value = JSON.parse(value.toString('utf8')) as unknown;
  if (typeof value !== 'object' || value === null) throw new TypeError('The request body is not a JSON object');
  return value as Record<string, unknown>;
}

/** Every value of a nested array, in order, and whether it was an array at all. */
function flatten(value: unknown): unknown[] {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v));
  if (!Array.isArray(value)) return [value];
  return value.flatMap((v) => flatten(v));
}

function reshape(values: readonly unknown[], shape: readonly number[]): unknown {
  const [head, ...rest] = shape;
  if (head === undefined) return values[0];
  const size = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: head }, (_, i) => reshape(values.slice(i * size, (i + 1) * size), rest));
}

const TYPED_DATATYPES: ReadonlyArray<[new (...args: never[]) => unknown, string]> = [
  [Float32Array, 'FP32'],
  [Float64Array, 'FP64'],
  [Int8Array, 'INT8'],
  [Int16Array, 'INT16'],
  [Int32Array, 'INT32'],
  [BigInt64Array, 'INT64'],
  [Uint8Array, 'UINT8'],
  [Uint16Array, 'UINT16'],
  [Uint32Array, 'UINT32'],
  [BigUint64Array, 'UINT64'],
];

/** The Open Inference datatype of a handler's output: a typed array's own, else inferred from its values. */
export function datatypeOf(value: unknown, flat: readonly unknown[]): string {
  for (const [type, name] of TYPED_DATATYPES) if (value instanceof type) return name;
  if (flat.length > 0 && flat.every((v) => typeof v === 'boolean')) return 'BOOL';
  if (flat.length > 0 && flat.every((v) => typeof v === 'number' || typeof v === 'boolean')) {
    return flat.every((v) => typeof v === 'boolean' || Number.isInteger(v)) ? 'INT64' : 'FP64';
  }
  return flat.length === 0 ? 'FP64' : 'BYTES';
}

interface Pass {
  readonly rows: unknown[];
  readonly format: (outputs: unknown[]) => unknown[];
}

function v1Pass(rows: BatchRow[], context: HandlerContext): Pass {
  const instances = parsedPayload(rows[0] as BatchRow).instances;
  const key = context.isExplain(0) ? 'explanations' : 'predictions';
  return { rows: instances as unknown[], format: (outputs) => [{ [key]: outputs }] };
}

function v2Pass(rows: BatchRow[], context: HandlerContext): Pass {
  const body = parsedPayload(rows[0] as BatchRow);
  if (!Array.isArray(body.inputs)) throw new TypeError('"inputs" must be a list');
  const inputs = body.inputs as Array<Record<string, unknown>>;
  const names = inputs.map((tensor) => {
    if (tensor.datatype === 'BYTES') tensor.data = (tensor.data as unknown[])[0];
    else {
      const shape = tensor.shape as number[];
      const values = flatten(tensor.data);
      if (values.length !== shape.reduce((a, b) => a * b, 1)) throw new RangeError(`cannot reshape ${values.length} values into shape ${JSON.stringify(shape)}`);
      tensor.data = reshape(values, shape);
    }
    return tensor.name as string;
  });
  const id = typeof body.id === 'string' && body.id.trim() !== '' ? body.id : context.getRequestId(0);
  const model = (context.manifest as { model?: { modelName?: unknown; modelVersion?: unknown } } | null)?.model;
  return {
    rows: inputs,
    format: (outputs) => [
      {
        id,
        model_name: model?.modelName ?? null,
        model_version: model?.modelVersion ?? null,
        outputs: outputs.map((item, i) => {
          if (i >= names.length) throw new RangeError(`output ${i} has no input to be named after`);
          const data = flatten(item);
          return { name: names[i], datatype: datatypeOf(item, data), data, shape: [data.length] };
        }),
      },
    ],
  };
}

function jsonPass(rows: BatchRow[]): Pass {
  const batches = rows.map((row) => {
    const instances = ((row.data || row.body || row) as Record<string, unknown>).instances as unknown[];
    return instances.map((item) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
      const record = item as Record<string, unknown>;
      const b64 = (v: unknown): unknown => {
        const keys = typeof v === 'object' && v !== null ? Object.keys(v) : [];
        return keys.length === 1 && keys[0] === 'b64' ? Buffer.from(String((v as { b64: unknown }).b64), 'base64') : v;
      };
      if (Object.keys(record).length === 1 && 'b64' in record) return b64(record);
      return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, b64(v)]));
    });
  });
  return {
    rows: batches.flat(),
    format: (outputs) => {
      let cursor = 0;
      return batches.map((b) => {
        const part = outputs.slice(cursor, cursor + b.length);
        cursor += b.length;
        return JSON.stringify({ predictions: part });
      });
    },
  };
}

function passOf(name: EnvelopeName, rows: BatchRow[], context: HandlerContext): Pass {
  switch (name) {
    case 'body':
      return { rows: rows.map(payloadOf), format: (outputs) => outputs };
    case 'json':
      return jsonPass(rows);
    case 'kserve':
      return v1Pass(rows, context);
    case 'kservev2':
      return v2Pass(rows, context);
  }
}

/** `handler` seen through envelope `name`: inputs unwrapped before it runs, its outputs wrapped after. */
export function withEnvelope(name: EnvelopeName, handler: LoadedHandler): LoadedHandler {
  const run =
    (fn: (batch: BatchRow[], context: HandlerContext) => unknown) =>
    async (rows: BatchRow[], context: HandlerContext): Promise<unknown> => {
      const pass = passOf(name, rows, context);
      const outputs = await fn(pass.rows as BatchRow[], context);
      return Array.isArray(outputs) && outputs.length > 0 ? pass.format(outputs) : outputs;
    };
  return {
    handle: run(handler.handle),
    ...(handler.describe !== undefined ? { describe: handler.describe } : {}),
    ...(handler.explain !== undefined ? { explain: run(handler.explain) } : {}),
  };
}
