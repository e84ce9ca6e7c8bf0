// Prometheus text exposition format 0.0.4, written the way TorchServe's Java client (0.9.0) writes
// it: `# HELP` / `# TYPE` for every family (even one without samples), label sets closed with a
// trailing comma (`{a="x",}`), and values printed as Java prints doubles (`1.0`, `1.5E-4`).

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface Sample {
  readonly name: string;
  readonly labelNames: readonly string[];
  readonly labelValues: readonly string[];
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  samples(): Sample[];
}

/** Java's Double.toString, with Go's spellings of the infinities (Prometheus' doubleToGoString). */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    const text = String(value);
    return text.includes('.') ? text : `${text}.0`;
  }
  const [mantissa = '', exponent = ''] = value.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}

const escapeLabelValue = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function writeSample(sample: Sample, out: string[]): void {
  let line = sample.name;
  if (sample.labelNames.length > 0) {
    line += '{';
    sample.labelNames.forEach((label, i) => {
      line += `${label}="${escapeLabelValue(sample.labelValues[i] ?? '')}",`;
    });
    line += '}';
  }
  out.push(`${line} ${formatDouble(sample.value)}`);
}

/**
 * Renders families. With `names` empty every family is written, samples or not; otherwise only
 * samples whose own name (e.g. `x_bucket`) is listed, and families left without samples are
 * omitted — TorchServe's `name[]` filter.
 */
export function renderFamilies(families: Iterable<MetricFamily>, names: ReadonlySet<string>): string {
  const out: string[] = [];
  for (const family of families) {
    let samples = family.samples();
    if (names.size > 0) {
      samples = samples.filter((s) => names.has(s.name));
      if (samples.length === 0) continue;
    }
    out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of samples) writeSample(sample, out);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Throws when a name could not be scraped (the Java client refuses these at registration). */
export function checkNames(name: string, labelNames: readonly string[]): void {
  if (!METRIC_NAME.test(name)) throw new Error(`Invalid metric name: ${name}`);
  for (const label of labelNames) {
    if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new Error(`Invalid metric label name: ${label}`);
  }
}
