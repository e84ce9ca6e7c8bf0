// `context.metrics`: every update is printed at once as one `[METRICS]` stdout line that the
// front end parses, in the Python worker's format (workers/python/lantern_worker/metrics.py):
// [METRICS]<Name>.<Unit>:<value>|#<Dim>:<val>,...|#type:<TYPE>|#hostname:<host>,<epoch s>[,<request ids>]

export type MetricType = 'COUNTER' | 'GAUGE' | 'HISTOGRAM';

/** Dimensions as a map, or as ordered name/value pairs. */
export type Dimensions = Readonly<Record<string, string | number>> | ReadonlyArray<readonly [string, string | number]>;

const UNITS: Readonly<Record<string, string>> = {
  ms: 'Milliseconds',
  s: 'Seconds',
  us: 'Microseconds',
  percent: 'Percent',
  '%': 'Percent',
  count: 'Count',
  B: 'Bytes',
  kB: 'Kilobytes',
  KB: 'Kilobytes',
  MB: 'Megabytes',
  GB: 'Gigabytes',
  '': 'unit',
};
const TIME_UNITS = new Set(['ms', 's', 'us', 'Milliseconds', 'Seconds', 'Microseconds']);
const SIZE_UNITS = new Set(['MB', 'kB', 'KB', 'GB', 'B']);

export interface MetricsSink {
  readonly hostname: string;
  readonly nowMs: () => number;
  readonly writeLine: (line: string) => void;
}

export class WorkerMetrics {
  /** Request ids of the batch being served, by index; empty between batches. */
  requestIds: readonly string[] = [];

  constructor(
    private readonly modelName: string,
    private readonly sink: MetricsSink,
  ) {}

  /** Emits one value. `idx` picks the request whose id is attached; without it all ids are. */
  addMetric(name: string, value: number, unit: string, idx?: number, dimensions?: Dimensions, type: MetricType = 'COUNTER'): void {
    if (!Number.isFinite(value)) throw new TypeError(`Metric ${name} needs a finite number, got ${String(value)}`);
    const dims = this.dimensions(dimensions).map(([k, v]) => `${k}:${v}`).join(',');
    const epochS = Math.floor(this.sink.nowMs() / 1000);
    const ids = this.requestIdsFor(idx);
    const unitName = UNITS[unit] ?? unit;
    this.sink.writeLine(
      `[METRICS]${name}.${unitName}:${value}|#${dims}|#type:${type}|#hostname:${this.sink.hostname},${epochS}${ids ? `,${ids}` : ''}`,
    );
  }

  addCounter(name: string, value: number, idx?: number, dimensions?: Dimensions): void {
    this.addMetric(name, value, 'count', idx, dimensions, 'COUNTER');
  }

  addTime(name: string, value: number, idx?: number, unit = 'ms', dimensions?: Dimensions, type: MetricType = 'GAUGE'): void {
    if (!TIME_UNITS.has(unit)) throw new RangeError("the unit for a timed metric should be one of ['ms', 's', 'us']");
    this.addMetric(name, value, unit, idx, dimensions, type);
  }

  addSize(name: string, value: number, idx?: number, unit = 'MB', dimensions?: Dimensions, type: MetricType = 'GAUGE'): void {
    if (!SIZE_UNITS.has(unit)) throw new RangeError("The unit for size based metric is one of ['MB','kB', 'GB', 'B']");
    this.addMetric(name, value, unit, idx, dimensions, type);
  }

  addPercent(name: string, value: number, idx?: number, dimensions?: Dimensions, type: MetricType = 'GAUGE'): void {
    this.addMetric(name, value, 'percent', idx, dimensions, type);
  }

  addError(name: string, value: number, dimensions?: Dimensions): void {
    this.addMetric(name, value, '', undefined, dimensions, 'COUNTER');
  }

  private dimensions(given: Dimensions | undefined): Array<[string, string]> {
    const pairs: Array<[string, string]> = [];
    if (Array.isArray(given)) {
      for (const [k, v] of given as ReadonlyArray<readonly [string, string | number]>) pairs.push([k, String(v)]);
    } else if (given !== undefined) {
      for (const [k, v] of Object.entries(given as Record<string, string | number>)) pairs.push([k, String(v)]);
    }
    if (!pairs.some(([k]) => k === 'ModelName')) pairs.push(['ModelName', this.modelName]);
    if (!pairs.some(([k]) => k === 'Level')) pairs.push(['Level', 'Model']);
    return pairs;
  }

  private requestIdsFor(idx: number | undefined): string {
    if (idx !== undefined) {
      const id = this.requestIds[idx];
      if (id !== undefined) return id;
    }
    return this.requestIds.join(',');
  }
}
