// Cuts a byte stream into frame payloads (uint32 big-endian length prefix), incrementally.
import { ProtocolError } from './codec.js';

export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Adds a chunk and returns every payload completed by it, in order. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Buffer[] = [];
    while (this.pendingBytes >= 4) {
      const head = this.peekHeader();
      if (head > this.maxFrameBytes) throw new ProtocolError(`Message size exceed limit: ${head}`);
      if (this.pendingBytes < 4 + head) break;
      const all = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
      frames.push(all.subarray(4, 4 + head));
      const rest = all.subarray(4 + head);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    return frames;
  }

  /** Bytes received that do not yet form a whole frame. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  private peekHeader(): number {
    const first = this.pending[0] as Buffer;
    if (first.length >= 4) return first.readUInt32BE(0);
    const joined = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [joined];
    return joined.readUInt32BE(0);
  }
}
