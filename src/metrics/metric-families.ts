// Labeled counters, gauges and histograms held in memory and read by the Prometheus writer.
// A child per distinct label-value tuple; the number of label values must match the names.
import { checkNames, formatDouble, type MetricFamily, type MetricType, type Sample } from './prometheus-text.js';

/** The Java client's default buckets, which TorchServe's histograms use. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

abstract class Labeled<Child> implements MetricFamily {
  private readonly children = new Map<string, { values: readonly string[]; child: Child }>();
  abstract readonly type: MetricType;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    checkNames(name, labelNames);
  }

  protected child(values: readonly string[]): Child {
    if (values.length !== this.labelNames.length) throw new Error(`Incorrect number of labels for ${this.name}`);
    const key = values.join('\u0000');
    let entry = this.children.get(key);
    if (entry === undefined) {
      entry = { values: [...values], child: this.newChild() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  protected entries(): Array<{ values: readonly string[]; child: Child }> {
    return [...this.children.values()];
  }

  protected abstract newChild(): Child;
  abstract samples(): Sample[];
}

export class CounterFamily extends Labeled<{ value: number }> {
  readonly type = 'counter';

  inc(values: readonly string[], by = 1): void {
    if (!(by >= 0)) throw new Error(`Counter ${this.name} cannot be decreased`);
    this.child(values).value += by;
  }

  protected newChild(): { value: number } {
    return { value: 0 };
  }

  samples(): Sample[] {
    return this.entries().map(({ values, child }) => ({ name: this.name, labelNames: this.labelNames, labelValues: values, value: child.value }));
  }
}

export class GaugeFamily extends Labeled<{ value: number }> {
  readonly type = 'gauge';

  set(values: readonly string[], value: number): void {
    this.child(values).value = value;
  }

  protected newChild(): { value: number } {
    return { value: 0 };
  }

  samples(): Sample[] {
    return this.entries().map(({ values, child }) => ({ name: this.name, labelNames: this.labelNames, labelValues: values, value: child.value }));
  }
}

interface HistogramChild {
  readonly counts: number[];
  sum: number;
  count: number;
}

export class HistogramFamily extends Labeled<HistogramChild> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[] = DEFAULT_BUCKETS) {
    super(name, help, labelNames);
    if (labelNames.includes('le')) throw new Error(`Histogram ${name} cannot have a label named le`);
    this.bounds = [...buckets].sort((a, b) => a - b);
  }

  observe(values: readonly string[], value: number): void {
    const child = this.child(values);
    // Buckets are stored non-cumulative; samples() adds them up.
    const found = this.bounds.findIndex((bound) => value <= bound);
    const slot = found < 0 ? this.bounds.length : found;
    child.counts[slot] = (child.counts[slot] ?? 0) + 1;
    child.sum += value;
    child.count += 1;
  }

  protected newChild(): HistogramChild {
    return { counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
  }

  samples(): Sample[] {
    const out: Sample[] = [];
    const labelNames = [...this.labelNames, 'le'];
    for (const { values, child } of this.entries()) {
      let cumulative = 0;
      [...this.bounds, Infinity].forEach((bound, i) => {
        cumulative += child.counts[i] ?? 0;
        out.push({ name: `${this.name}_bucket`, labelNames, labelValues: [...values, formatDouble(bound)], value: cumulative });
      });
      out.push({ name: `${this.name}_count`, labelNames: this.labelNames, labelValues: values, value: child.count });
      out.push({ name: `${this.name}_sum`, labelNames: this.labelNames, labelValues: values, value: child.sum });
    }
    return out;
  }
}

/** A gauge whose values are read when scraped (queue depth, worker counts). */
export class ObservedGaugeFamily implements MetricFamily {
  readonly type = 'gauge';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly read: () => Iterable<readonly [readonly string[], number]>,
  ) {
    checkNames(name, labelNames);
  }

  samples(): Sample[] {
    return [...this.read()].map(([values, value]) => ({ name: this.name, labelNames: this.labelNames, labelValues: values, value }));
  }
}
