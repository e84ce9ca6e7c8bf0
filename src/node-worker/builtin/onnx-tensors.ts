// Request bodies ⇄ tensors for the built-in ONNX handler. Pure: no ONNX Runtime here, so the
// parsing, validation, concatenation and splitting rules are testable on their own.

/** ONNX Runtime's tensor element types the handler accepts. */
export type ElementType = 'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool' | 'string';

export type TensorData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[];

/** What the model declares for one input: dims are numbers, or strings/negatives for free axes. */
export interface InputSpec {
  readonly name: string;
  readonly type: ElementType;
  readonly shape: ReadonlyArray<number | string>;
}

export interface HostTensor {
  readonly type: ElementType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** A bad request: answered with 400 and this message. */
export class TensorInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TensorInputError';
  }
}

const V2_TYPES: Readonly<Record<ElementType, string>> = {
  float32: 'FP32',
  float64: 'FP64',
  int8: 'INT8',
  uint8: 'UINT8',
  int16: 'INT16',
  uint16: 'UINT16',
  int32: 'INT32',
  uint32: 'UINT32',
  int64: 'INT64',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

export const v2Datatype = (type: ElementType): string => V2_TYPES[type];
export const isElementType = (t: string): t is ElementType => Object.hasOwn(V2_TYPES, t);

const dimText = (d: number | string): string => (typeof d === 'number' && d >= 0 ? String(d) : typeof d === 'string' && d !== '' ? d : 'N');
export const shapeText = (shape: ReadonlyArray<number | string>): string => `[${shape.map(dimText).join(', ')}]`;
export const describeInput = (s: InputSpec): string => `"${s.name}" (${s.type}, shape ${shapeText(s.shape)})`;

const INT_RANGES: Partial<Record<ElementType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/** Flat JSON values → typed data of `type`; throws TensorInputError naming `what` on a bad value. */
export function toTensorData(values: readonly unknown[], type: ElementType, what: string): TensorData {
  const bad = (v: unknown): never => {
    throw new TensorInputError(`${what}: ${JSON.stringify(v) ?? String(v)} is not a valid ${type} value`);
  };
  switch (type) {
    case 'string':
      return values.map((v) => (typeof v === 'string' ? v : bad(v)));
    case 'bool':
      return Uint8Array.from(values, (v) => (typeof v === 'boolean' ? Number(v) : v === 0 || v === 1 ? v : bad(v)));
    case 'float32':
    case 'float64': {
      const nums = values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : bad(v)));
      return type === 'float32' ? Float32Array.from(nums) : Float64Array.from(nums);
    }
    case 'int64':
    case 'uint64': {
      const big = values.map((v) => (typeof v === 'number' && Number.isSafeInteger(v) && (type === 'int64' || v >= 0) ? BigInt(v) : bad(v)));
      return type === 'int64' ? BigInt64Array.from(big) : BigUint64Array.from(big);
    }
    default: {
      const [min, max] = INT_RANGES[type] as [number, number];
      const ints = values.map((v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : bad(v)));
      const Ctor = { int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array }[type];
      return Ctor.from(ints);
    }
  }
}

/** Shape and flat values of a rectangular nested array; null when it is ragged or not an array. */
export function flattenNested(value: unknown): { dims: number[]; values: unknown[] } | null {
  const dims: number[] = [];
  for (let v: unknown = value; Array.isArray(v); v = v[0]) {
    dims.push(v.length);
    if (v.length === 0) break;
  }
  if (dims.length === 0) return null;
  const values: unknown[] = [];
  const walk = (v: unknown, depth: number): boolean => {
    if (depth === dims.length) {
      if (Array.isArray(v)) return false;
      values.push(v);
      return true;
    }
    if (!Array.isArray(v) || v.length !== dims[depth]) return false;
    return v.every((item) => walk(item, depth + 1));
  };
  return walk(value, 0) ? { dims, values } : null;
}

/** Checks dims against the declared shape (free axes match anything). */
export function checkShape(spec: InputSpec, dims: readonly number[], form: string): void {
  const mismatch = (): never => {
    throw new TensorInputError(`Input ${describeInput(spec)} got ${form} of shape ${shapeText(dims)}`);
  };
  if (spec.shape.length > 0 && spec.shape.length !== dims.length) mismatch();
  spec.shape.forEach((d, i) => {
    if (typeof d === 'number' && d >= 0 && dims[i] !== d) mismatch();
  });
  if (dims.length === 0 || dims[0] === 0) throw new TensorInputError(`Input ${describeInput(spec)} got no samples (shape ${shapeText(dims)})`);
}

export interface ParsedRequest {
  readonly form: 'array' | 'v2';
  readonly tensors: ReadonlyMap<string, HostTensor>;
  /** Size of the first axis, the same for every input. */
  readonly samples: number;
  /** v2 only: the request id and the outputs asked for (all when empty). */
  readonly id?: string;
  readonly outputs: readonly string[];
}

/**
 * The fast path for float inputs (images, features): shape and values in one pass, written straight
 * into the typed array. Null when anything is off; the general path then finds and names the problem.
 */
export function floatTensorOf(value: unknown, type: 'float32' | 'float64'): { dims: number[]; data: Float32Array | Float64Array } | null {
  const dims: number[] = [];
  for (let v: unknown = value; Array.isArray(v); v = v[0]) {
    if (v.length === 0) return null;
    dims.push(v.length);
  }
  if (dims.length === 0) return null;
  const data = new (type === 'float32' ? Float32Array : Float64Array)(dims.reduce((a, b) => a * b, 1));
  const last = dims.length - 1;
  let k = 0;
  const fill = (v: unknown, depth: number): boolean => {
    if (!Array.isArray(v) || v.length !== dims[depth]) return false;
    if (depth === last) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (typeof x !== 'number' || !Number.isFinite(x)) return false;
        data[k++] = x;
      }
      return true;
    }
    for (let i = 0; i < v.length; i++) if (!fill(v[i], depth + 1)) return false;
    return true;
  };
  return fill(value, 0) ? { dims, data } : null;
}

function parseArrayForm(value: unknown, inputs: readonly InputSpec[]): ParsedRequest {
  const [spec, ...others] = inputs;
  if (spec === undefined) throw new TensorInputError('The model has no inputs');
  if (others.length > 0) {
    throw new TensorInputError(
      `The model has ${inputs.length} inputs (${inputs.map(describeInput).join(', ')}); send a KServe v2 body {"inputs": [{"name", "shape", "datatype", "data"}, ...]}`,
    );
  }
  const fast = spec.type === 'float32' || spec.type === 'float64' ? floatTensorOf(value, spec.type) : null;
  if (fast !== null) {
    checkShape(spec, fast.dims, 'an array');
    return { form: 'array', tensors: new Map([[spec.name, { type: spec.type, dims: fast.dims, data: fast.data }]]), samples: fast.dims[0] as number, outputs: [] };
  }
  const flat = flattenNested(value);
  if (flat === null) {
    throw new TensorInputError(`Expected a JSON nested array (first axis: samples) for input ${describeInput(spec)}, or a KServe v2 body {"inputs": [...]}`);
  }
  checkShape(spec, flat.dims, 'an array');
  const tensor = { type: spec.type, dims: flat.dims, data: toTensorData(flat.values, spec.type, `Input "${spec.name}"`) };
  return { form: 'array', tensors: new Map([[spec.name, tensor]]), samples: flat.dims[0] as number, outputs: [] };
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TensorInputError(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

function parseV2Input(raw: unknown, byName: ReadonlyMap<string, InputSpec>, inputs: readonly InputSpec[]): [InputSpec, HostTensor] {
  const entry = record(raw, 'Each entry of "inputs"');
  const name = entry.name;
  const spec = typeof name === 'string' ? byName.get(name) : undefined;
  if (spec === undefined) throw new TensorInputError(`Unknown input ${JSON.stringify(name)}; the model's inputs are ${inputs.map(describeInput).join(', ')}`);
  const expected = v2Datatype(spec.type);
  if (entry.datatype !== expected) throw new TensorInputError(`Input ${describeInput(spec)} expects datatype ${expected}, got ${JSON.stringify(entry.datatype)}`);
  const shape = entry.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new TensorInputError(`Input ${describeInput(spec)} needs "shape", a list of non-negative integers`);
  }
  const dims = shape as number[];
  const values = Array.isArray(entry.data) ? (entry.data as unknown[]).flat(Infinity) : null;
  const size = dims.reduce((a, b) => a * b, 1);
  if (values === null || values.length !== size) {
    throw new TensorInputError(`Input ${describeInput(spec)}: "data" must hold ${size} values for shape ${shapeText(dims)}, got ${values === null ? 'no list' : values.length}`);
  }
  checkShape(spec, dims, 'a tensor');
  return [spec, { type: spec.type, dims, data: toTensorData(values, spec.type, `Input "${spec.name}"`) }];
}

function parseV2Form(body: Record<string, unknown>, inputs: readonly InputSpec[], outputNames: readonly string[]): ParsedRequest {
  if (!Array.isArray(body.inputs)) throw new TensorInputError('"inputs" must be a list');
  const byName = new Map(inputs.map((s) => [s.name, s]));
  const tensors = new Map<string, HostTensor>();
  for (const raw of body.inputs as unknown[]) {
    const [spec, tensor] = parseV2Input(raw, byName, inputs);
    if (tensors.has(spec.name)) throw new TensorInputError(`Input "${spec.name}" is given twice`);
    tensors.set(spec.name, tensor);
  }
  const missing = inputs.filter((s) => !tensors.has(s.name));
  if (missing.length > 0) throw new TensorInputError(`Missing input ${missing.map(describeInput).join(', ')}`);
  const firstAxes = new Set([...tensors.values()].map((t) => t.dims[0]));
  if (firstAxes.size !== 1) throw new TensorInputError('All inputs must have the same first axis (samples)');
  const outputs = Array.isArray(body.outputs) ? (body.outputs as unknown[]).map((o) => record(o, 'Each entry of "outputs"').name) : [];
  for (const o of outputs) {
    if (typeof o !== 'string' || !outputNames.includes(o)) throw new TensorInputError(`Unknown output ${JSON.stringify(o)}; the model's outputs are ${outputNames.join(', ')}`);
  }
  const id = typeof body.id === 'string' ? body.id : undefined;
  return { form: 'v2', tensors, samples: [...firstAxes][0] as number, outputs: outputs as string[], ...(id !== undefined ? { id } : {}) };
}

const ELEMENT_BYTES: Partial<Record<ElementType, number>> = { float32: 4, float64: 8, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8 };
const TYPED: Partial<Record<ElementType, new (n: number) => Exclude<TensorData, string[]>>> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
};

/**
 * A body of raw tensor bytes (`Content-Type: application/octet-stream`): the samples of a model's
 * only input, little-endian, row-major, every axis but the first fixed by the model. Nothing to
 * parse: the bytes are copied once into the tensor.
 */
export function parseRawBytes(bytes: Uint8Array, inputs: readonly InputSpec[]): ParsedRequest {
  const [spec, ...others] = inputs;
  if (spec === undefined) throw new TensorInputError('The model has no inputs');
  const elementBytes = ELEMENT_BYTES[spec.type];
  const Ctor = TYPED[spec.type];
  const rest = spec.shape.slice(1);
  if (others.length > 0 || elementBytes === undefined || Ctor === undefined || spec.shape.length === 0 || !rest.every((d) => typeof d === 'number' && d > 0)) {
    throw new TensorInputError(
      `Raw tensor bytes need a model with one numeric input whose axes after the first are fixed; send JSON for ${inputs.map(describeInput).join(', ')}`,
    );
  }
  const sampleBytes = (rest as number[]).reduce((a, b) => a * b, elementBytes);
  if (bytes.length === 0 || bytes.length % sampleBytes !== 0) {
    throw new TensorInputError(`Input ${describeInput(spec)} takes raw bytes in multiples of ${sampleBytes} (one ${spec.type} sample), got ${bytes.length}`);
  }
  const data = new Ctor(bytes.length / elementBytes);
  new Uint8Array(data.buffer).set(bytes);
  const dims = [bytes.length / sampleBytes, ...(rest as number[])];
  checkShape(spec, dims, 'raw bytes');
  return { form: 'array', tensors: new Map([[spec.name, { type: spec.type, dims, data }]]), samples: dims[0] as number, outputs: [] };
}

/** One request body (already JSON-parsed) → its tensors. */
export function parseRequest(value: unknown, inputs: readonly InputSpec[], outputNames: readonly string[]): ParsedRequest {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'inputs' in value) {
    return parseV2Form(value as Record<string, unknown>, inputs, outputNames);
  }
  return parseArrayForm(value, inputs);
}

/** Joins tensors of the same type and trailing dims along the first axis. */
export function concatFirstAxis(parts: readonly HostTensor[]): HostTensor {
  const [first] = parts;
  if (first === undefined) throw new RangeError('Nothing to concatenate');
  if (parts.length === 1) return first;
  const dims = [parts.reduce((n, p) => n + (p.dims[0] as number), 0), ...first.dims.slice(1)];
  if (Array.isArray(first.data)) return { type: first.type, dims, data: parts.flatMap((p) => p.data as string[]) };
  const Ctor = first.data.constructor as new (n: number) => Exclude<TensorData, string[]>;
  const out = new Ctor(parts.reduce((n, p) => n + p.data.length, 0));
  let offset = 0;
  for (const p of parts) {
    (out as { set(a: ArrayLike<number | bigint>, o: number): void }).set(p.data as ArrayLike<number | bigint>, offset);
    offset += p.data.length;
  }
  return { type: first.type, dims, data: out };
}

/** Cuts a tensor into consecutive pieces of `counts` samples along the first axis. */
export function splitFirstAxis(tensor: HostTensor, counts: readonly number[]): HostTensor[] {
  const rest = tensor.dims.slice(1);
  const per = rest.reduce((a, b) => a * b, 1);
  let start = 0;
  return counts.map((n) => {
    const data = tensor.data.slice(start * per, (start + n) * per) as TensorData;
    start += n;
    return { type: tensor.type, dims: [n, ...rest], data };
  });
}

/** A JSON-safe value: int64 beyond 2^53 becomes a decimal string. */
function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  return v;
}

export function flatValues(t: HostTensor): unknown[] {
  if (t.type === 'bool') return Array.from(t.data as Uint8Array, (b) => b !== 0);
  return Array.from(t.data as ArrayLike<unknown>, jsonValue);
}

/** The tensor as nested arrays following its dims. */
export function toNested(t: HostTensor): unknown {
  const values = flatValues(t);
  if (t.dims.length === 0) return values[0];
  const build = (depth: number, offset: number): unknown[] => {
    const n = t.dims[depth] as number;
    const stride = t.dims.slice(depth + 1).reduce((a, b) => a * b, 1);
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(depth === t.dims.length - 1 ? values[offset + i] : build(depth + 1, offset + i * stride));
    return out;
  };
  return build(0, 0);
}
