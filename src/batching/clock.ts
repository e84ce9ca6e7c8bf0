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
