// Memory given back after a burst of large request bodies (issue 21). Body buffers live outside
// V8's heap; a heap that stays small sees no reason to collect, so after a burst the process kept
// its peak (555–607 MB after 60 s idle, measured). Once the bodies in flight are all answered after
// a burst of at least `burstBytes`, one full collection runs when things have been quiet for
// `quietMs`: the buffers are freed and their memory goes back to the system.
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Clock, Timer } from './clock.js';

/** V8's collector, made callable without starting Node with --expose-gc. */
function fullCollection(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export class MemoryReclaimer {
  private timer: Timer | null = null;
  private collect: (() => void) | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly burstBytes: number,
    private readonly quietMs: number,
    private readonly log: (line: string) => void,
  ) {}

  /** The bodies in flight went back to none; `peakBytes` is the most they held since the last time. */
  drained(peakBytes: number): void {
    if (peakBytes < this.burstBytes) return;
    this.timer?.cancel();
    this.timer = this.clock.after(this.quietMs, () => {
      this.timer = null;
      this.collect ??= fullCollection();
      const before = process.memoryUsage().rss;
      this.collect();
      const mb = (bytes: number): number => Math.round(bytes / 1048576);
      this.log(`Request bodies of up to ${mb(peakBytes)} MB were in flight; memory collected (${mb(before)} → ${mb(process.memoryUsage().rss)} MB resident)`);
    });
  }

  /** A new burst began: the pending collection waits for it. */
  busy(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  close(): void {
    this.busy();
  }
}
