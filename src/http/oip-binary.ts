// The Open Inference Protocol's binary tensor data extension (as Triton defines it): a request or
// reply body is a JSON header of `Inference-Header-Content-Length` bytes followed by the tensors'
// bytes, in order, each sized by its `binary_data_size` parameter. The edge turns a binary request
// into the plain JSON a handler (or the kservev2 envelope) reads, and a JSON reply into binary
// outputs when the client asks for them. Pure functions, no I/O.
import { invalidTensorRequest } from '../errors.js';

type Json = Record<string, unknown>;

const FIXED_SIZES: Readonly<Record<string, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function numberToHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0] as number;
  const sign = (bits >> 16) & 0x8000;
  const exponent = ((bits >> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (((bits >> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) return exponent < -10 ? sign : sign | ((mantissa | 0x800000) >> (14 - exponent));
  return sign | (exponent << 10) | (mantissa >> 13);
}

/** A tensor's bytes as the JSON values of its `data` (row-major, flat). */
export function decodeTensor(datatype: string, bytes: Buffer, what: string): unknown[] {
  if (datatype === 'BYTES') {
    const out: string[] = [];
    for (let at = 0; at < bytes.length; ) {
      if (at + 4 > bytes.length) throw invalidTensorRequest(`${what}: BYTES element length cut short`);
      const length = bytes.readUInt32LE(at);
      if (at + 4 + length > bytes.length) throw invalidTensorRequest(`${what}: BYTES element longer than its data`);
      out.push(bytes.toString('utf8', at + 4, at + 4 + length));
      at += 4 + length;
    }
    return out;
  }
  const size = FIXED_SIZES[datatype];
  if (size === undefined) throw invalidTensorRequest(`${what}: unsupported datatype ${JSON.stringify(datatype)}`);
  if (bytes.length % size !== 0) throw invalidTensorRequest(`${what}: ${bytes.length} bytes is not a whole number of ${datatype} elements`);
  const out: unknown[] = new Array<unknown>(bytes.length / size);
  for (let i = 0; i < out.length; i++) {
    const at = i * size;
    switch (datatype) {
      case 'BOOL': out[i] = bytes[at] !== 0; break;
      case 'UINT8': out[i] = bytes.readUInt8(at); break;
      case 'INT8': out[i] = bytes.readInt8(at); break;
      case 'UINT16': out[i] = bytes.readUInt16LE(at); break;
      case 'INT16': out[i] = bytes.readInt16LE(at); break;
      case 'FP16': out[i] = halfToNumber(bytes.readUInt16LE(at)); break;
      case 'UINT32': out[i] = bytes.readUInt32LE(at); break;
      case 'INT32': out[i] = bytes.readInt32LE(at); break;
      case 'FP32': out[i] = bytes.readFloatLE(at); break;
      case 'UINT64': out[i] = Number(bytes.readBigUInt64LE(at)); break;
      case 'INT64': out[i] = Number(bytes.readBigInt64LE(at)); break;
      default: out[i] = bytes.readDoubleLE(at);
    }
  }
  return out;
}

const flat = (value: unknown): unknown[] => (Array.isArray(value) ? value.flatMap(flat) : [value]);

/** JSON values of a tensor as its bytes. */
export function encodeTensor(datatype: string, data: unknown): Buffer {
  const values = flat(data);
  if (datatype === 'BYTES') {
    return Buffer.concat(
      values.flatMap((v) => {
        const bytes = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32LE(bytes.length);
        return [length, bytes];
      }),
    );
  }
  const size = FIXED_SIZES[datatype];
  if (size === undefined) throw new TypeError(`no binary form for datatype ${datatype}`);
  const out = Buffer.alloc(values.length * size);
  values.forEach((raw, i) => {
    const v = typeof raw === 'boolean' ? Number(raw) : Number(raw);
    const at = i * size;
    switch (datatype) {
      case 'BOOL': out.writeUInt8(v ? 1 : 0, at); break;
      case 'UINT8': out.writeUInt8(v, at); break;
      case 'INT8': out.writeInt8(v, at); break;
      case 'UINT16': out.writeUInt16LE(v, at); break;
      case 'INT16': out.writeInt16LE(v, at); break;
      case 'FP16': out.writeUInt16LE(numberToHalf(v), at); break;
      case 'UINT32': out.writeUInt32LE(v, at); break;
      case 'INT32': out.writeInt32LE(v, at); break;
      case 'FP32': out.writeFloatLE(v, at); break;
      case 'UINT64': out.writeBigUInt64LE(BigInt(Math.trunc(v)), at); break;
      case 'INT64': out.writeBigInt64LE(BigInt(Math.trunc(v)), at); break;
      default: out.writeDoubleLE(v, at);
    }
  });
  return out;
}

const record = (value: unknown): Json | null => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null);

function parseHeader(text: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidTensorRequest('The inference header is not JSON');
  }
  const header = record(parsed);
  if (header === null) throw invalidTensorRequest('The inference header must be a JSON object');
  return header;
}

/** A binary request (JSON header of `headerBytes`, then tensor bytes) as the equivalent JSON request. */
export function binaryRequestToJson(body: Buffer, headerBytes: number): Json {
  if (!Number.isInteger(headerBytes) || headerBytes < 0 || headerBytes > body.length) {
    throw invalidTensorRequest(`Inference-Header-Content-Length ${headerBytes} does not fit the body of ${body.length} bytes`);
  }
  const header = parseHeader(body.toString('utf8', 0, headerBytes));
  let at = headerBytes;
  const inputs = Array.isArray(header.inputs) ? header.inputs : [];
  for (const raw of inputs) {
    const input = record(raw);
    const parameters = record(input?.parameters);
    if (input === null || parameters === null || !('binary_data_size' in parameters)) continue;
    const what = `input ${JSON.stringify(input.name)}`;
    const size = parameters.binary_data_size;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || at + size > body.length) {
      throw invalidTensorRequest(`${what}: binary_data_size ${JSON.stringify(size)} does not fit the body`);
    }
    input.data = decodeTensor(String(input.datatype), body.subarray(at, at + size), what);
    at += size;
    delete parameters.binary_data_size;
    if (Object.keys(parameters).length === 0) delete input.parameters;
  }
  if (at !== body.length) throw invalidTensorRequest(`${body.length - at} bytes after the last binary input`);
  return header;
}

/** Which outputs the client wants as binary data: by name, and the default for the others. */
export interface BinaryOutputs {
  readonly all: boolean;
  readonly byName: ReadonlyMap<string, boolean>;
}

export function binaryOutputsOf(request: Json): BinaryOutputs {
  const all = record(request.parameters)?.binary_data_output === true;
  const byName = new Map<string, boolean>();
  for (const raw of Array.isArray(request.outputs) ? request.outputs : []) {
    const output = record(raw);
    const wanted = record(output?.parameters)?.binary_data;
    if (typeof output?.name === 'string' && typeof wanted === 'boolean') byName.set(output.name, wanted);
  }
  return { all, byName };
}

export const wantsBinary = (b: BinaryOutputs): boolean => b.all || [...b.byName.values()].some(Boolean);

/** A JSON reply with the wanted outputs moved to binary data: [body, header length]. */
export function jsonReplyToBinary(reply: Json, wanted: BinaryOutputs): [Buffer, number] {
  const tensors: Buffer[] = [];
  for (const raw of Array.isArray(reply.outputs) ? reply.outputs : []) {
    const output = record(raw);
    if (output === null || !('data' in output)) continue;
    const name = String(output.name);
    if (!(wanted.byName.get(name) ?? wanted.all)) continue;
    const bytes = encodeTensor(String(output.datatype), output.data);
    delete output.data;
    output.parameters = { ...(record(output.parameters) ?? {}), binary_data_size: bytes.length };
    tensors.push(bytes);
  }
  const header = Buffer.from(JSON.stringify(reply), 'utf8');
  return [Buffer.concat([header, ...tensors]), header.length];
}
