// An append-only log file rolled over by size: when a line would take the file past maxBytes it
// becomes `<name>.1` (older ones shift to `.2` … `.<backups>`, the oldest is dropped) and a fresh
// file is started. Lines are written synchronously, or, buffered, at the end of the current tick;
// either way nothing written before close() is lost.
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export interface RollingFileOptions {
  readonly maxBytes: number;
  /** Rolled files kept besides the current one. */
  readonly backups: number;
  /** Buffer lines and write them once per tick (async_logging) instead of one write per line. */
  readonly buffered: boolean;
  /** Told once when the file cannot be written. */
  readonly onError: (message: string) => void;
}

export class RollingFile {
  private fd: number | null;
  private sizeBytes: number;
  private pending: string[] = [];
  private flushScheduled = false;
  private failed = false;

  constructor(
    readonly filePath: string,
    private readonly options: RollingFileOptions,
  ) {
    mkdirSync(path.dirname(filePath), { recursive: true });
    this.fd = openSync(filePath, 'a');
    this.sizeBytes = fstatSync(this.fd).size;
  }

  /** Appends one line (the newline is added here). */
  write(line: string): void {
    if (this.fd === null) return;
    if (!this.options.buffered) {
      this.append(`${line}\n`);
      return;
    }
    this.pending.push(`${line}\n`);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.flushScheduled = false;
    const lines = this.pending;
    this.pending = [];
    // One write for the whole tick: the point of buffering.
    if (lines.length > 0) this.append(lines.join(''));
  }

  /** Writes what is buffered and closes the file. Idempotent. */
  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private append(text: string): void {
    if (this.fd === null) return;
    const bytes = Buffer.from(text, 'utf8');
    try {
      if (this.sizeBytes > 0 && this.sizeBytes + bytes.length > this.options.maxBytes) this.roll();
      writeSync(this.fd, bytes);
      this.sizeBytes += bytes.length;
    } catch (err) {
      if (!this.failed) this.options.onError(`Cannot write ${this.filePath}: ${err instanceof Error ? err.message : String(err)}`);
      this.failed = true;
    }
  }

  private roll(): void {
    closeSync(this.fd as number);
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
  }
}
