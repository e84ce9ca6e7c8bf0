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
const CMD_LOAD = 0x4c;
const CMD_INFER = 0x49;

/** Collects byte chunks and writes them out as one frame with its length prefix. */
class FrameWriter {
  private readonly parts: Buffer[] = [];
  private size = 0;

  byte(value: number): this {
    return this.push(Buffer.from([value]));
  }

  int(value: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(value, 0);
    return this.push(b);
  }

  bytes(value: Buffer): this {
    this.int(value.length);
    return this.push(value);
  }

  str(value: string): this {
    return this.bytes(Buffer.from(value, 'utf8'));
  }

  bool(value: boolean): this {
    return this.byte(value ? 1 : 0);
  }

  headers(headers: HeaderList): this {
    for (const [name, value] of headers) this.str(name).str(value);
    return this;
  }

  finish(): Buffer {
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeUInt32BE(this.size, 0);
    return Buffer.concat([prefix, ...this.parts], this.size + 4);
  }

  private push(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
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

export function encodeInference(requests: readonly InferenceRequest[]): Buffer {
  const w = new FrameWriter().byte(CMD_INFER);
  for (const req of requests) {
    w.str(req.requestId).headers(req.headers).int(END);
    for (const p of req.parameters) w.str(p.name).str(p.contentType).bytes(p.value);
    w.int(END);
  }
  return w.int(END).finish();
}

export function encodeLoadReply(reply: LoadReply): Buffer {
  return new FrameWriter().int(reply.code).str(reply.message).int(END).finish();
}

export function encodeInferReply(reply: InferReply): Buffer {
  const w = new FrameWriter().int(reply.code).str(reply.message);
  for (const r of reply.responses) {
    w.str(r.requestId).str(r.contentType).int(r.status).str(r.reason).int(r.headers.length).headers(r.headers);
    w.bytes(r.body);
  }
  return w.int(END).finish();
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
  r.end();
  return { code, message, responses };
}
