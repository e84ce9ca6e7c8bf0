// Encoding and decoding of worker frames: a uint32 length prefix around TorchServe's OTF
// message layout (docs/protocol.md). Pure: no I/O.
import type {
  HeaderList,
  InferReply,
  InferenceRequest,
  LoadMessage,
  LoadReply,
  RequestParameter,
  ResponseEntry,
} from './messages.js';

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const END = -1;
/** Strings up to this many characters are tried as ASCII first (FrameWriter.str). */
const SHORT_STRING = 128;
const CMD_LOAD = 0x4c;
const CMD_INFER = 0x49;

/**
 * Writes one frame, length prefix first, straight into a single buffer that grows by doubling:
 * no per-field allocations and no concatenation at the end. Callers pass a size hint (the bodies
 * they carry) so that a frame is normally written without growing.
 */
class FrameWriter {
  private buf: Buffer;
  private offset = 4;
  /** Pieces before `buf` when bodies are referenced rather than copied (see reference()). */
  private readonly pieces: Buffer[] = [];
  private piecesBytes = 0;

  constructor(sizeHint = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(64, sizeHint + 4));
  }

  byte(value: number): this {
    this.ensure(1);
    this.buf[this.offset++] = value;
    return this;
  }

  int(value: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(value, this.offset);
    this.offset += 4;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.int(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.offset);
    this.offset += value.length;
    return this;
  }

  /** Like bytes() for the concatenation of `parts`, but the frame refers to them instead of copying. */
  reference(parts: readonly Buffer[], length: number): this {
    this.int(length);
    const head = this.buf.subarray(0, this.offset);
    this.pieces.push(head, ...parts);
    this.piecesBytes += head.length + length;
    this.buf = Buffer.allocUnsafe(256);
    this.offset = 0;
    return this;
  }

  str(value: string): this {
    // Most fields are short ASCII (ids, header names and values): copied here, they cost less
    // than the two native calls (byteLength, write) that UTF-8 needs.
    if (value.length <= SHORT_STRING) {
      this.ensure(4 + value.length);
      const start = this.offset + 4;
      const buf = this.buf;
      let i = 0;
      for (; i < value.length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) break;
        buf[start + i] = code;
      }
      if (i === value.length) {
        buf.writeInt32BE(i, this.offset);
        this.offset = start + i;
        return this;
      }
    }
    const length = Buffer.byteLength(value, 'utf8');
    this.int(length);
    this.ensure(length);
    this.offset += this.buf.write(value, this.offset, length, 'utf8');
    return this;
  }

  bool(value: boolean): this {
    return this.byte(value ? 1 : 0);
  }

  headers(headers: HeaderList): this {
    for (const [name, value] of headers) this.str(name).str(value);
    return this;
  }

  finish(): Buffer {
    this.buf.writeUInt32BE(this.offset - 4, 0);
    return this.buf.subarray(0, this.offset);
  }

  /** The frame as the pieces to write one after the other. */
  finishPieces(): Buffer[] {
    if (this.pieces.length === 0) return [this.finish()];
    const tail = this.buf.subarray(0, this.offset);
    (this.pieces[0] as Buffer).writeUInt32BE(this.piecesBytes + tail.length - 4, 0);
    return [...this.pieces, tail];
  }

  private ensure(n: number): void {
    if (this.offset + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.offset + n));
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  }
}

/** Room for the bodies of a message plus its small fields. */
function bodiesSize(bodies: number, count: number): number {
  return bodies + 256 * count + 64;
}

/** Reads fields from one frame's payload, checking every length against the payload and a limit. */
class PayloadReader {
  private offset = 0;

  constructor(
    private readonly payload: Buffer,
    private readonly maxFieldBytes: number,
  ) {}

  byte(): number {
    this.need(1);
    return this.payload[this.offset++] as number;
  }

  int(): number {
    this.need(4);
    const v = this.payload.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  bytes(): Buffer {
    return this.bytesOfLength(this.int());
  }

  bytesOfLength(length: number): Buffer {
    if (length < 0) throw new ProtocolError(`Negative field length: ${length}`);
    if (length > this.maxFieldBytes) throw new ProtocolError(`Message size exceed limit: ${length}`);
    this.need(length);
    const b = this.payload.subarray(this.offset, this.offset + length);
    this.offset += length;
    return b;
  }

  str(): string {
    return this.bytes().toString('utf8');
  }

  bool(): boolean {
    return this.byte() !== 0;
  }

  /** Reads `name, value` pairs until the -1 terminator. */
  headerList(): Array<[string, string]> {
    const headers: Array<[string, string]> = [];
    for (let len = this.int(); len !== END; len = this.int()) {
      const name = this.bytesOfLength(len).toString('utf8');
      headers.push([name, this.str()]);
    }
    return headers;
  }

  end(): void {
    if (this.offset !== this.payload.length) {
      throw new ProtocolError(`${this.payload.length - this.offset} trailing bytes after message`);
    }
  }

  private need(n: number): void {
    if (this.offset + n > this.payload.length) throw new ProtocolError('Truncated message');
  }
}

export function encodeLoad(msg: LoadMessage): Buffer {
  return new FrameWriter()
    .byte(CMD_LOAD)
    .str(msg.modelName)
    .str(msg.modelPath)
    .int(msg.batchSize)
    .str(msg.handler)
    .int(msg.gpuId)
    .str(msg.envelope)
    .bool(msg.limitMaxImagePixels)
    .finish();
}

/**
 * Bodies from this size on are not copied into an inference frame: the frame is written as
 * pieces that include them. Each copy of a large body is a large allocation outside V8's heap,
 * and enough of those bring on a full garbage collection.
 */
const REFERENCED_BODY_BYTES = 64 * 1024;

/** A parameter's size, without joining its chunks. */
function valueBytes(p: RequestParameter): number {
  if (p.chunks === undefined) return p.value.length;
  let n = 0;
  for (const c of p.chunks) n += c.length;
  return n;
}

/** An inference frame as the buffers to write in order (one, unless bodies are referenced). */
export function encodeInference(requests: readonly InferenceRequest[]): Buffer[] {
  let copied = 0;
  for (const req of requests) {
    for (const p of req.parameters) {
      const n = valueBytes(p);
      if (n < REFERENCED_BODY_BYTES) copied += n;
    }
  }
  const w = new FrameWriter(bodiesSize(copied, requests.length)).byte(CMD_INFER);
  for (const req of requests) {
    w.str(req.requestId).headers(req.headers).int(END);
    for (const p of req.parameters) {
      w.str(p.name).str(p.contentType);
      const n = valueBytes(p);
      if (n < REFERENCED_BODY_BYTES) w.bytes(p.value);
      else w.reference(p.chunks ?? [p.value], n);
    }
    w.int(END);
  }
  return w.int(END).finishPieces();
}

export function encodeLoadReply(reply: LoadReply): Buffer {
  return new FrameWriter().int(reply.code).str(reply.message).int(END).finish();
}

export function encodeInferReply(reply: InferReply): Buffer {
  let size = 0;
  for (const r of reply.responses) size += r.body.length;
  const metrics = reply.metricLines?.join('\n') ?? '';
  const w = new FrameWriter(bodiesSize(size + metrics.length, reply.responses.length)).int(reply.code).str(reply.message);
  for (const r of reply.responses) {
    w.str(r.requestId).str(r.contentType).int(r.status).str(r.reason).int(r.headers.length).headers(r.headers);
    w.bytes(r.body);
  }
  // After the responses: the batch's metric lines, one string, empty when there are none.
  return w.int(END).str(metrics).finish();
}

export type ToWorkerMessage =
  | { readonly kind: 'load'; readonly message: LoadMessage }
  | { readonly kind: 'infer'; readonly requests: readonly InferenceRequest[] };

export function decodeToWorker(payload: Buffer, maxFieldBytes = Number.MAX_SAFE_INTEGER): ToWorkerMessage {
  const r = new PayloadReader(payload, maxFieldBytes);
  const command = r.byte();
  if (command === CMD_LOAD) {
    const message: LoadMessage = {
      modelName: r.str(),
      modelPath: r.str(),
      batchSize: r.int(),
      handler: r.str(),
      gpuId: r.int(),
      envelope: r.str(),
      limitMaxImagePixels: r.bool(),
    };
    r.end();
    return { kind: 'load', message };
  }
  if (command !== CMD_INFER) throw new ProtocolError(`Unknown command byte 0x${command.toString(16)}`);
  const requests: InferenceRequest[] = [];
  for (let len = r.int(); len !== END; len = r.int()) {
    const requestId = r.bytesOfLength(len).toString('utf8');
    const headers = r.headerList();
    const parameters: RequestParameter[] = [];
    for (let n = r.int(); n !== END; n = r.int()) {
      parameters.push({ name: r.bytesOfLength(n).toString('utf8'), contentType: r.str(), value: r.bytes() });
    }
    requests.push({ requestId, headers, parameters });
  }
  r.end();
  return { kind: 'infer', requests };
}

export function decodeLoadReply(payload: Buffer, maxFieldBytes: number): LoadReply {
  const r = new PayloadReader(payload, maxFieldBytes);
  const code = r.int();
  const message = r.str();
  if (r.int() !== END) throw new ProtocolError('Load reply carries predictions');
  r.end();
  return { code, message };
}

export function decodeInferReply(payload: Buffer, maxFieldBytes: number): InferReply {
  const r = new PayloadReader(payload, maxFieldBytes);
  const code = r.int();
  const message = r.str();
  const responses: ResponseEntry[] = [];
  for (let len = r.int(); len !== END; len = r.int()) {
    const requestId = r.bytesOfLength(len).toString('utf8');
    const contentType = r.str();
    const status = r.int();
    const reason = r.str();
    const count = r.int();
    if (count < 0) throw new ProtocolError(`Negative header count: ${count}`);
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < count; i++) headers.push([r.str(), r.str()]);
    responses.push({ requestId, contentType, status, reason, headers, body: r.bytes() });
  }
  const metrics = r.str();
  r.end();
  return metrics === '' ? { code, message, responses } : { code, message, responses, metricLines: metrics.split('\n') };
}
