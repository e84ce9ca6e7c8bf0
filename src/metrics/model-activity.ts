// What the console charts: per model version, answered requests, errors and latency quantiles in
// fixed windows over the last minutes. Bounded: a fixed number of windows per version, each holding
// only the latency buckets it saw (at most 111), and a version is forgotten when it is unregistered.

/** Latency bucket bounds in ms: 0.5 ms up to about 2 minutes, 12 % apart (p50/p99 within that). */
const FIRST_BOUND_MS = 0.5;
const GROWTH = 1.12;
const BOUNDS_MS: readonly number[] = Array.from({ length: 110 }, (_, i) => FIRST_BOUND_MS * GROWTH ** i);

/** The first bucket whose bound is at least `ms`, found by logarithm rather than by search. */
function bucketOf(ms: number): number {
  if (!(ms > FIRST_BOUND_MS)) return 0;
  let i = Math.ceil(Math.log(ms / FIRST_BOUND_MS) / Math.log(GROWTH));
  // Rounding in the logarithm can land one bucket off either way.
  while (i > 0 && (BOUNDS_MS[i - 1] as number) >= ms) i--;
  while (i < BOUNDS_MS.length && (BOUNDS_MS[i] as number) < ms) i++;
  return Math.min(i, BOUNDS_MS.length);
}

interface Window {
  startMs: number;
  requests: number;
  errors: number;
  /** Count per bucket index of BOUNDS_MS, only buckets seen; index BOUNDS_MS.length holds everything slower. */
  readonly counts: Map<number, number>;
}

export interface ActivityPoint {
  /** Start of the window, ms since the epoch. */
  readonly atMs: number;
  readonly requests: number;
  readonly errors: number;
  /** Null when the window answered nothing. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export interface ActivitySeries {
  readonly windowMs: number;
  /** Oldest first; windows without requests are included as zeros so that the time axis is even. */
  readonly points: readonly ActivityPoint[];
}

export class ModelActivity {
  private readonly byVersion = new Map<string, Window[]>();

  constructor(
    private readonly now: () => number,
    readonly windowMs = 2000,
    private readonly windowsKept = 150,
  ) {}

  /** One request's final answer: a result (`ok`) or an error, after `latencyMs`. */
  answered(model: string, version: string, latencyMs: number, ok: boolean): void {
    const key = keyOf(model, version);
    let windows = this.byVersion.get(key);
    if (windows === undefined) {
      windows = [];
      this.byVersion.set(key, windows);
    }
    const startMs = this.windowStart(this.now());
    let current = windows[windows.length - 1];
    if (current === undefined || current.startMs !== startMs) {
      current = { startMs, requests: 0, errors: 0, counts: new Map() };
      windows.push(current);
      if (windows.length > this.windowsKept) windows.shift();
    }
    current.requests++;
    if (!ok) current.errors++;
    const slot = bucketOf(latencyMs);
    current.counts.set(slot, (current.counts.get(slot) ?? 0) + 1);
  }

  /** The last `windowsKept` windows up to now (the current one, still filling, last). */
  series(model: string, version: string): ActivitySeries {
    const windows = this.byVersion.get(keyOf(model, version)) ?? [];
    const lastStart = this.windowStart(this.now());
    const firstStart = lastStart - (this.windowsKept - 1) * this.windowMs;
    const byStart = new Map(windows.map((w) => [w.startMs, w]));
    const points: ActivityPoint[] = [];
    for (let start = firstStart; start <= lastStart; start += this.windowMs) {
      const w = byStart.get(start);
      points.push(
        w === undefined
          ? { atMs: start, requests: 0, errors: 0, p50Ms: null, p99Ms: null }
          : { atMs: start, requests: w.requests, errors: w.errors, p50Ms: quantile(w, 0.5), p99Ms: quantile(w, 0.99) },
      );
    }
    return { windowMs: this.windowMs, points };
  }

  /** Forgets a version (it was unregistered). */
  forget(model: string, version: string): void {
    this.byVersion.delete(keyOf(model, version));
  }

  /** Forgets every version not in `registered`. */
  retainOnly(registered: ReadonlyArray<{ readonly name: string; readonly version: string }>): void {
    const keep = new Set(registered.map((r) => keyOf(r.name, r.version)));
    for (const key of [...this.byVersion.keys()]) if (!keep.has(key)) this.byVersion.delete(key);
  }

  private windowStart(ms: number): number {
    return Math.floor(ms / this.windowMs) * this.windowMs;
  }
}

const keyOf = (model: string, version: string): string => `${model}\u0000${version}`;

/** The upper bound of the bucket holding the q-quantile (the slowest bucket reports its lower bound). */
function quantile(w: Window, q: number): number | null {
  if (w.requests === 0) return null;
  const rank = Math.ceil(q * w.requests);
  let seen = 0;
  for (const [i, count] of [...w.counts].sort((a, b) => a[0] - b[0])) {
    seen += count;
    if (seen >= rank) return round(BOUNDS_MS[i] ?? (BOUNDS_MS[BOUNDS_MS.length - 1] as number));
  }
  return null;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;
