// Progress lines for long byte transfers (downloads, packing archives): quiet for small transfers,
// one line per 10% for large ones of known size, one line per `stepBytes` otherwise.
import { Transform, type TransformCallback } from 'node:stream';

export interface ProgressOptions {
  /** What is being transferred, e.g. `Downloading https://…/resnet.mar`. */
  readonly label: string;
  /** null when the size is not known in advance. */
  readonly totalBytes: number | null;
  /** Transfers smaller than this report nothing. */
  readonly minBytes: number;
  /** For transfers of unknown size: report every this many bytes (default 64 MiB). */
  readonly stepBytes?: number;
  readonly report: (line: string) => void;
}

export interface ProgressMeter {
  add(bytes: number): void;
  /** Reports completion (if anything was reported before). Idempotent. */
  finish(): void;
  readonly transferredBytes: number;
}

const DEFAULT_STEP_BYTES = 64 * 1024 * 1024;

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function progressMeter(options: ProgressOptions): ProgressMeter {
  const { totalBytes, minBytes, report, label } = options;
  const stepBytes = options.stepBytes ?? DEFAULT_STEP_BYTES;
  let transferred = 0;
  let lastStep = 0;
  let reported = false;
  let finished = false;
  const known = totalBytes !== null && totalBytes > 0;
  if (known && totalBytes >= minBytes) {
    report(`${label}: 0% of ${formatBytes(totalBytes)}`);
    reported = true;
  }
  return {
    get transferredBytes() {
      return transferred;
    },
    add(bytes: number): void {
      transferred += bytes;
      if (known) {
        if (totalBytes < minBytes) return;
        const step = Math.min(10, Math.floor((transferred / totalBytes) * 10));
        if (step > lastStep && step < 10) {
          lastStep = step;
          report(`${label}: ${step * 10}% (${formatBytes(transferred)} of ${formatBytes(totalBytes)})`);
        }
        return;
      }
      if (transferred < minBytes) return;
      const step = Math.floor(transferred / stepBytes);
      if (step > lastStep || !reported) {
        lastStep = step;
        reported = true;
        report(`${label}: ${formatBytes(transferred)} so far`);
      }
    },
    finish(): void {
      if (finished) return;
      finished = true;
      if (reported) report(`${label}: done, ${formatBytes(transferred)}`);
    },
  };
}

/** A pass-through stream that feeds `meter` with every chunk. */
export function meteredStream(meter: ProgressMeter): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      meter.add(chunk.length);
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      meter.finish();
      callback();
    },
  });
}
