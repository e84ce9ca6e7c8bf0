// An append-only log file rolled over by size: when a line would take the file past maxBytes it
// becomes `<name>.1` (older ones shift to `.2` … `.<backups>`, the oldest is dropped) and a fresh
// file is started. Lines are held until flush(), which writes them with one write call (more only
// when the file rolls over among them); nothing written before close() is lost.
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export interface RollingFileOptions {
  readonly maxBytes: number;
  /** Rolled files kept besides the current one. */
  readonly backups: number;
  /** Told once when the file cannot be written. */
  readonly onError: (message: string) => void;
}

export class RollingFile {
  private fd: number | null;
  private sizeBytes: number;
  private pending: string[] = [];
  private failed = false;

  constructor(
    readonly filePath: string,
    private readonly options: RollingFileOptions,
  ) {
    mkdirSync(path.dirname(filePath), { recursive: true });
    this.fd = openSync(filePath, 'a');
    this.sizeBytes = fstatSync(this.fd).size;
  }

  /** Holds one line (the newline is added here) until the next flush(); false when the file is closed or lost. */
  write(line: string): boolean {
    if (this.fd === null) return false;
    this.pending.push(line);
    return true;
  }

  /**
   * Writes the lines held so far. Returns their bytes when they went out in one piece (the file
   * did not roll over among them), so that a caller can pass the same bytes on.
   */
  flush(): Buffer | null {
    if (this.pending.length === 0 || this.fd === null) return null;
    const lines = this.pending;
    this.pending = [];
    const text = `${lines.join('\n')}\n`;
    const bytes = Buffer.from(text, 'utf8');
    if (this.sizeBytes + bytes.length <= this.options.maxBytes) {
      this.append(bytes);
      return bytes;
    }
    // The file rolls over somewhere among these lines: cut them where it does.
    let chunk: string[] = [];
    let chunkBytes = 0;
    for (const line of lines) {
      const lineBytes = Buffer.byteLength(line) + 1;
      if (this.sizeBytes + chunkBytes > 0 && this.sizeBytes + chunkBytes + lineBytes > this.options.maxBytes) {
        if (chunk.length > 0) this.append(Buffer.from(`${chunk.join('\n')}\n`, 'utf8'));
        chunk = [];
        chunkBytes = 0;
        this.roll();
      }
      chunk.push(line);
      chunkBytes += lineBytes;
    }
    if (chunk.length > 0) this.append(Buffer.from(`${chunk.join('\n')}\n`, 'utf8'));
    return null;
  }

  /** Writes what is held and closes the file. Idempotent. */
  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private append(bytes: Buffer): void {
    if (this.fd === null) return;
    try {
      writeSync(this.fd, bytes);
      this.sizeBytes += bytes.length;
    } catch (err) {
      if (!this.failed) this.options.onError(`Cannot write ${this.filePath}: ${err instanceof Error ? err.message : String(err)}`);
      this.failed = true;
    }
  }

  private roll(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
      this.fd = null;
      const { backups } = this.options;
      if (backups <= 0) {
        rmSync(this.filePath, { force: true });
      } else {
        rmSync(`${this.filePath}.${backups}`, { force: true });
        for (let i = backups - 1; i >= 1; i--) {
          try {
            renameSync(`${this.filePath}.${i}`, `${this.filePath}.${i + 1}`);
          } catch {
            // that generation does not exist yet
          }
        }
        renameSync(this.filePath, `${this.filePath}.1`);
      }
      this.fd = openSync(this.filePath, 'a');
      this.sizeBytes = 0;
    } catch (err) {
      if (!this.failed) this.options.onError(`Cannot roll ${this.filePath} over: ${err instanceof Error ? err.message : String(err)}`);
      this.failed = true;
    }
  }
}
