// The one clock that queues, batchers and workers read, injectable so tests control time.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  after(ms: number, fn: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const handle = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(handle) };
  },
};

export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * `work`'s value, or TIMED_OUT when `ms` pass on `clock` first. The one timeout race in Lantern:
 * the timer is always cancelled, so nothing stays scheduled after the work is done.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, clock: Clock): Promise<T | typeof TIMED_OUT> {
  let timer: Timer | undefined;
  const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = clock.after(ms, () => resolve(TIMED_OUT));
  });
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    timer?.cancel();
  }
}

/** A clock whose time moves only when the test says so. */
export class ManualClock implements Clock {
  private time = 0;
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = [];

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): Timer {
    const t = { at: this.time + Math.max(0, ms), fn, live: true };
    this.timers.push(t);
    return { cancel: () => { t.live = false; } };
  }

  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.time = due.at;
      due.live = false;
      due.fn();
    }
    this.timers = this.timers.filter((t) => t.live);
    this.time = target;
  }
}
