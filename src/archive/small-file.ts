// Reading a small file whole, synchronously: a manifest, a model-config.yaml or a small archive is
// read in microseconds, while the thread pool's open/stat/read/close round trips cost far more.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/**
 * The bytes of `file`, or why not: it is not a regular file, or it is larger than `maxBytes`.
 * Opened non-blocking, so that a FIFO in place of a file cannot stall the event loop. Errors from
 * opening (ENOENT, EACCES) are thrown as they are.
 */
export function readSmallFile(file: string, maxBytes: number): Buffer | 'not-a-file' | 'too-large' {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return 'not-a-file';
    if (stats.size > maxBytes) return 'too-large';
    const bytes = Buffer.allocUnsafe(stats.size);
    let filled = 0;
    while (filled < bytes.length) {
      const n = readSync(fd, bytes, filled, bytes.length - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return bytes.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}
